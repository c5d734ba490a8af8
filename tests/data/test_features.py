"""Calendar features, lags and rolling windows, the past / future split, and leaks."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np
import pandas as pd
import polars as pl
import pytest
import torch

from tsattn.data import check_panel, make_windows, split_by_fraction
from tsattn.data.features import (
    build_features,
    calendar_feature_names,
    calendar_features,
    lag_features,
    rolling_features,
)
from tsattn.data.panel import Panel
from tsattn.data.scaling import SeriesScaler

LOOKBACK, HORIZON = 8, 4


# -- calendar ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("freq", "features"),
    [
        ("15min", ["hour", "day_of_week", "day_of_month", "day_of_year", "month"]),
        ("h", ["hour", "day_of_week", "day_of_month", "day_of_year", "month"]),
        ("D", ["day_of_week", "day_of_month", "day_of_year", "month"]),
        ("B", ["day_of_week", "day_of_month", "day_of_year", "month"]),
        ("W", ["day_of_year", "month"]),
        ("MS", ["month"]),
        ("QS", ["month"]),
        ("YS", []),
    ],
)
def test_calendar_features_fit_the_frequency(freq, features):
    names = calendar_feature_names(freq)
    assert names == [f"{f}_{t}" for f in features for t in ("sin", "cos")]
    time = pd.date_range("2022-12-30", "2024-12-31", freq=freq)  # two years, one leap
    values = calendar_features(time, freq)
    assert values.shape == (len(time), len(names)) and values.dtype == np.float32
    if not names:
        return
    assert np.abs(values).max() <= 1.0 + 1e-6
    sin, cos = values[:, 0::2], values[:, 1::2]
    np.testing.assert_allclose(sin**2 + cos**2, 1.0, rtol=1e-5)
    assert (values.std(axis=0) > 0.1).all()  # every column really varies at this frequency


def test_calendar_values_and_timezone():
    time = np.array(["2024-03-04T18:00", "2024-01-01T00:00"], dtype="datetime64[ns]")  # UTC
    values = calendar_features(time, "h")
    names = calendar_feature_names("h")
    hour = np.arctan2(values[:, names.index("hour_sin")], values[:, names.index("hour_cos")])
    np.testing.assert_allclose(np.mod(hour, 2 * np.pi) * 24 / (2 * np.pi), [18, 0], atol=1e-4)
    monday = values[1, names.index("day_of_week_sin") : names.index("day_of_week_cos") + 1]
    np.testing.assert_allclose(monday, [0.0, 1.0], atol=1e-6)  # 2024-01-01 is a Monday
    local = calendar_features(time, "h", tz="Asia/Tokyo")  # 18:00 UTC is 03:00 on the 5th
    hour = np.arctan2(local[:, 0], local[:, 1])
    np.testing.assert_allclose(np.mod(hour, 2 * np.pi) * 24 / (2 * np.pi), [3, 9], atol=1e-4)
    aware = pd.DatetimeIndex(time).tz_localize("UTC").tz_convert("Asia/Tokyo")
    np.testing.assert_array_equal(calendar_features(aware, "h"), local)


def test_integer_time_has_no_calendar():
    assert calendar_features(np.arange(10), 1).shape == (10, 0)
    assert calendar_feature_names(1) == []
    with pytest.raises(TypeError, match="not datetimes"):
        calendar_features(np.arange(10), "h")
    with pytest.raises(TypeError, match="pandas alias"):
        calendar_features(pd.date_range("2024-01-01", periods=3, freq="h"), 3600)


# -- lags and rolling windows --------------------------------------------------------------------


def grouped_reference(panel: Panel, lags, windows, stats) -> np.ndarray:
    """Plain pandas groupby: shift / rolling per series, leading gaps filled as documented."""
    frame = pd.DataFrame({"id": panel.series_index(), "y": panel.target.astype(np.float64)})
    group = frame.groupby("id")["y"]
    first = group.transform("first")
    columns = [group.shift(k).fillna(first) for k in lags]
    for w in windows:
        roll = group.rolling(w, min_periods=1)
        for stat in stats:
            out = roll.std(ddof=0) if stat == "std" else getattr(roll, stat)()
            columns.append(out.reset_index(level=0, drop=True).sort_index())
    return np.column_stack(columns)


def test_lags_and_rolling_match_a_groupby_reference(panel):
    lags, windows, stats = (1, 3, 24), (2, 5, 30), ("mean", "std", "min", "max", "median", "sum")
    got = np.column_stack(
        [
            lag_features(panel.target, panel.offsets, lags),
            rolling_features(panel.target, panel.offsets, windows, stats),
        ]
    )
    assert got.shape == (panel.n_rows, len(lags) + len(windows) * len(stats))
    expected = grouped_reference(panel, lags, windows, stats)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-3)  # series 2 is ~500 +- 100


def test_leading_rows_are_filled_as_documented():
    values = np.array([1.0, 2.0, 4.0, 10.0, 20.0], dtype=np.float32)
    offsets = np.array([0, 3, 5])
    np.testing.assert_array_equal(lag_features(values, offsets, [2])[:, 0], [1, 1, 1, 10, 10])
    rolled = rolling_features(values, offsets, [2], ["mean", "std"])
    np.testing.assert_allclose(rolled[:, 0], [1, 1.5, 3, 10, 15])
    np.testing.assert_allclose(rolled[:, 1], [0, 0.5, 1, 0, 5])
    with pytest.raises(ValueError, match="positive integers"):
        lag_features(values, offsets, [0])
    with pytest.raises(ValueError, match="stats must name some of"):
        rolling_features(values, offsets, [2], ["mode"])
    with pytest.raises(ValueError, match=r"pass panel\.offsets"):
        lag_features(values, np.array([0, 3]), [1])


# -- past-only vs known-future, and leaks ----------------------------------------------------------


def marker_panel(make_frame) -> Panel:
    """Target at global row t is t: any value reveals which rows it came from."""
    frame = make_frame(lengths=(30, 24))
    frame["y"] = np.arange(len(frame), dtype=np.float64)
    return check_panel(frame)


FeatureFn = Callable[[Panel], tuple[np.ndarray | None, np.ndarray | None]]


def honest(panel: Panel) -> tuple[np.ndarray | None, np.ndarray | None]:
    feats = build_features(panel, lags=(1, 2, 5), rolling=(3, 6), rolling_stats=("mean", "max"))
    return feats.past, feats.future


def past_sent_as_future(panel: Panel) -> tuple[np.ndarray | None, np.ndarray | None]:
    feats = build_features(panel, lags=(1, 2), rolling=(3,), rolling_stats=("mean",))
    return None, np.concatenate([feats.future, feats.past], axis=1)


def centred_rolling(stat: str) -> FeatureFn:
    """A rolling statistic over a window centred on row t: it sees rows t + 1, t + 2."""

    def features(panel: Panel) -> tuple[np.ndarray | None, np.ndarray | None]:
        values = pd.Series(panel.target).groupby(panel.series_index())
        rolled = getattr(values.rolling(5, center=True, min_periods=1), stat)()
        return rolled.reset_index(level=0, drop=True).to_numpy(np.float32)[:, None], None

    return features


def assert_no_leak(features: FeatureFn, panel: Panel) -> None:
    """Every network input of a window must derive only from target rows before its cut-off.

    Two checks: (1) with the target at row t equal to t, lag / rolling mean / max values of a
    window never exceed cut-off - 1; (2) rewriting every target row from the cut-off on leaves
    all of the window's inputs unchanged.
    """
    past, future = features(panel)
    windows = make_windows(panel, LOOKBACK, HORIZON, past_covariates=past, future_covariates=future)
    batch = windows.gather(np.arange(len(windows)))
    cutoff = batch.start.numpy() + LOOKBACK  # (B,) first row the window must not see
    if batch.past_covariates is not None:
        markers = batch.past_covariates.amax(dim=(1, 2)).numpy()  # (B,) latest row used
        assert (markers < cutoff).all(), "a past covariate carries a row at or after the cut-off"
    for k, cut in enumerate(cutoff):
        tampered = panel.target.copy()
        end = panel.offsets[batch.series[k].item() + 1]
        tampered[cut:end] = -1e4  # the future of this window only
        past_t, future_t = features(dataclasses.replace(panel, target=tampered))
        again = make_windows(
            panel, LOOKBACK, HORIZON, past_covariates=past_t, future_covariates=future_t
        ).gather(np.array([k]))
        for name in ("past_target", "past_covariates", "future_covariates"):
            seen, now = getattr(batch, name), getattr(again, name)
            if seen is not None:
                assert torch.equal(seen[k : k + 1], now), f"{name} of window {k} sees its future"


def test_lag_and_rolling_features_do_not_leak_into_windows(make_frame):
    panel = marker_panel(make_frame)
    feats = build_features(panel, past=["temp"], lags=(1, 2, 5), rolling=(3, 6))
    assert feats.past_names[:3] == ["temp", "y_lag_1", "y_lag_2"]
    assert_no_leak(honest, panel)


@pytest.mark.parametrize(
    ("leaky", "caught_by"),
    [
        (past_sent_as_future, "future_covariates of window 0 sees its future"),
        (centred_rolling("max"), "a past covariate carries a row at or after the cut-off"),
        (centred_rolling("std"), "past_covariates of window 0 sees its future"),  # no marker
    ],
)
def test_the_leak_check_catches_leaky_features(leaky, caught_by, make_frame):
    with pytest.raises(AssertionError, match=caught_by):
        assert_no_leak(leaky, marker_panel(make_frame))


def test_build_features_keeps_past_and_future_apart(panel):
    feats = build_features(
        panel, past=["temp"], lags=(1, 24), rolling=(6,), rolling_stats=("mean", "std")
    )
    assert feats.past_names == [
        "temp",
        "y_lag_1",
        "y_lag_24",
        "y_rolling_mean_6",
        "y_rolling_std_6",
    ]
    assert feats.future_names == calendar_feature_names("h")
    assert feats.past.shape == (panel.n_rows, 5) and feats.future.shape == (panel.n_rows, 10)
    assert feats.past.dtype == feats.future.dtype == np.float32
    only_future = build_features(panel, future=["temp"], calendar=False)
    assert only_future.past is None and only_future.past_names == []
    np.testing.assert_array_equal(
        only_future.future[:, 0], panel.covariates["temp"].astype(np.float32)
    )
    windows = make_windows(
        panel, LOOKBACK, HORIZON, past_covariates=feats.past, future_covariates=feats.future
    )
    batch = windows.gather(np.arange(3))
    assert batch.past_covariates.shape == (3, LOOKBACK, 5)
    assert batch.future_covariates.shape == (3, LOOKBACK + HORIZON, 10)
    with pytest.raises(ValueError, match="both past and future"):
        build_features(panel, past=["temp"], future=["temp"])
    with pytest.raises(ValueError, match=r"\['rain'\] are not in the panel"):
        build_features(panel, future=["rain"])


def test_build_features_uses_the_scaled_target(panel):
    scaler = SeriesScaler().fit(panel, bounds=split_by_fraction(panel, LOOKBACK).train)
    feats = build_features(panel, past=["temp"], lags=(1,), calendar=False, scaler=scaler)
    scaled = scaler.transform(panel)
    np.testing.assert_array_equal(feats.past[:, 0], scaled.covariates[:, 0])
    np.testing.assert_array_equal(
        feats.past[:, 1], lag_features(scaled.target, panel.offsets, [1])[:, 0]
    )


def test_integer_time_panel_gets_no_calendar(make_frame):
    frame = make_frame().assign(ds=lambda d: d.groupby("unique_id").cumcount())
    feats = build_features(check_panel(frame), lags=(1,))
    assert feats.future is None and feats.future_names == []


def test_pandas_and_polars_inputs_give_identical_arrays(make_frame):
    frame = make_frame()
    from_pandas = check_panel(frame)
    from_polars = check_panel(pl.from_pandas(frame))
    kwargs = {"past": ["temp"], "lags": (1, 3), "rolling": (4,), "rolling_stats": ("mean", "std")}
    a, b = build_features(from_pandas, **kwargs), build_features(from_polars, **kwargs)
    assert a.past_names == b.past_names and a.future_names == b.future_names
    assert np.array_equal(a.past, b.past) and np.array_equal(a.future, b.future)
    scaled_a = SeriesScaler("robust").fit(from_pandas).transform(from_pandas)
    scaled_b = SeriesScaler("robust").fit(from_polars).transform(from_polars)
    assert np.array_equal(scaled_a.target, scaled_b.target)
    assert np.array_equal(scaled_a.covariates, scaled_b.covariates)
