"""Messy input as users really have it: each case is right or a clear error, never silent.

Regression tests for the correctness issue (gaps, time zones, DST, day-first strings, float64
targets, row order, constant series), all through the public ``fit`` / ``predict`` /
``backtest`` API.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import tsattn
from tsattn.data import check_panel, make_windows
from tsattn.estimators import ESTIMATORS
from tsattn.neural import default_segment_length


def hourly(n: int = 600, uid: str = "a", level: float = 0.0, start: str = "2024-01-01"):
    t = pd.date_range(start, periods=n, freq="h")
    y = level + 10 + np.sin(2 * np.pi * np.arange(n) / 24) + 0.01 * np.arange(n)
    return pd.DataFrame({"unique_id": uid, "ds": t, "y": y})


def tiny(cls=tsattn.LinearForecaster, **kw):
    params = {"horizon": 6, "lookback": 24, "max_epochs": 1, "batch_size": 32} | kw
    return cls(**params)


# -- 1. gaps ---------------------------------------------------------------------------------


def with_hole(n=1000, start=300, size=200):
    df = hourly(n)
    return df.drop(index=range(start, start + size)).reset_index(drop=True)


def test_a_gap_is_warned_about_and_reported_with_its_size_and_place():
    df = with_hole()
    with pytest.warns(UserWarning, match=r"200 missing timestamps in 1 gap\(s\) of 1 series"):
        est = tiny().fit(df)
    report = str(est.validation_report_)
    assert "largest: 200 missing after 2024-01-13 11:00:00 in series 'a'" in report
    assert est.validation_report_.counts.loc["a", "missing_timestamps"] == 200


def test_no_window_spans_a_gap():
    with pytest.warns(UserWarning, match="missing timestamps"):
        panel = check_panel(with_hole(n=400, start=100, size=7))
    windows = make_windows(panel, 24, 6)
    _, start = windows.locate(np.arange(len(windows)))
    times = panel.time.view(np.int64)[start[:, None] + np.arange(30)]  # (W, L + H)
    assert (np.diff(times, axis=1) == 3600 * 10**9).all()  # every window is consecutive hours
    # windows run up to the hole from both sides: 100 - 30 + 1 before, 293 - 30 + 1 after
    assert len(windows) == (100 - 29) + (293 - 29)


def test_forecasting_from_a_gap_in_the_last_lookback_names_the_series_and_the_gap():
    df = pd.concat([hourly(300, "a"), with_hole(n=300, start=290, size=3).assign(unique_id="b")])
    with pytest.warns(UserWarning, match="3 missing timestamps"):
        est = tiny().fit(df)
    with pytest.raises(ValueError, match=r"series 'b' has 3 missing timestamp\(s\) between"):
        est.predict()


def test_fill_with_max_fill_fills_short_gaps_counts_them_and_keeps_long_ones_cut():
    df = with_hole(n=1000, start=300, size=200).drop(index=[700, 701]).reset_index(drop=True)
    with pytest.warns(UserWarning, match="1 gap.* left open"):
        est = tiny(fill="interpolate", max_fill=5).fit(df)
    counts = est.validation_report_.counts.loc["a"]
    assert counts["rows_inserted"] == 2 and counts["target_filled"] == 2
    assert counts["missing_timestamps"] == 202
    assert "2 inserted in 1 gap(s) and filled" in str(est.validation_report_)
    # a short gap at the end is filled, so forecasting from it works
    late = hourly(400).drop(index=[395]).reset_index(drop=True)
    out = est.predict(late)
    assert len(out) == 6 and np.isfinite(out["y_pred"]).all()


# -- 2. time zones between fit and predict --------------------------------------------------


def test_naive_against_aware_timestamps_is_an_error_naming_both():
    df = hourly(300)
    aware = df.assign(ds=df["ds"].dt.tz_localize("Europe/Paris"))
    naive_fit = tsattn.NaiveForecaster(horizon=3).fit(df)
    with pytest.raises(ValueError, match=r"fitted on naive timestamps .* timezone-aware \(Europe"):
        naive_fit.predict(aware)
    aware_fit = tsattn.NaiveForecaster(horizon=3).fit(aware)
    with pytest.raises(ValueError, match=r"fitted on timezone-aware \(Europe/Paris\) .* naive"):
        aware_fit.predict(df)


def test_aware_timestamps_in_another_zone_are_converted_to_the_fitted_one():
    df = hourly(300)
    paris = df.assign(ds=df["ds"].dt.tz_localize("Europe/Paris"))
    est = tsattn.NaiveForecaster(horizon=3).fit(paris)
    tokyo = paris.assign(ds=paris["ds"].dt.tz_convert("Asia/Tokyo"))
    out = est.predict(tokyo)
    assert str(out["ds"].dt.tz) == "Europe/Paris"
    pd.testing.assert_frame_equal(out, est.predict(paris))


# -- 3. calendar frequencies across a DST change ----------------------------------------------


@pytest.mark.parametrize(
    ("freq", "n", "expected"), [("D", 60, "2024-05-10"), ("MS", 30, "2026-07-01")]
)
def test_daily_and_monthly_aware_data_across_dst_stay_at_local_midnight(freq, n, expected):
    t = pd.date_range("2024-03-11" if freq == "D" else "2024-01-01", periods=n, freq=freq)
    df = pd.DataFrame({"ds": t.tz_localize("Europe/Paris"), "y": np.arange(n, dtype=float)})
    est = tsattn.NaiveForecaster(horizon=2).fit(df)
    assert est.freq_ == freq and est.validation_report_.clean
    out = est.predict()
    assert (out["ds"].dt.hour == 0).all() and str(out["ds"].dt.tz) == "Europe/Paris"
    assert out["ds"].iloc[0] == pd.Timestamp(expected, tz="Europe/Paris")


def test_iso_strings_with_changing_utc_offsets_read_as_local_midnight():
    t = pd.date_range("2024-03-20", periods=20, freq="D", tz="Europe/Paris")
    text = [ts.isoformat() for ts in t]  # ...+01:00 before 31 March, +02:00 after
    assert {s[-6:] for s in text} == {"+01:00", "+02:00"}
    est = tsattn.NaiveForecaster(horizon=2).fit(
        pd.DataFrame({"ds": text, "y": 1.0 + np.arange(20)})
    )
    assert est.freq_ == "D"
    out = est.predict()
    assert [ts.isoformat() for ts in out["ds"]] == [
        "2024-04-09T00:00:00+02:00",
        "2024-04-10T00:00:00+02:00",
    ]


# -- 4. one explicit format for string timestamps --------------------------------------------


def day_first(n=60):
    t = pd.date_range("2024-01-25 13:00", periods=n, freq="D")
    return pd.DataFrame({"ds": t.strftime("%d/%m/%Y %H:%M"), "y": np.arange(n, dtype=float)})


def test_day_first_strings_are_an_error_that_suggests_time_format():
    with pytest.raises(
        ValueError, match=r"first offending value '25/01/2024 13:00' .*time_format="
    ):
        tsattn.NaiveForecaster(horizon=2).fit(day_first())


def test_time_format_reads_day_first_strings_in_fit_and_predict():
    est = tsattn.NaiveForecaster(horizon=2).fit(day_first(), time_format="%d/%m/%Y %H:%M")
    assert est.freq_ == "D" and est.validation_report_.clean
    out = est.predict(day_first(40))  # the fitted format is used again
    assert out["ds"].iloc[0] == pd.Timestamp("2024-03-05 13:00")


# -- 5. float64 targets -------------------------------------------------------------------------


def test_large_targets_keep_their_precision():
    df = hourly(50).assign(y=123456789.59)
    df.loc[10, "y"] = 123456789.0
    out = tsattn.NaiveForecaster(horizon=2).fit(df).predict()
    assert out["y_pred"].tolist() == [123456789.59, 123456789.59]
    assert out["y_pred"].dtype == np.float64


def test_backtest_truths_and_errors_are_exact_on_a_large_level():
    df = hourly(200).assign(y=1.23e8 + 0.37 * np.arange(200))
    result = tsattn.backtest(tsattn.NaiveForecaster(horizon=3), df, n_windows=4)
    truth = df.set_index("ds").loc[result.forecasts["ds"], "y"].to_numpy()
    np.testing.assert_array_equal(result.forecasts["y"].to_numpy(), truth)
    assert result.summary()["mae"] == pytest.approx(0.74, abs=1e-7)  # 0.37 * (1 + 2 + 3) / 3


def test_huge_values_forecast_in_float64_or_fail_clearly():
    df = hourly(200).assign(y=lambda d: 1e39 * (1 + 0.1 * np.sin(np.arange(len(d)))))
    naive = tsattn.NaiveForecaster(horizon=2).fit(df).predict()
    assert np.isfinite(naive["y_pred"]).all() and naive["y_pred"].iloc[0] == df["y"].iloc[-1]
    scaled = tiny().fit(df).predict()
    assert np.isfinite(scaled["y_pred"]).all()
    assert np.abs(scaled["y_pred"] / 1e39 - 1).max() < 1
    with pytest.raises(ValueError, match=r"scales to 1e\+39, which float32 networks cannot"):
        tiny(scaler=None).fit(df.assign(y=1e39))


# -- 6. row order --------------------------------------------------------------------------------


def test_row_order_does_not_change_forecasts():
    df = pd.concat([hourly(300, "b", 5.0), hourly(300, "a"), hourly(300, "c", 20.0)])
    shuffled = df.sample(frac=1.0, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = tiny(max_epochs=2).fit(df).predict()
        second = tiny(max_epochs=2).fit(shuffled).predict()
    assert first["unique_id"].unique().tolist() == ["a", "b", "c"]
    pd.testing.assert_frame_equal(first, second)


# -- 7. constant series ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_a_constant_series_is_forecast_as_that_constant(name):
    df = pd.concat([hourly(200, "flat").assign(y=5.0), hourly(200, "wavy")])
    params = {"horizon": 6, "lookback": 48}
    if name in ("lstm", "attention_lstm", "transformer", "linear"):
        params |= {"max_epochs": 1, "batch_size": 32}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = ESTIMATORS[name](**params).fit(df).predict()
    assert (out.loc[out["unique_id"] == "flat", "y_pred"] == 5.0).all()
    assert (out.loc[out["unique_id"] == "wavy", "y_pred"] != 5.0).all()


# -- 11. defaults follow the data's frequency -------------------------------------------------


@pytest.mark.parametrize(
    ("freq", "lookback", "segment"),
    [("h", 96, 24), ("h", 335, 24), ("h", 336, 48), ("D", 28, 7), ("D", 5, 5), ("10min", 288, 144)],
)
def test_segment_length_follows_the_frequency_and_never_exceeds_the_lookback(
    freq, lookback, segment
):
    t = pd.date_range("2024-01-01", periods=2 * lookback + 60, freq=freq)
    df = pd.DataFrame({"ds": t, "y": np.sin(np.arange(len(t)) / 3)})
    est = tsattn.LSTMForecaster(horizon=4, lookback=lookback, max_steps=1).fit(df)
    assert est.network_params_["segment_length"] == segment
    given = tsattn.LSTMForecaster(
        horizon=4, lookback=lookback, max_steps=1, model_options={"segment_length": 2}
    ).fit(df)
    assert given.network_params_["segment_length"] == 2


@pytest.mark.parametrize(("name", "segment"), [("lstm", 48), ("attention_lstm", 24)])
def test_only_the_lstm_doubles_its_segments_at_long_lookbacks(name, segment):
    assert default_segment_length(name, 24, 336) == segment
    assert default_segment_length(name, 24, 168) == 24
    assert default_segment_length(name, 1, 336) == 24  # no season: the network's own default
