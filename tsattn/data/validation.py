"""Validation at the public edge: a long frame in, a :class:`Panel` out, in small stages.

:func:`check_panel` reads the frame into one :class:`Rows` object and passes it through the
stages below, each a function ``stage(rows, ...) -> rows`` with its own tests. Every error says
what was wrong, where (column, series id, timestamp, row) and how to fix it; nothing is
removed, filled or re-ordered without being counted in the :class:`ValidationReport`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from tsattn.data.frames import FrameLike, to_pandas_frame
from tsattn.data.panel import COUNTS, Panel, ValidationReport
from tsattn.data.timestamps import (
    freq_label,
    grid_positions,
    grid_times,
    infer_freq,
    missing_before,
    parse_freq,
    parse_time,
)

__all__ = [
    "DUPLICATE_POLICIES",
    "FILL_POLICIES",
    "Rows",
    "check_like_fitted",
    "check_panel",
    "check_recent_gaps",
    "check_window_gaps",
    "require_length",
]

FILL_POLICIES = ("ffill", "interpolate", "zero")
DUPLICATE_POLICIES = ("error", "first", "last", "mean")
SINGLE_SERIES_ID = "series_0"

FillPolicy = Literal["ffill", "interpolate", "zero"]
Bounds = Mapping[str, tuple[float | None, float | None]]


@dataclass(frozen=True)
class Rows:
    """The frame's rows as arrays: what every validation stage reads and returns.

    ``codes`` ``(N,)`` numbers each row's series in ``ids`` ``(S,)``; ``time`` ``(N,)`` is int64
    (nanoseconds since the epoch in UTC for datetimes, else the integer index); ``target`` and
    each covariate are ``(N,)`` float64.
    """

    ids: np.ndarray
    codes: np.ndarray
    time: np.ndarray
    target: np.ndarray
    covariates: dict[str, np.ndarray]
    is_datetime: bool
    tz: str | None
    time_col: str = "ds"

    @property
    def n_series(self) -> int:
        return len(self.ids)

    def offsets(self) -> np.ndarray:
        """``(S + 1,)`` row offsets of the series (rows sorted by series)."""
        offsets = np.zeros(self.n_series + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(np.bincount(self.codes, minlength=self.n_series))
        return offsets

    def take(self, index: np.ndarray) -> Rows:
        """The rows at ``index`` (positions or a boolean mask), every column alike."""
        return replace(
            self,
            codes=self.codes[index],
            time=self.time[index],
            target=self.target[index],
            covariates={c: v[index] for c, v in self.covariates.items()},
        )

    def per_series(self, mask: np.ndarray) -> np.ndarray:
        """``(S,)`` count of the rows where ``mask`` holds, per series."""
        return np.bincount(self.codes[mask], minlength=self.n_series)

    def when(self, t: int) -> object:
        """A time value as the user reads it (a timestamp or an integer)."""
        if not self.is_datetime:
            return int(t)
        return (
            pd.Timestamp(int(t), tz="UTC").tz_convert(self.tz) if self.tz else pd.Timestamp(int(t))
        )

    def where(self, row: int) -> str:
        """``series 'a' at 2024-01-01 00:00:00``: where row ``row`` is, for messages."""
        return f"series {self.ids[self.codes[row]]!r} at {self.when(self.time[row])}"


def check_panel(
    df: FrameLike,
    *,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
    covariates: Sequence[str] | None = None,
    fill: FillPolicy | None = None,
    duplicates: Literal["error", "first", "last", "mean"] = "error",
    freq: str | int | None = None,
    reindex: bool = False,
    bounds: Bounds | None = None,
    min_length: int | None = None,
    drop_short: bool = False,
    max_gap: int | None = None,
    max_fill: int | None = None,
    time_format: str | None = None,
) -> Panel:
    """Validate a long frame and pack it into contiguous arrays.

    Parameters
    ----------
    df : pandas.DataFrame or polars.DataFrame
        Long format: ``id_col`` (optional; one series when absent), ``time_col`` (datetimes or an
        integer time index), ``target_col`` and optional numeric covariate columns.
    id_col, time_col, target_col : str
        Column names.
    covariates : sequence of str, optional
        Covariate columns to keep. Default: every other column (all must be numeric).
    fill : {'ffill', 'interpolate', 'zero'}, optional
        How to fill NaN/inf values (and rows inserted by ``reindex``). Default: raise.
    duplicates : {'error', 'first', 'last', 'mean'}
        What to do with repeated (id, time) rows.
    freq : str or int, optional
        Expected frequency (pandas alias or integer step); inferred per series when omitted.
    reindex : bool
        Insert the missing timestamps of each series (requires ``fill``), in gaps of at most
        ``max_fill`` timestamps. Without it, gaps stay in the panel: windows never span one.
    max_fill : int, optional
        Longest gap (missing timestamps in a row) that ``reindex`` fills; longer ones stay gaps.
        Default: no limit.
    bounds : mapping of column to (low, high), optional
        Physically valid range per column; values outside are treated as missing and counted.
    min_length : int, optional
        Minimum timesteps per series (typically ``lookback + horizon``).
    drop_short : bool
        Drop series shorter than ``min_length`` (counted) instead of raising.
    max_gap : int, optional
        Keep only each series' longest stretch in which no gap exceeds ``max_gap`` missing
        timesteps; the rows outside it are trimmed and counted (``rows_trimmed``).
    time_format : str, optional
        strftime format of string timestamps, e.g. ``"%d/%m/%Y %H:%M"``; default ISO 8601.
        One format for the whole column: a value that does not match it is an error.

    Returns
    -------
    Panel
        Sorted, validated data with its :class:`ValidationReport`.
    """
    frame = to_pandas_frame(df)
    _check_options(fill, duplicates, reindex, min_length, max_gap, max_fill)
    covariates = _check_columns(frame, id_col, time_col, target_col, covariates, bounds)
    rows = read_rows(frame, id_col, time_col, target_col, covariates, time_format)
    report = _new_report(rows, id_col)
    rows = sort_rows(rows, report)
    rows = drop_duplicates(rows, duplicates, report, id_col)
    rows = mask_out_of_bounds(rows, bounds or {}, target_col, report)
    step = resolve_freq(rows, freq)
    if max_gap is not None:
        rows = keep_longest_span(rows, max_gap, step, report)
    rows = check_grid(rows, step, reindex, report, max_fill)
    rows = fill_missing(rows, fill, target_col, report)
    rows = drop_short_series(rows, min_length, drop_short, report)
    report.freq = step[1] if rows.is_datetime else step[0]
    return _pack(rows, report, id_col, time_col, target_col)


def _pack(rows: Rows, report: ValidationReport, id_col: str, time_col: str, target_col: str):
    """The checked rows as a :class:`Panel` of contiguous float64 columns."""
    return Panel(
        ids=rows.ids,
        offsets=rows.offsets(),
        time=rows.time.view("datetime64[ns]") if rows.is_datetime else rows.time,
        target=np.ascontiguousarray(rows.target, dtype=np.float64),
        covariates={
            c: np.ascontiguousarray(v, dtype=np.float64) for c, v in rows.covariates.items()
        },
        freq=report.freq,
        tz=rows.tz,
        report=report,
        id_col=id_col,
        time_col=time_col,
        target_col=target_col,
    )


def require_length(ids: np.ndarray, lengths: np.ndarray, min_length: int) -> None:
    """Raise a ``ValueError`` naming the first series shorter than ``min_length``."""
    short = np.flatnonzero(lengths < min_length)
    if len(short):
        s = short[0]
        raise ValueError(
            f"{len(short)} series shorter than min_length={min_length} (lookback + horizon); "
            f"series {ids[s]!r} has {lengths[s]} timesteps, {min_length - lengths[s]} too few. "
            "Pass longer series or a smaller lookback/horizon, or drop them first: "
            "tsattn.data.check_panel(df, min_length=..., drop_short=True).to_pandas()."
        )


def check_like_fitted(
    panel: Panel, is_datetime: bool, freq: str | int | None, tz: str | None = None
) -> Panel:
    """``panel`` checked to be of the fitted time kind and frequency, and put in zone ``tz``.

    Naive against timezone-aware timestamps is an error (the forecast times would be off by
    the UTC offset); aware ones in another zone are converted to the fitted one.
    """
    datetime = bool(np.issubdtype(panel.time.dtype, np.datetime64))
    if datetime != is_datetime:
        kind = "datetimes" if is_datetime else "integers"
        raise TypeError(f"the time column held {kind} in fit; pass the same kind to predict.")
    if freq is not None and panel.freq != freq and panel.lengths.max() > 1:
        raise ValueError(
            f"predict's history has frequency {panel.freq!r} but the model was fitted at "
            f"{freq!r}; resample the history to {freq!r}."
        )
    if datetime and (panel.tz is None) != (tz is None):
        fitted = f"timezone-aware ({tz})" if tz else "naive"
        given = f"timezone-aware ({panel.tz})" if panel.tz else "naive"
        fix = (
            f"localize them with .dt.tz_localize({tz!r})"
            if tz
            else "drop the zone with .dt.tz_convert(None) or .dt.tz_localize(None)"
        )
        raise ValueError(
            f"the model was fitted on {fitted} timestamps but column {panel.time_col!r} holds "
            f"{given} ones; {fix} to match."
        )
    return panel if panel.tz == tz else replace(panel, tz=tz)


def check_recent_gaps(panel: Panel, length: int) -> None:
    """Raise if the last ``length`` rows of a series (what a forecast reads) span a gap."""
    missing = panel.missing_before()
    local = np.arange(panel.n_rows) - np.repeat(panel.offsets[:-1], panel.lengths)  # (N,)
    recent = local > np.repeat(panel.lengths - length, panel.lengths)  # inside, not at, its start
    bad = np.flatnonzero(recent & (missing > 0))
    if len(bad):
        _gap_error(panel, int(bad[-1]), f"its last lookback={length} steps, which a forecast reads")


def check_window_gaps(panel: Panel, origins: np.ndarray, lookback: int, horizon: int) -> None:
    """Raise if a window around one of ``origins`` ``(S, n)`` spans a gap."""
    missing = panel.missing_before()
    if not missing.any():
        return
    opens = np.cumsum(missing > 0)  # (N,) stretches opened so far, per row
    begin = panel.offsets[:-1, None] + np.maximum(origins - lookback, 0)  # (S, n)
    last = panel.offsets[:-1, None] + np.minimum(origins + horizon, panel.lengths[:, None]) - 1
    crossed = opens[last] != opens[begin]
    if crossed.any():
        s, k = np.argwhere(crossed)[0]
        row = int(begin[s, k] + np.argmax(missing[begin[s, k] + 1 : last[s, k] + 1] > 0) + 1)
        _gap_error(panel, row, f"the window of forecast origin {int(origins[s, k])}")


def _gap_error(panel: Panel, row: int, where: str) -> None:
    s = int(np.searchsorted(panel.offsets, row, side="right") - 1)
    before, after = panel.timestamps()[[row - 1, row]]
    raise ValueError(
        f"series {panel.ids[s]!r} has {int(panel.missing_before()[row])} missing timestamp(s) "
        f"between {before} and {after}, inside {where}; fill the gap (fill='ffill' | "
        f"'interpolate' | 'zero', max_fill=...) or pass a gap-free history{_holiday_hint(panel.freq)}."
    )


def _holiday_hint(freq: object) -> str:
    """For business-day data, where gaps are often exchange holidays: the frequency for that."""
    if freq not in ("B", "C"):
        return ""
    return (
        "; if the missing business days are exchange holidays, fit with the exchange's trading "
        "calendar as frequency, e.g. freq='XNYS' (optional tsattn[calendars])"
    )


# -- the stages, in order ---------------------------------------------------------------------------


def _check_options(fill, duplicates, reindex, min_length, max_gap, max_fill) -> None:
    if fill is not None and fill not in FILL_POLICIES:
        raise ValueError(
            f"fill={fill!r} is not a fill policy; expected None or one of {FILL_POLICIES}."
        )
    if duplicates not in DUPLICATE_POLICIES:
        raise ValueError(
            f"duplicates={duplicates!r} is unknown; expected one of {DUPLICATE_POLICIES}."
        )
    if reindex and fill is None:
        raise ValueError(
            "reindex=True inserts missing timestamps, so it needs fill='ffill', 'interpolate' or 'zero'."
        )
    if min_length is not None and min_length < 1:
        raise ValueError(f"min_length must be >= 1, got {min_length}.")
    if max_gap is not None and max_gap < 0:
        raise ValueError(f"max_gap must be >= 0 missing timesteps, got {max_gap}.")
    if max_fill is not None and (
        isinstance(max_fill, bool) or not isinstance(max_fill, int) or max_fill < 1
    ):
        raise ValueError(
            f"max_fill must be a positive number of timestamps or None, got {max_fill!r}."
        )


def _check_columns(frame, id_col, time_col, target_col, covariates, bounds) -> list[str]:
    """The covariate columns to keep, after checking that every named column exists."""
    if len(frame.columns) == 0 or len(frame) == 0:
        raise ValueError(
            f"the frame is empty ({len(frame)} rows, {len(frame.columns)} columns); "
            f"pass at least one row with columns {time_col!r} and {target_col!r}."
        )
    if frame.columns.duplicated().any():
        dup = frame.columns[frame.columns.duplicated()][0]
        raise ValueError(f"column {dup!r} appears more than once; rename or drop the copies.")
    missing = [c for c in (time_col, target_col) if c not in frame.columns]
    if missing:
        raise ValueError(
            f"missing required column(s) {missing}; the frame has {list(frame.columns)}. "
            "Pass id_col=, time_col=, target_col= to name yours, or use tsattn.data.wide_to_long "
            "for one-column-per-series frames."
        )
    others = [c for c in frame.columns if c not in {id_col, time_col, target_col}]
    covariates = others if covariates is None else list(covariates)
    unknown = [c for c in covariates if c not in frame.columns]
    if unknown:
        raise ValueError(f"covariate column(s) {unknown} not in the frame; available: {others}.")
    unknown = [c for c in (bounds or {}) if c not in (target_col, *covariates)]
    if unknown:
        raise ValueError(f"bounds name column(s) {unknown} that are neither target nor covariates.")
    return covariates


def read_rows(
    frame: pd.DataFrame,
    id_col: str,
    time_col: str,
    target_col: str,
    covariates: list[str],
    time_format: str | None = None,
) -> Rows:
    """Series numbers, parsed times and float64 values of every row, in the frame's order.

    Series are numbered in sorted id order, so results never depend on the order of the rows.
    """
    if id_col in frame.columns:
        id_values = frame[id_col]
        if id_values.isna().any():
            row = int(np.flatnonzero(id_values.isna().to_numpy())[0])
            raise ValueError(
                f"id column {id_col!r} is missing at row {row}; every row needs a series id."
            )
        codes, ids = _factorize_sorted(id_values, id_col)
    else:
        codes, ids = np.zeros(len(frame)), np.array([SINGLE_SERIES_ID], dtype=object)
    codes = codes.astype(np.int64)
    time_raw = frame[time_col]
    if time_raw.isna().any():
        row = int(np.flatnonzero(time_raw.isna().to_numpy())[0])
        series = f" (series {ids[codes[row]]!r})" if id_col in frame.columns else ""
        raise ValueError(
            f"time column {time_col!r} is missing at row {row}{series}; drop or fix that row."
        )
    time, tz, is_datetime = parse_time(time_raw, time_col, time_format)
    return Rows(
        ids=ids,
        codes=codes,
        time=time.view(np.int64) if is_datetime else time,
        target=_numeric(frame[target_col], target_col, "target"),
        covariates={c: _numeric(frame[c], c, "covariate") for c in covariates},
        is_datetime=is_datetime,
        tz=tz,
        time_col=time_col,
    )


def _factorize_sorted(values: pd.Series, id_col: str) -> tuple[np.ndarray, np.ndarray]:
    """``(codes, ids)`` with ids sorted: the canonical series order, whatever the row order."""
    try:
        codes, ids = pd.factorize(values, sort=True)
    except TypeError as err:  # e.g. ints and strings mixed
        raise TypeError(
            f"id column {id_col!r} mixes types that cannot be ordered ({err}); convert the ids "
            "to one type, e.g. df[id_col].astype(str)."
        ) from err
    return codes, np.asarray(ids, dtype=object)


def _numeric(col: pd.Series, name: str, role: str) -> np.ndarray:
    """Float64 values of a numeric column, or a TypeError naming the first bad value."""
    if pd.api.types.is_bool_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, copy=True)
    if pd.api.types.is_numeric_dtype(col.dtype):
        return col.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    coerced = pd.to_numeric(col, errors="coerce")
    bad = coerced.isna() & col.notna()
    row = int(np.flatnonzero(bad.to_numpy())[0]) if bad.any() else 0
    hint = (
        "convert it with pd.to_numeric"
        if role == "target"
        else "encode it as numbers or leave it out with covariates=[...]"
    )
    raise TypeError(
        f"{role} column {name!r} must be numeric but has dtype {col.dtype} "
        f"(first non-numeric value {col.iloc[row]!r} at row {row}); {hint}."
    )


def _new_report(rows: Rows, id_col: str) -> ValidationReport:
    index = pd.Index(rows.ids, name=id_col)
    counts = pd.DataFrame(0, index=index, columns=list(COUNTS), dtype=np.int64)
    counts["rows_in"] = np.bincount(rows.codes, minlength=rows.n_series)
    return ValidationReport(counts=counts)


def sort_rows(rows: Rows, report: ValidationReport) -> Rows:
    """Rows in (series, time) order; rows that moved are counted (this never fails)."""
    order = np.lexsort((rows.time, rows.codes))
    moved = order != np.arange(len(order))
    if not moved.any():
        return rows
    rows = rows.take(order)
    report.counts["reordered"] = rows.per_series(moved)
    report.note(f"{int(moved.sum())} rows were out of (id, time) order and were sorted")
    return rows


def drop_duplicates(rows: Rows, policy: str, report: ValidationReport, id_col: str) -> Rows:
    """Repeated (series, time) rows: an error, or kept first / last / averaged (counted)."""
    dup = np.zeros(len(rows.time), dtype=bool)
    dup[1:] = (rows.time[1:] == rows.time[:-1]) & (rows.codes[1:] == rows.codes[:-1])
    if not dup.any():
        return rows
    first = int(np.flatnonzero(dup)[0])
    if policy == "error":
        raise ValueError(
            f"{int(dup.sum())} duplicate ({id_col}, {rows.time_col}) rows; first: "
            f"{rows.where(first)}. Drop or aggregate them first, e.g. with "
            "tsattn.data.check_panel(df, duplicates='first' | 'last' | 'mean').to_pandas()."
        )
    report.counts["duplicates_removed"] = rows.per_series(dup)
    report.note(
        f"{int(dup.sum())} duplicate ({id_col}, {rows.time_col}) rows removed "
        f"(policy {policy!r}); first at {rows.where(first)}"
    )
    if policy == "mean":
        group = np.cumsum(~dup) - 1
        mean = lambda v: pd.Series(v).groupby(group).mean().to_numpy()  # noqa: E731
        kept = rows.take(~dup)
        return replace(
            kept,
            target=mean(rows.target),
            covariates={c: mean(v) for c, v in rows.covariates.items()},
        )
    return rows.take(~dup if policy == "first" else np.append(~dup[1:], True))


def mask_out_of_bounds(
    rows: Rows, bounds: Bounds, target_col: str, report: ValidationReport
) -> Rows:
    """Values outside their column's ``(low, high)`` become missing (counted, never dropped).

    Applied before any trimming, so every bad value of the input is counted.
    """
    for name, (low, high) in bounds.items():
        values = rows.target if name == target_col else rows.covariates[name]
        outside = np.zeros(len(values), dtype=bool)
        if low is not None:
            outside |= values < low
        if high is not None:
            outside |= values > high
        if outside.any():
            values[outside] = np.nan
            report.counts["out_of_bounds"] += rows.per_series(outside)
            first = int(np.flatnonzero(outside)[0])
            report.note(
                f"{int(outside.sum())} value(s) of {name!r} outside [{low}, {high}] treated as "
                f"missing; first at {rows.where(first)}"
            )
    return rows


def resolve_freq(rows: Rows, freq: str | int | None) -> tuple[int, str | None]:
    """One ``(step, alias)`` for all series: the given one, or inferred and checked to agree."""
    if freq is not None:
        return parse_freq(freq, rows.is_datetime, rows.time_col)
    offsets = rows.offsets()
    found: dict[tuple[int, str | None], int] = {}
    for s in range(rows.n_series):
        t = rows.time[offsets[s] : offsets[s + 1]]
        if len(t) > 1:
            found.setdefault(infer_freq(t, rows.is_datetime, rows.tz), s)
    if not found:
        return (86_400 * 10**9, "D") if rows.is_datetime else (1, None)
    if len(found) > 1:
        listed = ", ".join(
            f"{freq_label(*k)} (e.g. series {rows.ids[s]!r})" for k, s in list(found.items())[:4]
        )
        raise ValueError(
            f"series have different frequencies: {listed}; resample them to one frequency, "
            "or pass freq= and reindex=True with a fill policy."
        )
    return next(iter(found))


def keep_longest_span(
    rows: Rows, max_gap: int, step: tuple[int, str | None], report: ValidationReport
) -> Rows:
    """Trim each series to its longest stretch without a gap of more than ``max_gap`` steps."""
    offsets = rows.offsets()
    pos = grid_positions(rows.time, offsets, *step, rows.tz)  # (N,); -1 off the grid
    jump = missing_before(pos, offsets) > max_gap  # (N,) row opens a new span
    jump[offsets[:-1]] = True
    span = np.cumsum(jump) - 1  # (N,) span number of every row, spans numbered across series
    span_len = np.bincount(span)
    span_series = rows.codes[jump]  # (n_spans,)
    order = np.lexsort((-span_len, span_series))  # by series, longest first, earliest on ties
    _, first = np.unique(span_series[order], return_index=True)
    best = order[first]  # (S,) the span kept per series
    keep = span == best[rows.codes]
    if keep.all():
        return rows
    trimmed = rows.per_series(~keep)
    report.counts["rows_trimmed"] += trimmed
    s = int(trimmed.argmax())
    report.note(
        f"{int(trimmed.sum())} rows outside each series' longest span without a gap of more than "
        f"{max_gap} steps were trimmed (most in series {rows.ids[s]!r}: {int(trimmed[s])})"
    )
    return rows.take(keep)


def check_grid(
    rows: Rows,
    step: tuple[int, str | None],
    reindex: bool,
    report: ValidationReport,
    max_fill: int | None = None,
) -> Rows:
    """Every timestamp on the frequency's grid; gaps counted, warned about, and filled on ``reindex``.

    A gap is a run of missing timestamps. With ``reindex``, gaps of at most ``max_fill``
    timestamps (all when None) get rows with missing values, for ``fill_missing`` to fill; the
    others stay gaps, which windows never span (:meth:`Panel.stretches`). Unfilled gaps raise
    a ``UserWarning``.
    """
    offsets = rows.offsets()
    pos = grid_positions(rows.time, offsets, *step, rows.tz)  # (N,)
    off = pos < 0
    if off.any():
        row = int(np.flatnonzero(off)[0])
        s = rows.codes[row]
        n_off = int(off[rows.codes == s].sum())
        raise ValueError(
            f"series {rows.ids[s]!r} has {n_off} timestamp(s) off its {freq_label(*step)} "
            f"grid, first at {rows.when(rows.time[row])}; resample or aggregate the series to "
            "one regular frequency first."
        )
    gap = missing_before(pos, offsets)  # (N,) timestamps missing just before each row
    report.counts["missing_timestamps"] = np.add.reduceat(gap, offsets[:-1])
    if not gap.any():
        return rows
    filled = (gap > 0) & reindex
    if max_fill is not None:
        filled &= gap <= max_fill
    _describe_gaps(rows, gap, filled, step, report, max_fill)
    if not filled.any():
        return rows
    return _insert_missing(rows, pos, np.where(filled, gap, 0), step, report)


def _describe_gaps(rows, gap, filled, step, report, max_fill) -> None:
    """One report note (and a warning while gaps remain) on the missing timestamps."""
    has_gap = gap > 0
    worst = int(gap.argmax())
    largest = (
        f"largest: {int(gap[worst])} missing after {rows.when(rows.time[worst - 1])} in series "
        f"{rows.ids[rows.codes[worst]]!r}"
    )
    n_series = len(np.unique(rows.codes[has_gap]))
    message = (
        f"{int(gap.sum())} missing timestamps in {int(has_gap.sum())} gap(s) of {n_series} "
        f"series at frequency {freq_label(*step)}; {largest}"
    )
    if filled.any():
        message += f"; {int(gap[filled].sum())} inserted in {int(filled.sum())} gap(s) and filled"
    left = has_gap & ~filled
    if left.any():
        limit = f" (longer than max_fill={max_fill})" if filled.any() or max_fill else ""
        message += (
            f"; {int(left.sum())} gap(s){limit} left open: windows are taken only inside "
            "gap-free stretches"
        )
        warnings.warn(
            message + ". Pass fill='ffill' | 'interpolate' | 'zero' (and max_fill=) to fill "
            f"gaps, or resample the data first{_holiday_hint(step[1])}.",
            UserWarning,
            stacklevel=3,
        )
    report.note(message)


def _insert_missing(rows: Rows, pos, inserted, step, report: ValidationReport) -> Rows:
    """Rows with NaN values at the ``inserted[i]`` grid timestamps just before each row ``i``."""
    n_new = int(inserted.sum())
    report.counts["rows_inserted"] = np.bincount(
        rows.codes, weights=inserted, minlength=rows.n_series
    ).astype(np.int64)
    at = np.flatnonzero(inserted)  # rows that follow an inserted run
    size = inserted[at]
    old_to_new = np.arange(len(pos)) + np.cumsum(inserted)  # (N,) new index of every old row
    rep = np.repeat(at, size)  # (n_new,) the row each inserted row precedes
    within = np.arange(n_new) - np.repeat(np.cumsum(size) - size, size)  # 0..g-1 per gap
    new_index = old_to_new[rep] - np.repeat(size, size) + within
    offsets = rows.offsets()
    first = rows.time[offsets[rows.codes[rep]]]  # (n_new,) first time of each row's series
    grid_pos = pos[rep] - np.repeat(size, size) + within
    n = len(pos) + n_new

    def place(old: np.ndarray, new: np.ndarray) -> np.ndarray:
        out = np.empty(n, dtype=np.result_type(old, new))
        out[old_to_new], out[new_index] = old, new
        return out

    nan = np.full(n_new, np.nan)
    return replace(
        rows,
        codes=place(rows.codes, rows.codes[rep]),
        time=place(rows.time, grid_times(first, grid_pos, *step, rows.tz)),
        target=place(rows.target, nan),
        covariates={c: place(v, nan) for c, v in rows.covariates.items()},
    )


def fill_missing(rows: Rows, fill: str | None, target_col: str, report: ValidationReport) -> Rows:
    """NaN/inf in the target and covariates: an error, or filled within each series (counted)."""
    inserted = report.total("rows_inserted")
    target, filled = _check_finite(rows, rows.target, target_col, "target", fill)
    if filled is not None:
        report.counts["target_filled"] = rows.per_series(filled)
        report.note(
            f"{int(filled.sum())} missing target value(s) filled with {fill!r}"
            + (f" ({inserted} of them in inserted rows)" if inserted else "")
        )
    covariates = {}
    for name, values in rows.covariates.items():
        covariates[name], filled = _check_finite(rows, values, name, "covariate", fill)
        if filled is not None:
            report.counts["covariates_filled"] += rows.per_series(filled)
            report.note(
                f"{int(filled.sum())} missing value(s) of covariate {name!r} filled with {fill!r}"
            )
    return replace(rows, target=target, covariates=covariates)


def _check_finite(rows: Rows, values: np.ndarray, name: str, role: str, fill: str | None):
    """Raise on NaN/inf unless a fill policy is given; return (values, filled mask or None)."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return values, None
    if fill is None:
        row = int(np.flatnonzero(bad)[0])
        kind = "NaN" if np.isnan(values[row]) else "inf"
        raise ValueError(
            f"{role} column {name!r} has {int(bad.sum())} NaN/inf value(s); first ({kind}) in "
            f"{rows.where(row)}. Clean them, or fill them: fill='ffill' | 'interpolate' | "
            "'zero' (a parameter of the neural forecasters; for any model, "
            "tsattn.data.check_panel(df, fill=...).to_pandas())."
        )
    all_missing = rows.per_series(bad) == np.bincount(rows.codes, minlength=rows.n_series)
    if all_missing.any():
        s = int(np.flatnonzero(all_missing)[0])
        raise ValueError(
            f"{role} column {name!r} is entirely missing in series {rows.ids[s]!r}, so there is "
            "nothing to fill from; drop that series or that column."
        )
    return _fill(np.where(bad, np.nan, values), rows.codes, fill), bad


