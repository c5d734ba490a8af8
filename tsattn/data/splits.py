"""Temporal train / validation / test splits as per-series row ranges.

Each part is an ``(S, 2)`` int64 array of global rows ``[begin, end)`` for :func:`make_windows`.
Validation and test parts start ``lookback`` rows before their border, so their first window
has a full history while every *forecast* step stays inside its own part.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from tsattn.data.panel import Panel

__all__ = [
    "ETT_HOURLY_BORDERS",
    "Split",
    "split_by_fraction",
    "split_by_rows",
    "split_by_time",
    "standard_split",
]

#: Standard long-horizon borders of ETTh1/ETTh2 (12/4/4 months of 30 days, in hours).
ETT_HOURLY_BORDERS = (8640, 11520, 14400)


class Split(NamedTuple):
    """Row ranges of the three parts, each ``(S, 2)`` int64."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def _from_cuts(
    panel: Panel, cut_val: np.ndarray, cut_test: np.ndarray, end: np.ndarray, lookback: int
) -> Split:
    """Build a split from per-series local cut rows (train ends at cut_val, val at cut_test)."""
    if lookback < 1:
        raise ValueError(f"lookback must be >= 1, got {lookback}.")
    start = panel.offsets[:-1]
    train = np.stack([start, start + cut_val], axis=1)  # (S, 2)
    val = np.stack([start + np.maximum(cut_val - lookback, 0), start + cut_test], axis=1)  # (S, 2)
    test = np.stack([start + np.maximum(cut_test - lookback, 0), start + end], axis=1)  # (S, 2)
    return Split(train.astype(np.int64), val.astype(np.int64), test.astype(np.int64))


def split_by_fraction(
    panel: Panel, lookback: int, fractions: tuple[float, float, float] = (0.7, 0.1, 0.2)
) -> Split:
    """Split each series by fractions of its length (TSLib convention: test and train rounded down)."""
    if len(fractions) != 3 or min(fractions) < 0 or not np.isclose(sum(fractions), 1.0):
        raise ValueError(
            f"fractions must be three non-negative numbers summing to 1, got {fractions}."
        )
    n = panel.lengths
    n_train = (n * fractions[0]).astype(np.int64)
    n_test = (n * fractions[2]).astype(np.int64)
    return _from_cuts(panel, n_train, n - n_test, n, lookback)


def split_by_rows(
    panel: Panel, lookback: int, borders: tuple[int, int, int] = ETT_HOURLY_BORDERS
) -> Split:
    """Split every series at the same local row numbers: train ``[0, b0)``, val ``[b0, b1)``, test ``[b1, b2)``."""
    b0, b1, b2 = borders
    if not 0 < b0 < b1 <= b2:
        raise ValueError(f"borders must satisfy 0 < b0 < b1 <= b2, got {borders}.")
    short = np.flatnonzero(panel.lengths < b2)
    if len(short):
        s = short[0]
        raise ValueError(
            f"series {panel.ids[s]!r} has {panel.lengths[s]} rows but the split needs {b2}; "
            "use split_by_fraction for shorter data."
        )
    ones = np.ones(panel.n_series, dtype=np.int64)
    return _from_cuts(panel, b0 * ones, b1 * ones, b2 * ones, lookback)


def split_by_time(panel: Panel, lookback: int, val_start: object, test_start: object) -> Split:
    """Split at timestamps: train before ``val_start``, val before ``test_start``, test after."""
    t_val, t_test = _to_time(panel, val_start), _to_time(panel, test_start)
    if not t_val <= t_test:
        raise ValueError(f"val_start ({val_start}) must not be after test_start ({test_start}).")
    cut_val = np.empty(panel.n_series, dtype=np.int64)
    cut_test = np.empty(panel.n_series, dtype=np.int64)
    for s in range(panel.n_series):
        t = panel.time[panel.rows(s)]
        cut_val[s], cut_test[s] = np.searchsorted(t, [t_val, t_test])
    return _from_cuts(panel, cut_val, cut_test, panel.lengths, lookback)


def standard_split(panel: Panel, protocol: str, lookback: int) -> Split:
    """The long-horizon benchmark splits: ``'ett'`` (hourly ETT borders) or ``'70-10-20'``."""
    if protocol == "ett":
        return split_by_rows(panel, lookback, ETT_HOURLY_BORDERS)
    if protocol == "70-10-20":
        return split_by_fraction(panel, lookback, (0.7, 0.1, 0.2))
    raise ValueError(f"Unknown split protocol {protocol!r}; expected 'ett' or '70-10-20'.")


def _to_time(panel: Panel, value: object) -> np.generic:
    if np.issubdtype(panel.time.dtype, np.datetime64):
        ts = pd.Timestamp(value)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        elif panel.tz is not None:
            ts = ts.tz_localize(panel.tz).tz_convert("UTC").tz_localize(None)
        return np.datetime64(ts.as_unit("ns"))
    return np.int64(value)
