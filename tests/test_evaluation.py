"""Rolling-origin backtests, split-conformal intervals and probabilistic metrics."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tsattn
from tsattn.data import series_frame
from tsattn.evaluation import backtest
from tsattn.metrics import coverage, crps, mape, pinball


def frame(n: int = 240, ids=("a", "b"), noise: float = 0.3, seed: int = 0) -> pd.DataFrame:
    """Hourly series: a level, an exactly 12-periodic sine, Gaussian noise of std ``noise``."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                    "y": 5 * (k + 1)
                    + np.sin(2 * np.pi * (t % 12) / 12)
                    + noise * rng.standard_normal(n),
                }
            )
            for k, uid in enumerate(ids)
        ],
        ignore_index=True,
    )


def long_frame(values: dict, freq: str = "h") -> pd.DataFrame:
    """Series id -> values, as a long frame starting 2024-01-01 at ``freq``."""
    return series_frame(values, freq=freq)


def by_hand_mase(actual, pred, history, season_length: int) -> float:
    """MAE of ``pred`` divided by the in-sample seasonal-naive MAE of ``history``."""
    history = np.asarray(history, dtype=np.float64)
    scale = np.mean(np.abs(history[season_length:] - history[:-season_length]))
    return float(np.mean(np.abs(np.asarray(actual) - pred)) / scale)


def test_backtest_matches_a_manual_loop_for_seasonal_naive():
    df = frame(noise=0.0)
    result = backtest(
        tsattn.SeasonalNaiveForecaster(6, season_length=12),
        df,
        n_windows=4,
        step=3,
        season_length=1,
    )
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
    assert (result.metrics["mase"] == 0.0).all()  # a pure 12-step season is continued exactly
    assert result.summary()["n_mase_skipped"] == 0 and result.mase_skipped == []


def test_backtest_naive_mase_on_a_random_walk_equals_the_hand_computed_value():
    rng = np.random.default_rng(1)
    walks = {uid: 50 + np.cumsum(rng.standard_normal(200)) for uid in ("a", "b")}
    result = backtest(tsattn.NaiveForecaster(5), long_frame(walks), n_windows=3, season_length=1)
    first = 200 - 3 * 5  # windows tile the last 15 steps
    for uid, y in walks.items():
        for w in range(3):
            origin = first + 5 * w
            expected = by_hand_mase(y[origin : origin + 5], y[origin - 1], y[:first], 1)
            got = result.metrics.set_index(["unique_id", "window"]).loc[(uid, w), "mase"]
            assert got == pytest.approx(expected, rel=1e-5)
    assert result.summary()["mase"] == pytest.approx(result.metrics["mase"].mean())


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
    assert 0.85 <= result.summary()["coverage"] <= 0.96  # nominal 90%, 240 points per series
    # The seasonal naive error is noise_t - noise_{t-12}, normal with std 0.5 * sqrt(2); the
    # right 90% band is +-1.645 of that. Coverage alone would accept a band far too wide.
    width = result.forecasts["y_pred_q0.95"] - result.forecasts["y_pred_q0.05"]
    ideal = 2 * 1.645 * 0.5 * np.sqrt(2)
    assert 0.8 * ideal < width.mean() < 1.25 * ideal


def test_backtest_reports_coverage_of_trained_quantiles():
    df = frame(400)
    est = tsattn.LSTMForecaster(
        6, 24, max_epochs=30, hidden_size=16, quantiles=[0.1, 0.9], batch_size=64
    )
    result = backtest(est, df, n_windows=20, step=6, quantiles=[0.1, 0.9])
    assert {"y_pred_q0.1", "y_pred_q0.9"} <= set(result.forecasts.columns)
    f = result.forecasts
    inside = (f["y"] >= f["y_pred_q0.1"]) & (f["y"] <= f["y_pred_q0.9"])
    by_window = inside.groupby([f["unique_id"], f["window"]]).mean().to_numpy()
    np.testing.assert_allclose(result.metrics["coverage"].to_numpy(), by_window)
    # nominal 80% over 240 points; a small network trained briefly under-covers somewhat
    assert 0.5 <= result.summary()["coverage"] <= 0.95
    # narrower than the series' own 10%-90% spread, which a model blind to time would give
    width = (f["y_pred_q0.9"] - f["y_pred_q0.1"]).mean()
    spread = df.groupby("unique_id")["y"].quantile(0.9) - df.groupby("unique_id")["y"].quantile(0.1)
    assert (f["y_pred_q0.1"] <= f["y_pred_q0.9"]).all() and width < 0.85 * spread.min()


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
    assert est.score(df, metric="mae") == 0.0  # a pure 12-step season is continued exactly
    assert est.score(df, metric="mase", season_length=1) == 0.0
    naive = tsattn.NaiveForecaster(6).fit(df)
    series = [g.to_numpy() for _, g in df.groupby("unique_id")["y"]]
    mase = np.mean([by_hand_mase(y[-6:], y[-7], y[:-6], 1) for y in series])
    mae = np.mean([np.abs(y[-6:] - y[-7]).mean() for y in series])
    # greater is better, as in scikit-learn: score is minus the error
    assert naive.score(df, metric="mase", season_length=1) == pytest.approx(-mase, rel=1e-5)
    assert naive.score(df, metric="mae") == pytest.approx(-mae, rel=1e-5)
    with pytest.raises(ValueError, match="metric='r2' is invalid"):
        naive.score(df, metric="r2")


