"""The estimator facade: scikit-learn contract, frames in and out, errors, persistence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks as checks

from tsattn import neural, statistical

FAST = {"max_epochs": 2, "batch_size": 64, "hidden_size": 16}
NEURAL = [
    neural.LSTMForecaster,
    neural.AttentionLSTMForecaster,
    neural.TransformerForecaster,
    neural.LinearForecaster,
]
STATISTICAL = [
    statistical.NaiveForecaster,
    statistical.SeasonalNaiveForecaster,
    statistical.DriftForecaster,
    statistical.MeanForecaster,
    statistical.ETSForecaster,
    statistical.ARIMAForecaster,
    statistical.ThetaForecaster,
]
ALL = NEURAL + STATISTICAL


def make(cls, **extra):
    if cls in NEURAL:
        params = {"horizon": 6, "lookback": 24, **FAST, **extra}
        if cls is neural.LinearForecaster:
            params.pop("hidden_size")
        return cls(**params)
    params = {"horizon": 6, **extra}
    if "season_length" in cls().get_params():
        params.setdefault("season_length", 12)
    return cls(**params)


def panel_frame(n: int = 150, ids=("a", "b")) -> pd.DataFrame:
    t = np.arange(n)
    parts = [
        pd.DataFrame(
            {
                "unique_id": uid,
                "ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                "y": 10 * (k + 1) + np.sin(2 * np.pi * t / 12) + 0.1 * np.cos(t / 7),
                "temp": np.cos(2 * np.pi * t / 24),
            }
        )
        for k, uid in enumerate(ids)
    ]
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_sklearn_contract(cls):
    est = cls()
    name = cls.__name__
    checks.check_no_attributes_set_in_init(name, est)
    checks.check_parameters_default_constructible(name, est)
    checks.check_get_params_invariance(name, est)
    checks.check_set_params(name, est)
    checks.check_estimator_cloneable(name, est)
    checks.check_estimator_repr(name, est)
    params = est.get_params()
    assert clone(est).get_params() == params
    est.set_params(horizon=3)
    assert est.get_params()["horizon"] == 3
    with pytest.raises(NotFittedError, match="call fit"):
        est.predict()


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_fit_predict_frame_and_timestamps(cls):
    df = panel_frame()
    est = make(cls).fit(df)
    fc = est.predict()
    assert list(fc.columns) == ["unique_id", "ds", "y_pred"]
    assert fc.groupby("unique_id").size().tolist() == [6, 6]
    assert fc["ds"].iloc[0] == df["ds"].iloc[149] + pd.Timedelta("1h")
    assert np.isfinite(fc["y_pred"]).all()
    t = np.arange(150, 156)
    for k, uid in enumerate(["a", "b"]):
        got = fc.loc[fc.unique_id == uid, "y_pred"].to_numpy()
        y = df.loc[df.unique_id == uid, "y"].to_numpy()
        future = 10 * (k + 1) + np.sin(2 * np.pi * t / 12) + 0.1 * np.cos(t / 7)  # the truth
        if cls is statistical.NaiveForecaster:
            np.testing.assert_allclose(got, y[-1], rtol=1e-6)
        elif cls is statistical.MeanForecaster:
            np.testing.assert_allclose(got, y.mean(), rtol=1e-6)
        elif cls is statistical.DriftForecaster:
            np.testing.assert_allclose(
                got, y[-1] + (y[-1] - y[0]) / 149 * np.arange(1, 7), rtol=1e-6
            )
        elif cls in STATISTICAL:  # seasonal at 12: the sine exactly, the slow cos term nearly
            np.testing.assert_allclose(got, future, atol=0.2)
        else:  # 2 epochs: near the series' own level; the other series' level is 10 off
            assert np.abs(got - future).mean() < 2.5
    assert clone(est).get_params() == est.get_params()
    assert not hasattr(clone(est), "history_")


@pytest.mark.parametrize(
    "cls", [neural.LSTMForecaster, statistical.NaiveForecaster], ids=lambda c: c.__name__
)
def test_pandas_and_polars_inputs_give_identical_forecasts(cls):
    df = panel_frame()
    a = make(cls).fit(df).predict()
    b = make(cls).fit(pl.from_pandas(df)).predict()
    assert isinstance(b, pl.DataFrame)
    np.testing.assert_array_equal(a["y_pred"].to_numpy(), b["y_pred"].to_numpy())
    assert (a["ds"].to_numpy() == b.to_pandas()["ds"].to_numpy()).all()


def test_quantiles_covariates_and_unseen_series():
    df = panel_frame()
    est = make(neural.AttentionLSTMForecaster, quantiles=[0.1, 0.9]).fit(
        df, past_covariates=["temp"]
    )
    fc = est.predict(quantiles=[0.1, 0.9])
    assert list(fc.columns) == ["unique_id", "ds", "y_pred", "y_pred_q0.1", "y_pred_q0.9"]
    assert (fc["y_pred_q0.1"] <= fc["y_pred"]).all() and (fc["y_pred"] <= fc["y_pred_q0.9"]).all()
    new = panel_frame(60, ids=("c",)).assign(y=lambda d: d.y + 100)
    fc_new = est.predict(new)
    assert fc_new["unique_id"].unique().tolist() == ["c"]
    t = np.arange(60, 66)
    future = 110 + np.sin(2 * np.pi * t / 12) + 0.1 * np.cos(t / 7)
    assert np.abs(fc_new["y_pred"] - future).mean() < 2.5  # scaled by its own history (~110)
    attention = est.predict_attention()
    assert attention.shape[:2] == (2, 6)
    np.testing.assert_allclose(attention.sum(-1), 1.0, atol=1e-5)


def test_known_future_covariates_are_required_at_predict():
    df = panel_frame()
    est = make(neural.LSTMForecaster).fit(
        df.groupby("unique_id").head(144), future_covariates=["temp"]
    )
    with pytest.raises(
        ValueError, match=r"pass X_future with columns \['unique_id', 'ds', 'temp'\]"
    ):
        est.predict()
    future = pd.DataFrame(
        {
            "unique_id": np.repeat(["a", "b"], 6),
            "ds": np.tile(pd.date_range("2024-01-07 00:00", periods=6, freq="h"), 2),
            "temp": 0.5,
        }
    )
    assert len(est.predict(X_future=future)) == 12
    with pytest.raises(ValueError, match="X_future misses 1 of the 12"):
        est.predict(X_future=future.iloc[:-1])


def _short():
    return panel_frame(20)


BAD = {
    "horizon zero": (
        lambda: make(neural.LSTMForecaster, horizon=0),
        panel_frame,
        {},
        ValueError,
        r"horizon=0 is invalid; expected an integer >= 1",
    ),
    "horizon float": (
        lambda: make(statistical.NaiveForecaster, horizon=2.5),
        panel_frame,
        {},
        ValueError,
        "horizon=2.5",
    ),
    "lookback negative": (
        lambda: make(neural.LSTMForecaster, lookback=-3),
        panel_frame,
        {},
        ValueError,
        "lookback=-3",
    ),
    "learning rate": (
        lambda: make(neural.LSTMForecaster, learning_rate=0),
        panel_frame,
        {},
        ValueError,
        r"learning_rate=0 is invalid; expected a number > 0",
    ),
    "dropout": (
        lambda: make(neural.LSTMForecaster, dropout=1.5),
        panel_frame,
        {},
        ValueError,
        "dropout=1.5",
    ),
    "loss": (
        lambda: make(neural.LSTMForecaster, loss="rmse"),
        panel_frame,
        {},
        ValueError,
        "loss='rmse' is invalid",
    ),
    "quantiles": (
        lambda: make(neural.LSTMForecaster, quantiles=[0.5, 1.2]),
        panel_frame,
        {},
        ValueError,
        "strictly between 0 and 1",
    ),
    "scaler": (
        lambda: make(neural.LSTMForecaster, scaler="zscore"),
        panel_frame,
        {},
        ValueError,
        "scaler='zscore'",
    ),
    "model option": (
        lambda: make(neural.AttentionLSTMForecaster, model_options={"atention": "dot"}),
        panel_frame,
        {},
        ValueError,
        r"model_options \['atention'\]",
    ),
    "season length": (
        lambda: statistical.SeasonalNaiveForecaster(6, season_length=0),
        panel_frame,
        {},
        ValueError,
        "season_length=0",
    ),
    "arima order": (
        lambda: statistical.ARIMAForecaster(6, order=(1, 1)),
        panel_frame,
        {},
        ValueError,
        "three non-negative integers",
    ),
    "missing column": (
        lambda: make(neural.LSTMForecaster),
        lambda: panel_frame().drop(columns="y"),
        {},
        ValueError,
        r"missing required column\(s\) \['y'\]",
    ),
    "NaN target": (
        lambda: make(neural.LSTMForecaster),
        lambda: panel_frame().assign(y=lambda d: d.y.where(d.index != 40)),
        {},
        ValueError,
        "series 'a' at 2024-01-02 16:00",
    ),
    "duplicates": (
        lambda: make(statistical.NaiveForecaster),
        lambda: pd.concat([panel_frame(), panel_frame().iloc[[3]]]),
        {},
        ValueError,
        "duplicate",
    ),
    "too short": (
        lambda: make(neural.LSTMForecaster),
        _short,
        {},
        ValueError,
        "series 'a' has 20 timesteps, 10 too few",
    ),
    "string target": (
        lambda: make(statistical.NaiveForecaster),
        lambda: panel_frame().astype({"y": str}).assign(y=lambda d: d.y.where(d.index != 2, "x")),
        {},
        TypeError,
        "non-numeric value 'x'",
    ),
    "empty frame": (
        lambda: make(statistical.NaiveForecaster),
        lambda: panel_frame().iloc[:0],
        {},
        ValueError,
        "frame is empty",
    ),
    "not a frame": (
        lambda: make(statistical.NaiveForecaster),
        lambda: [1, 2, 3],
        {},
        TypeError,
        "pandas or polars DataFrame",
    ),
    "unknown covariate": (
        lambda: make(neural.LSTMForecaster),
        panel_frame,
        {"past_covariates": ["rain"]},
        ValueError,
        r"\['rain'\] are missing from the training frame",
    ),
    "covariate in two roles": (
        lambda: make(neural.LSTMForecaster),
        panel_frame,
        {"past_covariates": ["temp"], "future_covariates": ["temp"]},
        ValueError,
        "more than one covariate role",
    ),
    "string covariate": (
        lambda: make(neural.LSTMForecaster),
        lambda: panel_frame().assign(temp="warm"),
        {"past_covariates": ["temp"]},
        TypeError,
        "covariate column 'temp' must be numeric",
    ),
    "non-constant static": (
        lambda: make(neural.LSTMForecaster),
        panel_frame,
        {"static_covariates": ["temp"]},
        ValueError,
        "must be constant within a series",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_input_through_the_public_api(case):
    build, data, fit_kwargs, error, message = BAD[case]
    with pytest.raises(error, match=message):
        build().fit(data(), **fit_kwargs)


def test_bad_input_at_predict_time():
    est = make(neural.LinearForecaster).fit(panel_frame())
    with pytest.raises(ValueError, match=r"quantiles \[0.9\] were not trained"):
        est.predict(quantiles=[0.9])
    daily = panel_frame().assign(
        ds=lambda d: (
            d.groupby("unique_id")
            .cumcount()
            .map(lambda i: pd.Timestamp("2024-01-01") + pd.Timedelta(days=i))
        )
    )
    with pytest.raises(ValueError, match="frequency 'D' but the model was fitted at 'h'"):
        est.predict(daily)
    with pytest.raises(ValueError, match="series 'a' has 10 timesteps, 14 too few"):
        est.predict(panel_frame(10))
    integer_time = panel_frame().assign(ds=lambda d: d.groupby("unique_id").cumcount())
    with pytest.raises(TypeError, match="held datetimes in fit"):
        est.predict(integer_time)
    with pytest.raises(ValueError, match="has no attention weights"):
        est.predict_attention()


def test_fit_leaves_the_callers_torch_random_state_alone():
    import torch

    df = pd.DataFrame(
        {"ds": pd.date_range("2024-01-01", periods=80, freq="h"), "y": np.sin(np.arange(80) / 3)}
    )
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    first = neural.LinearForecaster(horizon=4, lookback=12, max_epochs=1, random_state=0).fit(df)
    assert torch.equal(torch.rand(4), expected)  # fit used its own seed, not the caller's stream
    again = neural.LinearForecaster(horizon=4, lookback=12, max_epochs=1, random_state=0).fit(df)
    assert first.predict().equals(again.predict())  # and its own seed still makes it repeatable
