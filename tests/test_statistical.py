"""Statistical forecasters: the season taken from the data, constant series, convergence warnings."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from statsmodels.tools.sm_exceptions import ConvergenceWarning

import tsattn
from tsattn import statistical
from tsattn.data import series_frame
from tsattn.estimators import ESTIMATORS

#: Every registered statistical estimator, by its short name.
STATISTICAL = sorted(n for n, cls in ESTIMATORS.items() if cls.__name__ in statistical.__all__)
SEASONAL = [
    statistical.SeasonalNaiveForecaster,
    statistical.ETSForecaster,
    statistical.ARIMAForecaster,
    statistical.ThetaForecaster,
]
WEEK = np.array([5.0, 6.0, 7.0, 6.5, 8.0, 2.0, 1.0])


def long_frame(values: dict, freq: str = "h") -> pd.DataFrame:
    """Series id -> values, as a long frame starting 2024-01-01 at ``freq``."""
    return series_frame(values, freq=freq)


def test_the_registry_lists_every_statistical_estimator():
    assert STATISTICAL == sorted(
        ["naive", "seasonal_naive", "drift", "mean", "ets", "arima", "theta"]
    )


# -- A: season_length=None takes the season from the data's frequency ----------------------------


@pytest.mark.parametrize(
    "freq, season", [("h", 24), ("10min", 144), ("D", 7), ("B", 5), ("MS", 12)]
)
def test_season_length_defaults_to_the_natural_season_of_the_frequency(freq, season):
    n = 4 * season + 3
    df = long_frame({"a": np.arange(n) % season}, freq)
    est = statistical.SeasonalNaiveForecaster(5).fit(df)
    assert est.get_params()["season_length"] is None
    assert est.season_length_ == season and est.min_history == season
    np.testing.assert_array_equal(est.predict()["y_pred"], (n + np.arange(5)) % season)


def test_integer_time_has_no_season():
    df = pd.DataFrame({"ds": np.arange(50), "y": np.arange(50) % 7 + 1.0})
    est = statistical.SeasonalNaiveForecaster(3).fit(df)
    assert est.season_length_ == 1
    np.testing.assert_array_equal(est.predict()["y_pred"], [1.0, 1.0, 1.0])  # naive: last value


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
@pytest.mark.parametrize("cls", SEASONAL, ids=lambda c: c.__name__)
def test_every_seasonal_model_takes_its_season_from_the_data(cls):
    rng = np.random.default_rng(0)
    df = long_frame({"a": np.tile(WEEK, 20) + 0.01 * rng.standard_normal(140)}, "D")
    est = cls(7).fit(df)
    assert est.season_length_ == 7
    np.testing.assert_allclose(est.predict()["y_pred"], WEEK, atol=0.1)  # the next week
    assert cls(7, season_length=3).fit(df).season_length_ == 3  # an explicit season wins
    assert clone(est).get_params()["season_length"] is None


def test_min_history_is_a_lower_bound_before_fit_and_exact_after():
    df = long_frame({"a": np.tile(WEEK, 20)}, "D")
    est = statistical.ARIMAForecaster(7)
    assert est.min_history == 20  # the season is not known yet: none assumed
    assert est.fit(df).min_history == 3 * 7
    assert statistical.ARIMAForecaster(season_length=12).min_history == 36
    with pytest.raises(ValueError, match="season_length=0 is invalid; expected an integer >= 1"):
        statistical.ThetaForecaster(season_length=0).fit(df)


def test_the_season_is_restored_with_a_saved_model(tmp_path):
    df = long_frame({"a": np.tile(WEEK, 10), "b": np.tile(WEEK[::-1], 10)}, "D")
    est = statistical.SeasonalNaiveForecaster(7).fit(df)
    est.save(tmp_path / "m")
    again = tsattn.load(tmp_path / "m")
    assert again.get_params()["season_length"] is None and again.season_length_ == 7
    pd.testing.assert_frame_equal(again.predict(), est.predict())


def test_backtest_knows_the_season_before_fitting():
    df = long_frame({"a": np.tile(WEEK, 10)}, "D")
    result = tsattn.backtest(
        statistical.SeasonalNaiveForecaster(7), df, n_windows=3, season_length=1
    )
    assert (result.metrics["mae"] == 0.0).all()
    with pytest.raises(ValueError, match=r"12 timesteps, too few .* after a history of 14"):
        tsattn.backtest(statistical.SeasonalNaiveForecaster(7), df.head(12), n_windows=1)


# -- B: a constant series is continued as that constant ------------------------------------------


@pytest.mark.parametrize("name", STATISTICAL)
def test_a_constant_series_is_forecast_as_that_constant(name):
    df = long_frame({"flat": np.full(120, 5.0)})
    est = ESTIMATORS[name](horizon=6).fit(df)
    assert (est.predict()["y_pred"] == 5.0).all()
    fc = est.calibrate(df, n_windows=3, step=6).predict(quantiles=[0.1, 0.9])
    assert (fc[["y_pred", "y_pred_q0.1", "y_pred_q0.9"]] == 5.0).all(axis=None)


@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", STATISTICAL)
def test_a_constant_series_beside_a_sine_series(name):
    cls = ESTIMATORS[name]
    params = {"horizon": 6}
    if "season_length" in cls().get_params():
        params["season_length"] = 6
    if name == "arima":
        params["order"] = (1, 0, 0)  # the default (2, 1, 1) takes seconds per fit here
    t = np.arange(80)
    sine = 10 + np.sin(2 * np.pi * t / 6) + 0.1 * np.random.default_rng(0).standard_normal(80)
    df = long_frame({"flat": np.full(80, 5.0), "sine": sine})
    mixed = cls(**params).fit(df)
    fc = mixed.predict().set_index("unique_id")["y_pred"]
    assert (fc.loc["flat"] == 5.0).all()
    alone = cls(**params).fit(long_frame({"sine": sine})).predict()["y_pred"]
    np.testing.assert_allclose(fc.loc["sine"], alone, rtol=1e-9)  # each series on its own
    q = mixed.calibrate(df, n_windows=2).predict(quantiles=[0.1, 0.9]).set_index("unique_id")
    assert (q.loc["flat", ["y_pred_q0.1", "y_pred_q0.9"]] == 5.0).all(axis=None)
    assert (q.loc["sine", "y_pred_q0.9"] > q.loc["sine", "y_pred_q0.1"]).all()


# -- C: statsmodels' convergence problems reach the user, once per call ----------------------------


def _unconverging_frame() -> pd.DataFrame:
    """Two noiseless sines, on which ARIMA(2, 1, 1) stops at its iteration limit, and noise."""
    t = np.arange(60)
    noise = np.random.default_rng(0).standard_normal(60)
    return long_frame({"sine0": np.sin(t / 3), "sine1": np.sin(t / 3 + 1), "noise": noise})


def _convergence_warnings(run) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    return [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_convergence_problems_give_one_warning_naming_the_series(n_jobs):
    df = _unconverging_frame()
    est = statistical.ARIMAForecaster(6, season_length=1, n_jobs=n_jobs).fit(df)
    messages = _convergence_warnings(est.predict)
    assert len(messages) == 1  # one for the call, not one per series
    assert "did not converge for 2 of 3 series ('sine0', 'sine1')" in messages[0]
    assert "ARIMAForecaster" in messages[0] and "Try a longer history" in messages[0]


def test_a_backtest_gives_one_convergence_warning_for_all_its_windows():
    est = statistical.ARIMAForecaster(6, season_length=1)
    messages = _convergence_warnings(
        lambda: tsattn.backtest(est, _unconverging_frame(), n_windows=2)
    )
    assert len(messages) == 1 and "2 of 3 series" in messages[0]


def test_theta_configured_for_hourly_traffic_is_a_credible_baseline():
    from tsattn.datasets import load

    df = load("traffic").df[["unique_id", "ds", "y"]]
    # one seasonal profile per hour of the week (daily and weekly cycles), removed additively
    theta = tsattn.ThetaForecaster(horizon=24, season_length=168)
    result = tsattn.backtest(theta, df, n_windows=14, season_length=24)
    snaive = tsattn.backtest(tsattn.SeasonalNaiveForecaster(horizon=24), df, n_windows=14)
    assert result.summary()["mase"] < snaive.summary()["mase"]
    assert result.forecasts["y_pred"].max() < df["y"].max()
    with pytest.raises(ValueError, match="method='auto' is invalid"):
        tsattn.ThetaForecaster(horizon=24, method="auto").fit(df)


def test_many_statsmodels_fits_show_a_progress_bar_in_a_terminal(in_terminal):
    import textwrap

    script = textwrap.dedent(
        """
        import numpy as np, pandas as pd, tsattn
        t = pd.date_range("2024-01-01", periods=60, freq="D")
        df = pd.concat([pd.DataFrame({"unique_id": f"s{k}", "ds": t,
                                      "y": np.sin(np.arange(60) / 3) + k}) for k in range(25)])
        tsattn.backtest(tsattn.ThetaForecaster(horizon=3), df, n_windows=2, refit=True)
        """
    )
    text = in_terminal(script)
    assert "ThetaForecaster fits" in text and "series" in text, text[-400:]
    assert "backtest ThetaForecaster" in text, text[-400:]
