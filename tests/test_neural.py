"""Neural forecasters: which data trains them, refit on the whole history, predict's device and
chunks, the cap on validation windows."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import tsattn
from tsattn import neural
from tsattn.data import SeriesScaler, check_panel

FAST = {"horizon": 6, "lookback": 24, "max_epochs": 2, "batch_size": 32, "hidden_size": 8}


def frame(lengths: dict[str, int]) -> pd.DataFrame:
    """Hourly sine series of the given lengths, one level per series."""
    parts = []
    for k, (uid, n) in enumerate(lengths.items()):
        t = np.arange(n)
        parts.append(
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                    "y": 5 * k + np.sin(2 * np.pi * t / 12) + 0.1 * np.cos(t / 7),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def make(cls, **extra):
    params = {**FAST, **extra}
    if cls is neural.LinearForecaster:  # DLinear has no hidden size
        params.pop("hidden_size")
    return cls(**params)


def messages(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, UserWarning)]


# -- item 9: no series left out of training silently --------------------------------------------
def test_series_without_training_windows_are_warned_about_and_counted():
    # 'short' passes fit's length check (30) but its first 80% (28 rows) holds no window
    df = frame({"long": 200, "short": 35})
    with pytest.warns(UserWarning, match=r"1 of 2 series give no training window \('short'\)"):
        est = neural.LSTMForecaster(**FAST, refit_with_val=False).fit(df)
    counts = est.validation_report_.counts
    assert counts.loc["short", "train_windows"] == 0 and counts.loc["short", "val_windows"] == 2
    assert counts.loc["long", "train_windows"] == 160 - 30 + 1
    assert counts.loc["long", "val_windows"] == 40 - 6 + 1
    assert any("no training window ('short')" in n for n in est.validation_report_.notes)
    assert "no training window" in str(est.validation_report_)


def test_series_without_validation_windows_are_warned_about_and_named_a_few_at_most():
    # horizon 12: the last 20% (8 rows) of a 40-row series holds no validation window
    df = frame({"long": 200, **{f"s{k}": 40 for k in range(7)}})
    with pytest.warns(
        UserWarning,
        match=r"7 of 8 series give no validation window \('s0', 's1', 's2', 's3', 's4' and 2 "
        r"more\): their last val_size=0.2 is shorter than horizon = 12",
    ):
        est = make(neural.LinearForecaster, horizon=12, lookback=12).fit(df)
    counts = est.validation_report_.counts
    assert (counts.loc[[f"s{k}" for k in range(7)], "val_windows"] == 0).all()
    assert (counts["train_windows"] > 0).all()


def test_early_stopping_on_the_training_loss_is_warned_about_and_recorded():
    df = frame({"a": 60, "b": 60})
    with pytest.warns(UserWarning, match=r"early stopping \(patience=5\).*training loss"):
        est = neural.LSTMForecaster(**FAST, val_size=0.0).fit(df)
    assert est.training_history_.monitor == "train_loss"
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        est = neural.LSTMForecaster(**FAST, val_size=0.0, patience=None).fit(df)
    assert not [m for m in messages(record) if "early stopping" in m or "no validation" in m]
    est = neural.LSTMForecaster(**FAST).fit(frame({"a": 200}))
    assert est.training_history_.monitor == "val_loss"


def test_refit_with_val_trains_on_the_whole_history_for_the_best_epoch_count():
    df = frame({"long": 200, "short": 35})
    assert neural.LSTMForecaster().refit_with_val is True  # the default, by benchmark
    params = {**FAST, "max_epochs": 3, "refit_with_val": True}
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        est = neural.LSTMForecaster(**params).fit(df)
    assert not [m for m in messages(record) if "no training window" in m]  # 'short' trains now
    counts = est.validation_report_.counts
    assert counts.loc["long", "train_windows"] == 200 - 30 + 1
    assert counts.loc["short", "train_windows"] == 35 - 30 + 1
    refit = est.refit_history_
    assert len(refit.epochs) == est.training_history_.best_epoch + 1
    assert refit.monitor == "train_loss" and "max_epochs" in refit.stop_reason
    whole = SeriesScaler("standard", covariates=[]).fit(check_panel(df)).get_state()
    assert est.scaler_.get_state() == whole  # the scaler saw the validation rows too
    again = neural.LSTMForecaster(**params).fit(df).predict()
    pd.testing.assert_frame_equal(est.predict(), again)  # the same seed: the same network
    with pytest.warns(UserWarning, match="no training window"):
        plain = neural.LSTMForecaster(**{**params, "refit_with_val": False}).fit(df).predict()
    assert not np.allclose(plain["y_pred"], again["y_pred"])


@pytest.mark.parametrize(
    ("cls", "epochs"), [(neural.AttentionLSTMForecaster, 20), (neural.LinearForecaster, 50)]
)
def test_max_epochs_none_is_the_networks_own_budget(cls, epochs):
    assert cls().max_epochs is None and cls.default_max_epochs == epochs
    params = {**FAST, "max_epochs": None, "patience": None, "refit_with_val": False}
    params.pop("hidden_size")
    est = cls(**params).fit(frame({"a": 60}))
    assert len(est.training_history_.epochs) == epochs
    assert est.training_history_.stop_reason == f"max_epochs={epochs} reached"
    with pytest.raises(ValueError, match="max_epochs"):
        cls(max_epochs=0).fit(frame({"a": 60}))


def test_ema_epochs_average_the_weights_and_are_checked():
    df = frame({"a": 200, "b": 150})
    params = {**FAST, "max_epochs": 3}
    assert neural.LSTMForecaster().ema_epochs == "auto"
    assert neural.LSTMForecaster.default_ema_epochs == 1.0
    assert neural.LinearForecaster.default_ema_epochs is None  # chosen on validation
    raw = neural.LSTMForecaster(**params, ema_epochs=None).fit(df).predict()
    averaged = neural.LSTMForecaster(**params).fit(df)  # 'auto': one epoch
    assert not np.allclose(raw["y_pred"], averaged.predict()["y_pred"])
    again = neural.LSTMForecaster(**params, ema_epochs=1.0).fit(df).predict()
    pd.testing.assert_frame_equal(averaged.predict(), again)  # seeded: the same average
    with pytest.raises(ValueError, match=r"ema_epochs=0 is invalid; expected a number > 0"):
        neural.LSTMForecaster(**FAST, ema_epochs=0).fit(df)


def test_refit_with_val_is_checked():
    with pytest.raises(ValueError, match=r"refit_with_val='yes' is invalid"):
        neural.LSTMForecaster(**FAST, refit_with_val="yes").fit(frame({"a": 100}))


# -- item 13: predict on the fitted device, in chunks of predict_batch_size ---------------------
@pytest.mark.parametrize(
    "cls", [neural.LSTMForecaster, neural.LinearForecaster, neural.AttentionLSTMForecaster]
)
def test_predict_batch_size_does_not_change_forecasts(cls):
    df = frame({"a": 150, "b": 120})
    est = make(cls).fit(df)
    origins = np.tile(np.arange(40, 110, 3), (2, 1))  # 24 backtest windows per series
    out = {}
    for size in (1, 7, 1024):
        est.set_params(predict_batch_size=size)
        out[size] = (est.predict_panel(est.history_, origins=origins), est.predict()["y_pred"])
    # equal up to float32 round-off: matrix kernels may sum in another order per batch size, and
    # cuDNN picks its LSTM algorithm by batch size (up to 2.5e-5 apart on an H200)
    tol = 1e-4 if est.device_.type == "cuda" else 1e-5
    for size in (1, 7):
        np.testing.assert_allclose(out[size][0], out[1024][0], rtol=tol, atol=tol)
        np.testing.assert_allclose(out[size][1], out[1024][1], rtol=tol, atol=tol)
    if cls is neural.AttentionLSTMForecaster:
        est.set_params(predict_batch_size=1)
        one = est.predict_attention()
        est.set_params(predict_batch_size=1024)
        np.testing.assert_allclose(one, est.predict_attention(), rtol=tol, atol=tol / 10)


def test_invalid_predict_batch_size_is_a_clear_error():
    df = frame({"a": 100})
    for bad in (0, -3, 2.5, True, None):
        with pytest.raises(ValueError, match=r"predict_batch_size=.* is invalid; expected an int"):
            neural.LSTMForecaster(**FAST, predict_batch_size=bad).fit(df)
    est = neural.LSTMForecaster(**FAST).fit(df)
    est.set_params(predict_batch_size=0)
    with pytest.raises(ValueError, match=r"predict_batch_size=0 is invalid; expected an integer"):
        est.predict()


def test_predict_runs_on_the_fitted_device_and_again_after_load(tmp_path):
    df = frame({"a": 100, "b": 100})
    est = neural.LSTMForecaster(**FAST, device="cpu").fit(df)
    assert est.device_ == torch.device("cpu")
    assert next(est.model_.parameters()).device == est.device_
    expected = est.predict()
    loaded = tsattn.load(est.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(loaded.predict(), expected)
    assert loaded.device_ == torch.device("cpu")  # resolved again from device


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_predict_stays_on_cuda_after_fitting_there(tmp_path):
    df = frame({"a": 100, "b": 100})
    est = neural.LSTMForecaster(**FAST, device="cuda").fit(df)
    forecast = est.predict()
    assert est.device_.type == "cuda" and next(est.model_.parameters()).is_cuda
    loaded = tsattn.load(est.save(tmp_path / "m"))
    np.testing.assert_allclose(loaded.predict()["y_pred"], forecast["y_pred"], rtol=1e-4)
    assert next(loaded.model_.parameters()).is_cuda


# -- item 16: validation costs at most max_val_windows windows per epoch ------------------------
def test_validation_windows_are_capped_per_epoch():
    df = frame({"a": 1000, "b": 500})
    est = neural.LinearForecaster(horizon=6, lookback=24, max_epochs=1, max_val_windows=50)
    est.fit(df)
    assert est.training_history_.val_windows == 50
    assert est.validation_report_.counts["val_windows"].sum() == (200 - 5) + (100 - 5)
    est.set_params(max_val_windows=None).fit(df)
    assert est.training_history_.val_windows == 195 + 95
    assert neural.LinearForecaster().max_val_windows == 10_000  # bounded by default
    with pytest.raises(ValueError, match=r"max_val_windows=0 is invalid; expected an integer"):
        est.set_params(max_val_windows=0).fit(df)


def test_callbacks_see_every_epoch_of_the_early_stopped_training_and_can_stop_it():
    seen = []
    est = make(neural.LinearForecaster, max_epochs=3, patience=None, refit_with_val=True)
    est.set_params(callbacks=[lambda epoch, metrics: seen.append((epoch, sorted(metrics)))])
    est.fit(frame({"a": 200, "b": 200}))
    assert [e for e, _ in seen] == [0, 1, 2]  # the refit does not call them again
    assert all({"train_loss", "val_loss"} <= set(names) for _, names in seen)

    class Stop(Exception):
        pass

    def stop(epoch, metrics):
        raise Stop(f"stopped after epoch {epoch}")

    with pytest.raises(Stop, match="stopped after epoch 0"):
        make(neural.LinearForecaster, callbacks=[stop]).fit(frame({"a": 200}))
    with pytest.raises(TypeError, match="callbacks must be a list of callables"):
        make(neural.LinearForecaster, callbacks=[1]).fit(frame({"a": 200}))
