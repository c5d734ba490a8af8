"""Rolling-origin backtests, split-conformal intervals and probabilistic metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tsattn
from tsattn.evaluation import backtest
from tsattn.metrics import coverage, crps, mape, pinball


def frame(n: int = 240, ids=("a", "b"), noise: float = 0.3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                    "y": 5 * (k + 1) + np.sin(2 * np.pi * t / 12) + noise * rng.standard_normal(n),
                }
            )
            for k, uid in enumerate(ids)
        ],
        ignore_index=True,
    )


def test_backtest_matches_a_manual_loop_for_seasonal_naive():
    df = frame(noise=0.0)
    result = backtest(tsattn.SeasonalNaiveForecaster(6, season_length=12), df, n_windows=4, step=3)
    assert len(result.forecasts) == 2 * 4 * 6
    assert result.metrics.shape[0] == 8
    for w in range(4):
        end = 240 - 6 - 3 * (3 - w)
        manual = (
            tsattn.SeasonalNaiveForecaster(6, season_length=12)
            .fit(df.groupby("unique_id").head(end))
            .predict()
        )
        got = result.forecasts[result.forecasts.window == w]
        np.testing.assert_allclose(got["y_pred"].to_numpy(), manual["y_pred"].to_numpy())
        assert (got["ds"].to_numpy() == manual["ds"].to_numpy()).all()
    assert result.summary()["mase"] == pytest.approx(0.0, abs=1e-6)  # a pure 12-step season


def test_neural_backtest_batched_equals_predict_per_window():
    df = frame()
    est = tsattn.LinearForecaster(6, 24, max_epochs=2, batch_size=64)
    result = backtest(est, df, n_windows=3, step=6, refit=False)
    fitted = est.fit(df.groupby("unique_id").head(240 - 6 - 12))
    for w in range(3):
        end = 240 - 6 - 6 * (2 - w)
        manual = fitted.predict(df.groupby("unique_id").head(end))
        got = result.forecasts[result.forecasts.window == w]
        np.testing.assert_allclose(got["y_pred"].to_numpy(), manual["y_pred"].to_numpy(), rtol=1e-5)


def test_refit_every_window_and_errors():
    df = frame()
    once = backtest(tsattn.DriftForecaster(6), df, n_windows=3, refit=False)
    each = backtest(tsattn.DriftForecaster(6), df, n_windows=3, refit=1)
    np.testing.assert_allclose(once.forecasts.y_pred, each.forecasts.y_pred)  # a local model: same
    with pytest.raises(ValueError, match="refit=-1 is invalid"):
        backtest(tsattn.NaiveForecaster(6), df, refit=-1)
    with pytest.raises(ValueError, match="too few for 100 windows"):
        backtest(tsattn.NaiveForecaster(6), df, n_windows=100)


def test_conformal_intervals_cover_held_out_data():
    df = frame(600, noise=0.5)
    train = df.groupby("unique_id").head(300)
    calib = df.groupby("unique_id").head(450)
    est = tsattn.SeasonalNaiveForecaster(12, season_length=12).fit(train)
    with pytest.raises(ValueError, match="call calibrate"):
        est.predict(quantiles=[0.1, 0.9])
    est.calibrate(calib, n_windows=12, step=12)
    fc = est.predict(quantiles=[0.05, 0.95])
    assert (fc["y_pred_q0.05"] < fc["y_pred"]).all() and (fc["y_pred"] < fc["y_pred_q0.95"]).all()
    with pytest.raises(ValueError, match="call calibrate"):  # a refit clone is not calibrated
        backtest(est, df, n_windows=12, step=12, quantiles=[0.05, 0.95])
    result = backtest(
        est, df, n_windows=10, step=12, quantiles=[0.05, 0.95], calibration_windows=15
    )
    covered = result.summary()["coverage"]
    assert 0.8 <= covered <= 1.0  # nominal 90%, 240 held-out points per series


def test_backtest_reports_coverage_of_trained_quantiles():
    df = frame(400)
    est = tsattn.LSTMForecaster(
        6, 24, max_epochs=3, hidden_size=16, quantiles=[0.1, 0.9], batch_size=64
    )
    result = backtest(est, df, n_windows=5, quantiles=[0.1, 0.9])
    assert {"y_pred_q0.1", "y_pred_q0.9"} <= set(result.forecasts.columns)
    f = result.forecasts
    inside = (f["y"] >= f["y_pred_q0.1"]) & (f["y"] <= f["y_pred_q0.9"])
    by_window = inside.groupby([f["unique_id"], f["window"]]).mean().to_numpy()
    np.testing.assert_allclose(result.metrics["coverage"].to_numpy(), by_window)
    assert 0 < result.summary()["coverage"] < 1


def test_probabilistic_metrics_by_hand():
    y = np.array([0.0, 1.0])
    q = np.array([[0.0, 1.0], [0.0, 1.0]])
    levels = np.array([0.1, 0.9])
    # y=0: errors 0 and -1 -> 0 and 0.1; y=1: errors 1 and 0 -> 0.1 and 0
    assert pinball(y, q, levels) == pytest.approx(0.05)
    assert crps(y, q, levels) == pytest.approx(0.1)
    assert coverage(y, q[:, 0], q[:, 1]) == 1.0
    assert mape(np.array([2.0, 4.0]), np.array([1.0, 5.0])) == pytest.approx(37.5)
    with pytest.raises(ValueError, match="true value is 0"):
        mape(np.zeros(2), np.ones(2))


def test_score_forecasts_the_last_horizon_of_each_series():
    df = frame(noise=0.0)
    est = tsattn.SeasonalNaiveForecaster(6, season_length=12).fit(df)
    assert est.score(df, metric="mae") == pytest.approx(0.0, abs=1e-6)
    assert est.score(df, metric="mase") == pytest.approx(0.0, abs=1e-6)
    naive = tsattn.NaiveForecaster(6).fit(df)
    assert naive.score(df, metric="mase") > 0.5
    with pytest.raises(ValueError, match="metric='r2' is invalid"):
        naive.score(df, metric="r2")
