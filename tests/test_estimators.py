"""The one registry of estimators and the panel-level contract every estimator keeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tsattn
from tsattn.estimators import ESTIMATORS, get_estimator


def frame(n: int = 120) -> pd.DataFrame:
    t = pd.date_range("2024-01-01", periods=n, freq="h")
    parts = [
        pd.DataFrame({"unique_id": uid, "ds": t, "y": 10 * k + np.sin(np.arange(n) / 4)})
        for k, uid in enumerate(["a", "b"])
    ]
    return pd.concat(parts, ignore_index=True)


def small(name: str):
    params = {"horizon": 6, "lookback": 24}
    if name in ("lstm", "attention_lstm", "transformer", "linear"):
        params |= {"max_epochs": 1, "batch_size": 32}
    if name in ("seasonal_naive", "ets", "arima", "theta"):
        params |= {"season_length": 12}
    return ESTIMATORS[name](**params)


def test_public_names_and_the_cli_use_the_registry():
    classes = {cls.__name__ for cls in ESTIMATORS.values()}
    exported = {n for n in tsattn.__all__ if n.endswith("Forecaster")}
    assert exported == classes
    assert all(getattr(tsattn, n) is get_estimator(n) for n in classes)
    from tsattn.cli import _parser

    fit = _parser()._subparsers._group_actions[0].choices["fit"]
    model = next(a for a in fit._actions if a.dest == "model")
    assert sorted(model.choices) == sorted(ESTIMATORS)


def test_get_estimator_names_the_choices():
    assert get_estimator("lstm") is tsattn.LSTMForecaster
    with pytest.raises(ValueError, match=r"Unknown estimator 'lstn'; expected one of \["):
        get_estimator("lstn")


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_panel_contract_matches_the_frame_edge(name):
    df = frame()
    est = small(name).fit(df)
    panel = est.check_frame(df)
    at_end = est.predict_panel(panel)
    assert at_end.shape == (2, 1, 6, 1)
    np.testing.assert_allclose(at_end[:, 0, :, 0].ravel(), est.predict()["y_pred"].to_numpy())
    origins = np.array([[80, 90], [80, 90]])
    windows = est.predict_panel(panel, origins=origins)
    assert windows.shape == (2, 2, 6, 1) and np.isfinite(windows).all()
    refit = small(name).fit_panel(panel.cut(origins[:, 0]))
    assert refit.min_history >= 1 and refit.history_.lengths.tolist() == [80, 80]


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_bounds_clip_forecasts_quantiles_and_backtests_and_survive_save(name, tmp_path):
    df = frame()
    df["y"] = df["y"] - 9.5  # series 'a' around -9.5, 'b' around 0.5: some forecasts below 0
    params = small(name).get_params() | {"bounds": (0, None)}
    est = ESTIMATORS[name](**params).fit(df)
    est.calibrate(df, n_windows=3)
    forecast = est.predict(quantiles=[0.1, 0.9])
    values = forecast[["y_pred", "y_pred_q0.1", "y_pred_q0.9"]].to_numpy()
    assert (values >= 0).all() and (values == 0).any()  # clipped, not shifted
    free = ESTIMATORS[name](**small(name).get_params()).fit(df).predict()
    inside = free["y_pred"] >= 0
    np.testing.assert_array_equal(forecast["y_pred"][inside], free["y_pred"][inside])
    result = tsattn.backtest(ESTIMATORS[name](**params), df, n_windows=2)
    assert (result.forecasts["y_pred"] >= 0).all()
    est.save(tmp_path / "m")
    pd.testing.assert_frame_equal(tsattn.load(tmp_path / "m").predict(), est.predict())


@pytest.mark.parametrize("bounds", [(1, 0), (0,), "0,1", (None, float("nan"))])
def test_bad_bounds_are_errors(bounds):
    with pytest.raises(ValueError, match="bounds="):
        tsattn.NaiveForecaster(horizon=2, bounds=bounds).fit(frame())


def test_predict_h_returns_the_first_steps_and_trained_quantiles_by_default():
    df = frame()
    est = tsattn.LinearForecaster(
        horizon=6, lookback=24, max_epochs=1, quantiles=[0.1, 0.9], random_state=0
    ).fit(df)
    full = est.predict()
    assert list(full.columns) == ["unique_id", "ds", "y_pred", "y_pred_q0.1", "y_pred_q0.9"]
    first = est.predict(h=2)
    assert len(first) == 2 * 2
    expected = full.groupby("unique_id").head(2).reset_index(drop=True)
    pd.testing.assert_frame_equal(first, expected)
    assert list(est.predict(quantiles=[0.9]).columns)[-1] == "y_pred_q0.9"
    with pytest.raises(ValueError, match="h=7"):
        est.predict(h=7)
    naive = tsattn.NaiveForecaster(horizon=6).fit(df)
    assert list(naive.predict(h=1).columns) == ["unique_id", "ds", "y_pred"]


def test_a_polars_date_column_comes_back_as_date(tmp_path):
    import polars as pl

    days = pl.date_range(pl.date(2024, 1, 1), pl.date(2024, 3, 31), "1d", eager=True)
    df = pl.DataFrame({"unique_id": "a", "ds": days, "y": np.sin(np.arange(len(days)) / 3)})
    est = tsattn.SeasonalNaiveForecaster(horizon=3).fit(df)
    for forecast in (est.predict(), est.predict(df)):
        assert forecast.schema["ds"] == pl.Date
        assert [str(d) for d in forecast["ds"]] == ["2024-04-01", "2024-04-02", "2024-04-03"]
    est.save(tmp_path / "m")
    assert tsattn.load(tmp_path / "m").predict().schema["ds"] == pl.Date
    assert est.predict(df.to_pandas())["ds"].dtype.kind == "M"  # pandas in: datetime64 out