def _fill(values: np.ndarray, codes: np.ndarray, policy: str) -> np.ndarray:
    """Fill NaN within each series (never across a series boundary)."""
    s = pd.Series(values)
    if policy == "zero":
        return s.fillna(0.0).to_numpy()
    g = s.groupby(codes)
    if policy == "ffill":
        # leading gaps have nothing before them: take the first observed value instead
        return g.ffill().groupby(codes).bfill().to_numpy()
    return g.transform(lambda x: x.interpolate(limit_direction="both")).to_numpy()


def drop_short_series(
    rows: Rows, min_length: int | None, drop_short: bool, report: ValidationReport
) -> Rows:
    """Series shorter than ``min_length``: an error, or dropped whole (counted) on ``drop_short``."""
    counts = report.counts
    lengths = np.bincount(rows.codes, minlength=rows.n_series)
    counts["dropped"] = False
    short = np.flatnonzero(lengths < min_length) if min_length is not None else []
    if not drop_short:
        require_length(rows.ids, lengths, min_length or 1)
    if len(short) == rows.n_series:
        raise ValueError(
            f"every series is shorter than min_length={min_length} (longest: {lengths.max()}); "
            "pass longer series or a smaller lookback/horizon."
        )
    if len(short):
        counts.loc[counts.index[short], "dropped"] = True
        counts.loc[counts.index[short], "rows_trimmed"] = lengths[short]
        report.note(
            f"{len(short)} series shorter than min_length={min_length} dropped "
            f"({int(lengths[short].sum())} rows): {list(rows.ids[short][:5])}"
            + (" ..." if len(short) > 5 else "")
        )
        kept = np.setdiff1d(np.arange(rows.n_series), short)
        renumber = np.full(rows.n_series, -1, dtype=np.int64)
        renumber[kept] = np.arange(len(kept))
        rows = rows.take(~np.isin(rows.codes, short))
        rows = replace(rows, ids=rows.ids[kept], codes=renumber[rows.codes])
    counts["rows_out"] = 0
    counts.loc[counts.index[~counts["dropped"].to_numpy()], "rows_out"] = np.bincount(
        rows.codes, minlength=rows.n_series
    )
    return rows
