"""check_panel: each bad input raises its own readable error; every change is counted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
import pytest

from tsattn.data import check_panel


def frame(n: int = 48, ids: tuple[str, ...] = ("a", "b"), freq: str = "h") -> pd.DataFrame:
    parts = []
    for k, uid in enumerate(ids):
        ds = pd.date_range("2024-01-01", periods=n, freq=freq)
        parts.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": np.arange(n) + 100.0 * k}))
    return pd.concat(parts, ignore_index=True)


def with_row(df: pd.DataFrame, row: int, **values) -> pd.DataFrame:
    df = df.copy()
    for col, value in values.items():
        if col in df and df[col].dtype.kind in "iuf" and not isinstance(value, int | float):
            df[col] = df[col].astype(object)
        df.loc[row, col] = value
    return df


def mixed_tz() -> pd.DataFrame:
    df = frame(4, ids=("a",))
    df["ds"] = [
        pd.Timestamp("2024-01-01 00:00", tz="UTC"),
        pd.Timestamp("2024-01-01 01:00", tz="Europe/Oslo"),
        pd.Timestamp("2024-01-01 02:00", tz="UTC"),
        pd.Timestamp("2024-01-01 03:00", tz="UTC"),
    ]
    return df


def naive_and_aware() -> pd.DataFrame:
    df = frame(3, ids=("a",))
    df["ds"] = [
        pd.Timestamp("2024-01-01 00:00"),
        pd.Timestamp("2024-01-01 01:00", tz="UTC"),
        pd.Timestamp("2024-01-01 02:00"),
    ]
    return df


def two_frequencies() -> pd.DataFrame:
    daily = frame(10, ids=("daily",), freq="D")
    hourly = frame(10, ids=("hourly",), freq="h")
    return pd.concat([daily, hourly], ignore_index=True)


def off_grid() -> pd.DataFrame:
    df = frame(10, ids=("a",))
    df.loc[4, "ds"] = df.loc[4, "ds"] + pd.Timedelta(minutes=7)
    return df


BAD_INPUTS = {
    "not a frame": (lambda: np.zeros((3, 3)), {}, TypeError, "pandas or polars DataFrame"),
    "polars lazy frame": (lambda: pl.from_pandas(frame()).lazy(), {}, TypeError, r"\.collect\(\)"),
    "empty frame": (lambda: frame().iloc[0:0], {}, ValueError, "frame is empty"),
    "no columns": (lambda: pd.DataFrame(), {}, ValueError, "frame is empty"),
    "missing target": (
        lambda: frame().drop(columns="y"),
        {},
        ValueError,
        r"missing required column\(s\) \['y'\]",
    ),
    "missing time": (lambda: frame().drop(columns="ds"), {}, ValueError, "target_col="),
    "wrong target name": (lambda: frame(), {"target_col": "sales"}, ValueError, "'sales'"),
    "string target": (
        lambda: with_row(frame(), 3, y="n/a"),
        {},
        TypeError,
        "first non-numeric value 'n/a' at row 3",
    ),
    "NaN target": (
        lambda: with_row(frame(), 5, y=np.nan),
        {},
        ValueError,
        "series 'a' at 2024-01-01 05:00",
    ),
    "inf target": (
        lambda: with_row(frame(), 50, y=np.inf),
        {},
        ValueError,
        r"first \(inf\) in series 'b'",
    ),
    "duplicate rows": (
        lambda: pd.concat([frame(), frame().iloc[[7]]]),
        {},
        ValueError,
        "duplicate .* 2024-01-01 07:00",
    ),
    "bad timestamp string": (
        lambda: with_row(frame().astype({"ds": str}), 2, ds="yesterday"),
        {},
        ValueError,
        "'yesterday' \\(row 2\\)",
    ),
    "missing timestamp": (
        lambda: with_row(frame(), 2, ds=pd.NaT),
        {},
        ValueError,
        "missing at row 2",
    ),
    "missing series id": (
        lambda: with_row(frame(), 1, unique_id=None),
        {},
        ValueError,
        "id column 'unique_id' is missing at row 1",
    ),
    "mixed timezones": (mixed_tz, {}, ValueError, "timezones"),
    "naive and aware": (naive_and_aware, {}, ValueError, "naive"),
    "two frequencies": (two_frequencies, {}, ValueError, "different frequencies"),
    "off-grid timestamp": (off_grid, {}, ValueError, "off its 'h' grid, first at 2024-01-01 04:07"),
    "too short": (
        lambda: frame(),
        {"min_length": 60},
        ValueError,
        "series 'a' has 48 timesteps, 12 too few",
    ),
    "string covariate": (
        lambda: frame().assign(shop="north"),
        {},
        TypeError,
        "covariate column 'shop'",
    ),
    "unknown covariate": (
        lambda: frame(),
        {"covariates": ["price"]},
        ValueError,
        r"\['price'\] not in the frame",
    ),
    "NaN covariate": (
        lambda: with_row(frame().assign(x=1.0), 60, x=np.nan),
        {},
        ValueError,
        "'x' has 1 NaN/inf",
    ),
    "bad fill policy": (lambda: frame(), {"fill": "mean"}, ValueError, "not a fill policy"),
    "reindex without fill": (lambda: frame(), {"reindex": True}, ValueError, "needs fill="),
    "all-NaN series": (
        lambda: frame().assign(y=lambda d: np.where(d.unique_id == "b", np.nan, d.y)),
        {"fill": "ffill"},
        ValueError,
        "entirely missing in series 'b'",
    ),
    "boolean time": (lambda: frame().assign(ds=True), {}, TypeError, "boolean"),
    "duplicated column": (
        lambda: pd.concat([frame(), frame()[["y"]]], axis=1),
        {},
        ValueError,
        "more than once",
    ),
    "bad freq alias": (
        lambda: frame(),
        {"freq": "fortnightly-ish"},
        ValueError,
        "not a pandas frequency",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_raises_specific_readable_error(case):
    make, kwargs, error, message = BAD_INPUTS[case]
    with pytest.raises(error, match=message):
        check_panel(make(), **kwargs)


def test_error_messages_are_distinct():
    messages = set()
    for make, kwargs, error, _ in BAD_INPUTS.values():
        with pytest.raises(error) as info:
            check_panel(make(), **kwargs)
        messages.add(str(info.value))
    assert len(messages) == len(BAD_INPUTS)


def test_clean_frame_round_trips_and_is_contiguous_float64():
    df = frame()
    panel = check_panel(df)
    assert panel.report.clean
    assert panel.freq == "h"
    assert panel.target.dtype == np.float64 and panel.target.flags.c_contiguous
    assert list(panel.offsets) == [0, 48, 96]
    pd.testing.assert_frame_equal(panel.to_pandas(), df, check_dtype=False)


def test_unsorted_rows_are_sorted_and_counted():
    df = frame().sample(frac=1.0, random_state=0).reset_index(drop=True)
    panel = check_panel(df)
    assert np.array_equal(panel.target, frame()["y"].to_numpy(np.float64))
    assert panel.report.total("reordered") > 0
    assert "out of (id, time) order" in str(panel.report)


@pytest.mark.parametrize(
    ("policy", "expected"), [("first", 7.0), ("last", 1000.0), ("mean", (7.0 + 1000.0) / 2)]
)
def test_duplicate_policies(policy, expected):
    df = pd.concat([frame(), frame().iloc[[7]].assign(y=1000.0)], ignore_index=True)
    panel = check_panel(df, duplicates=policy)
    assert panel.target[7] == expected
    assert panel.report.counts.loc["a", "duplicates_removed"] == 1
    assert panel.n_rows == 96


@pytest.mark.parametrize(
    ("policy", "expected"), [("ffill", 4.0), ("interpolate", 5.0), ("zero", 0.0)]
)
def test_fill_policies_count_every_filled_value(policy, expected):
    df = with_row(frame(), 5, y=np.nan)
    panel = check_panel(df, fill=policy)
    assert panel.target[5] == expected
    assert panel.report.counts.loc["a", "target_filled"] == 1
    assert panel.report.counts.loc["b", "target_filled"] == 0


def test_ffill_never_crosses_series_and_fills_leading_gap_from_first_value():
    df = with_row(frame(), 48, y=np.nan)  # first row of series 'b'
    panel = check_panel(df, fill="ffill")
    assert panel.target[48] == 101.0  # its own next value, not series 'a''s last


def test_gaps_are_reported_and_reindexed_with_counts():
    df = frame().drop(index=[10, 11, 12, 60])
    panel = check_panel(df)
    assert panel.n_rows == 92
    assert panel.report.counts["missing_timestamps"].tolist() == [3, 1]
    assert "4 missing timestamps" in str(panel.report)
    filled = check_panel(df, reindex=True, fill="interpolate")
    assert filled.n_rows == 96
    assert filled.report.total("rows_inserted") == 4
    assert filled.report.total("target_filled") == 4
    np.testing.assert_allclose(filled.target, frame()["y"].to_numpy())


def test_business_day_frequency_with_holidays():
    ds = pd.bdate_range("2024-01-01", periods=30).delete([5, 17])  # two holidays
    panel = check_panel(pd.DataFrame({"ds": ds, "y": np.arange(28.0)}))
    assert panel.freq == "B"
    assert panel.report.total("missing_timestamps") == 2


def test_drop_short_counts_dropped_series():
    df = pd.concat([frame(48, ids=("a",)), frame(10, ids=("tiny",))], ignore_index=True)
    panel = check_panel(df, min_length=20, drop_short=True)
    assert list(panel.ids) == ["a"]
    assert bool(panel.report.counts.loc["tiny", "dropped"])
    assert panel.report.counts.loc["tiny", "rows_trimmed"] == 10
    assert "1 series shorter than min_length=20 dropped (10 rows)" in str(panel.report)


def test_bounds_turn_sentinels_into_counted_missing_values():
    df = frame(ids=("a",)).assign(temp=280.0)
    df.loc[[3, 9], "temp"] = 0.0  # 0 K
    panel = check_panel(df, bounds={"temp": (150.0, 350.0)}, fill="ffill")
    assert panel.report.total("out_of_bounds") == 2
    assert panel.report.total("covariates_filled") == 2
    assert (panel.covariates["temp"] == 280.0).all()


def test_max_gap_keeps_longest_contiguous_span():
    df = frame(100, ids=("a",)).drop(index=range(20, 60))  # a 40-hour hole
    panel = check_panel(df, max_gap=5)
    assert panel.n_rows == 40 and panel.target[0] == 60.0
    assert panel.report.total("rows_trimmed") == 20


def test_single_series_without_id_and_integer_time():
    panel = check_panel(
        pd.DataFrame({"t": [3, 1, 2, 4], "v": [30.0, 10, 20, 40]}), time_col="t", target_col="v"
    )
    assert panel.n_series == 1 and panel.freq == 1
    assert panel.target.tolist() == [10.0, 20.0, 30.0, 40.0]


def test_timezone_is_kept_and_restored():
    df = frame(ids=("a",))
    df["ds"] = df["ds"].dt.tz_localize("Europe/Oslo")
    panel = check_panel(df)
    assert panel.tz == "Europe/Oslo"
    restored = panel.to_pandas()["ds"]
    assert str(restored.dt.tz) == "Europe/Oslo"
    assert (restored == df["ds"]).all()


def test_pandas_and_polars_give_identical_arrays():
    df = with_row(frame().assign(x=np.linspace(0, 1, 96)), 7, y=np.nan)
    a = check_panel(df, fill="interpolate")
    b = check_panel(pl.from_pandas(df), fill="interpolate")
    assert np.array_equal(a.target, b.target)
    assert np.array_equal(a.time, b.time)
    assert np.array_equal(a.covariates["x"], b.covariates["x"])
    assert np.array_equal(a.offsets, b.offsets) and list(a.ids) == list(b.ids)


def test_slice_series_takes_local_rows_of_every_series():
    panel = check_panel(frame(6, ids=("a", "b")))
    part = panel.slice_series(np.array([1, 0]), np.array([4, 2]))
    assert part.target.tolist() == [1.0, 2.0, 3.0, 100.0, 101.0]
    assert part.offsets.tolist() == [0, 3, 5]
    assert part.time[0] == panel.time[1] and part.time[3] == panel.time[6]