def test_score_sign_lets_grid_search_pick_the_better_model():
    df = frame(noise=0.1)
    good = tsattn.SeasonalNaiveForecaster(6, season_length=12).fit(df)
    bad = tsattn.NaiveForecaster(6).fit(df)
    assert good.score(df) > bad.score(df)  # maximising score picks the smaller error
    panel = good.check_frame(df)
    assert tsattn.evaluation.score(good, panel) == pytest.approx(-good.score(df))


def test_mase_season_defaults_to_the_frequency_of_the_data():
    rng = np.random.default_rng(3)
    week = np.array([5.0, 6.0, 7.0, 6.5, 8.0, 2.0, 1.0])
    daily = long_frame(
        {uid: np.tile(week, 20) + rng.standard_normal(140) for uid in ("a", "b")}, freq="D"
    )
    est = tsattn.NaiveForecaster(7).fit(daily)
    assert est.score(daily) == pytest.approx(est.score(daily, season_length=7))
    assert est.score(daily) != pytest.approx(est.score(daily, season_length=1))
    default = backtest(est, daily, n_windows=2)
    weekly = backtest(est, daily, n_windows=2, season_length=7)
    np.testing.assert_allclose(default.metrics["mase"], weekly.metrics["mase"])
    with pytest.raises(ValueError, match="season_length=0 is invalid"):
        backtest(est, daily, n_windows=2, season_length=0)


def test_a_flat_series_is_left_out_of_mase_with_a_warning_naming_it():
    rng = np.random.default_rng(2)
    walk = 50 + np.cumsum(rng.standard_normal(120))
    df = long_frame({"walk": walk, "flat": np.full(120, 4.0)})
    est = tsattn.NaiveForecaster(6)
    with pytest.warns(UserWarning, match=r"MASE is undefined for 1 of 2 series \('flat'\)"):
        result = backtest(est, df, n_windows=2, season_length=1)
    mase = result.metrics.set_index(["unique_id", "window"])["mase"]
    assert mase.loc["flat"].isna().all() and mase.loc["walk"].notna().all()
    assert result.summary()["mase"] == pytest.approx(mase.loc["walk"].mean())
    assert result.summary()["n_mase_skipped"] == 1 and result.mase_skipped == ["flat"]
    assert (result.metrics["mae"].notna()).all()  # the other metrics keep the flat series

    fitted = est.fit(df)
    with pytest.warns(UserWarning, match="'flat'"):
        score = fitted.score(df, season_length=1)
    alone = fitted.score(long_frame({"walk": walk}), season_length=1)
    assert score == pytest.approx(alone)


def test_mase_of_only_flat_series_is_a_clear_error():
    df = long_frame({"a": np.full(60, 1.0), "b": np.full(60, 2.0)})
    est = tsattn.NaiveForecaster(6)
    match = r"MASE is undefined for every series \('a', 'b'\).*Use metric='mae'"
    with pytest.raises(ValueError, match=match):
        backtest(est, df, n_windows=2, season_length=1)
    with pytest.raises(ValueError, match=match):
        est.fit(df).score(df, season_length=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the other metrics need no warning
        assert est.score(df, metric="mae") == 0.0


def test_several_models_in_one_backtest_give_one_tidy_table():
    import polars as pl

    t = np.arange(200)
    df = pd.DataFrame(
        {
            "unique_id": np.repeat(["a", "b"], 200),
            "ds": np.tile(pd.date_range("2024-01-01", periods=200, freq="h"), 2),
            "y": np.r_[np.sin(t / 4), np.cos(t / 3) + 2],
        }
    )
    models = {"naive": tsattn.NaiveForecaster(6), "snaive": tsattn.SeasonalNaiveForecaster(6)}
    result = tsattn.backtest(models, df, n_windows=3)
    table = result.summary()
    assert list(table.index) == ["naive", "snaive"]
    for name, est in models.items():  # the same numbers as one backtest per model
        alone = tsattn.backtest(est, df, n_windows=3).summary()
        assert table.loc[name, "mase"] == pytest.approx(alone["mase"])
    assert list(result.forecasts.columns[:2]) == ["model", "unique_id"]
    assert len(result.forecasts) == 2 * 2 * 3 * 6
    named = tsattn.backtest([tsattn.NaiveForecaster(6)] * 2, pl.from_pandas(df), n_windows=2)
    assert isinstance(named.metrics, pl.DataFrame)
    assert list(named.summary().index) == ["NaiveForecaster_0", "NaiveForecaster_1"]
    with pytest.raises(ValueError, match="at least one estimator"):
        tsattn.backtest({}, df)
