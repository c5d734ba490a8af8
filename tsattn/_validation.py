"""Checks used at the public edge: a long frame in, a validated :class:`Panel` out.

Every error says what was wrong, where (column, series id, timestamp, row) and how to fix it.
Nothing is removed, filled or re-ordered without being counted in the :class:`ValidationReport`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from tsattn.data.panel import COUNTS, Panel, ValidationReport

__all__ = ["FILL_POLICIES", "check_panel", "to_pandas_frame"]

FILL_POLICIES = ("ffill", "interpolate", "zero")
DUPLICATE_POLICIES = ("error", "first", "last", "mean")
SINGLE_SERIES_ID = "series_0"

FillPolicy = Literal["ffill", "interpolate", "zero"]


def to_pandas_frame(df: Any, what: str = "df") -> pd.DataFrame:
    """Accept a pandas or polars DataFrame; anything else is a ``TypeError``."""
    if isinstance(df, pd.DataFrame):
        return df
    module = type(df).__module__.split(".")[0]
    if module == "polars" and type(df).__name__ == "DataFrame":
        return df.to_pandas()
    if module == "polars" and type(df).__name__ == "LazyFrame":
        raise TypeError(f"{what} is a polars LazyFrame; call .collect() first and pass the result.")
    raise TypeError(
        f"{what} must be a pandas or polars DataFrame in long format, got {type(df).__name__}."
    )


def _where(ids: np.ndarray, codes: np.ndarray, times: pd.Index, row: int) -> str:
    return f"series {ids[codes[row]]!r} at {times[row]}"


def _parse_time(col: pd.Series, time_col: str) -> tuple[np.ndarray, str | None, bool]:
    """Return (int64 or datetime64[ns] values, tz, is_datetime) or raise a readable error."""
    if pd.api.types.is_bool_dtype(col.dtype):
        raise TypeError(f"time column {time_col!r} is boolean; it must hold datetimes or integers.")
    if pd.api.types.is_integer_dtype(col.dtype):
        return col.to_numpy(dtype=np.int64), None, False
    if pd.api.types.is_float_dtype(col.dtype):
        values = col.to_numpy()
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise TypeError(
                f"time column {time_col!r} holds non-integer number {values[row]!r} (row {row}); "
                "use datetimes or an integer time index."
            )
        return values.astype(np.int64), None, False
    if isinstance(col.dtype, pd.DatetimeTZDtype):
        tz = str(col.dtype.tz)
        return col.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]"), tz, True
    if pd.api.types.is_datetime64_dtype(col.dtype):
        return col.to_numpy("datetime64[ns]"), None, True
    # object / string column: timestamps with mixed zones, or strings to parse
    values = col.to_numpy(dtype=object)
    zones = {getattr(v, "tzinfo", None) is not None for v in values if isinstance(v, pd.Timestamp)}
    if len(zones) > 1:
        aware = next(i for i, v in enumerate(values) if getattr(v, "tzinfo", None) is not None)
        naive = next(i for i, v in enumerate(values) if getattr(v, "tzinfo", None) is None)
        raise ValueError(
            f"time column {time_col!r} mixes timezone-aware (row {aware}: {values[aware]}) and "
            f"naive (row {naive}: {values[naive]}) timestamps; localize all of them to one "
            "timezone (Series.dt.tz_localize) first."
        )
    tzs = {str(v.tzinfo) for v in values if getattr(v, "tzinfo", None) is not None}
    if len(tzs) > 1:
        raise ValueError(
            f"time column {time_col!r} mixes timezones {sorted(tzs)}; convert them to one "
            "timezone (Series.dt.tz_convert) first."
        )
    try:
        parsed = pd.to_datetime(col, format="mixed")
    except (ValueError, TypeError) as err:
        parsed = pd.to_datetime(col, errors="coerce", format="mixed", utc=True)
        bad = parsed.isna() & col.notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(
                f"time column {time_col!r} has a value that is not a timestamp: "
                f"{values[row]!r} (row {row}); fix or drop that row."
            ) from err
        raise ValueError(
            f"time column {time_col!r} mixes timezones or UTC offsets ({err}); convert all "
            "timestamps to one timezone first."
        ) from err
    if not pd.api.types.is_datetime64_any_dtype(parsed.dtype):
        raise ValueError(
            f"time column {time_col!r} mixes timezones or naive and aware timestamps; "
            "convert all timestamps to one timezone first."
        )
    return _parse_time(parsed, time_col)


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


def _infer_step(t: np.ndarray, is_datetime: bool) -> tuple[int, str | None]:
    """Return (step in int64 units, pandas alias or None) for one sorted, unique series."""
    d = np.diff(t)
    steps, counts = np.unique(d, return_counts=True)
    step = int(steps[np.argmax(counts)])
    if not is_datetime:
        return step, None
    day = 86_400 * 10**9
    if step == day and len(steps) > 1:
        weekday = ((t // day) + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
        if not (weekday >= 5).any():
            return step, "B"
    if step >= 28 * day:  # months, quarters, years: let pandas name the calendar rule
        alias = pd.infer_freq(pd.DatetimeIndex(t)) if len(t) >= 3 else None
        if alias:
            return step, alias
    if step % day == 0:  # pandas 3 names a fixed 24 hours '24h'; calendar days read better
        return step, "D" if step == day else f"{step // day}D"
    return step, pd.tseries.frequencies.to_offset(pd.Timedelta(step)).freqstr


def _grid(t0: int, t1: int, step: int, alias: str | None) -> np.ndarray:
    """Regular timestamps from t0 to t1 inclusive (int64 view of datetime64[ns] or ints)."""
    if alias is None or alias[0].isdigit() or alias in ("h", "min", "s", "D", "ms", "us", "ns"):
        return t0 + step * np.arange((t1 - t0) // step + 1, dtype=np.int64)  # exact in int64
    return pd.date_range(pd.Timestamp(t0), pd.Timestamp(t1), freq=alias).asi8


def _fill(values: np.ndarray, offsets: np.ndarray, policy: str) -> np.ndarray:
    """Fill NaN within each series (never across a series boundary)."""
    codes = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    s = pd.Series(values)
    if policy == "zero":
        return s.fillna(0.0).to_numpy()
    g = s.groupby(codes)
    if policy == "ffill":
        # leading gaps have nothing before them: take the first observed value instead
        return g.ffill().groupby(codes).bfill().to_numpy()
    return g.transform(lambda x: x.interpolate(limit_direction="both")).to_numpy()


def check_panel(
    df: Any,
    *,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
    covariates: Sequence[str] | None = None,
    fill: FillPolicy | None = None,
    duplicates: Literal["error", "first", "last", "mean"] = "error",
    freq: str | int | None = None,
    reindex: bool = False,
    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
    min_length: int | None = None,
    drop_short: bool = False,
    max_gap: int | None = None,
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
        Insert the missing timestamps of each series (requires ``fill``).
    bounds : mapping of column to (low, high), optional
        Physically valid range per column; values outside are treated as missing and counted.
    min_length : int, optional
        Minimum timesteps per series (typically ``lookback + horizon``).
    drop_short : bool
        Drop series shorter than ``min_length`` (counted) instead of raising.
    max_gap : int, optional
        Keep only each series' longest stretch in which no gap exceeds ``max_gap`` missing
        timesteps; the rows outside it are trimmed and counted (``rows_trimmed``).

    Returns
    -------
    Panel
        Sorted, validated data with its :class:`ValidationReport`.
    """
    frame = to_pandas_frame(df)
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
    has_ids = id_col in frame.columns
    reserved = {id_col, time_col, target_col}
    if covariates is None:
        covariates = [c for c in frame.columns if c not in reserved]
    else:
        covariates = list(covariates)
        unknown = [c for c in covariates if c not in frame.columns]
        if unknown:
            raise ValueError(
                f"covariate column(s) {unknown} not in the frame; available: "
                f"{[c for c in frame.columns if c not in reserved]}."
            )
    if bounds:
        unknown = [c for c in bounds if c not in (target_col, *covariates)]
        if unknown:
            raise ValueError(
                f"bounds name column(s) {unknown} that are neither target nor covariates."
            )

    # -- ids, time, values ---------------------------------------------------------------
    if has_ids:
        id_values = frame[id_col]
        if id_values.isna().any():
            row = int(np.flatnonzero(id_values.isna().to_numpy())[0])
            raise ValueError(
                f"id column {id_col!r} is missing at row {row}; every row needs a series id."
            )
        codes, ids = pd.factorize(id_values, sort=False)  # first-appearance order
        ids = np.asarray(ids, dtype=object)
    else:
        codes, ids = (
            np.zeros(len(frame), dtype=np.int64),
            np.array([SINGLE_SERIES_ID], dtype=object),
        )
    codes = codes.astype(np.int64)
    n_series = len(ids)
    time_raw = frame[time_col]
    if time_raw.isna().any():
        row = int(np.flatnonzero(time_raw.isna().to_numpy())[0])
        series = f" (series {ids[codes[row]]!r})" if has_ids else ""
        raise ValueError(
            f"time column {time_col!r} is missing at row {row}{series}; drop or fix that row."
        )
    time, tz, is_datetime = _parse_time(time_raw, time_col)
    t64 = time.view(np.int64) if is_datetime else time
    y = _numeric(frame[target_col], target_col, "target")
    cov = {c: _numeric(frame[c], c, "covariate") for c in covariates}

    counts = pd.DataFrame(0, index=pd.Index(ids, name=id_col), columns=list(COUNTS), dtype=np.int64)
    counts["rows_in"] = np.bincount(codes, minlength=n_series)
    report = ValidationReport(counts=counts)

    def per_series(mask: np.ndarray, series_codes: np.ndarray) -> np.ndarray:
        return np.bincount(series_codes[mask], minlength=n_series)

    # -- sort (never fail) -------------------------------------------------------------------
    order = np.lexsort((t64, codes))
    moved = order != np.arange(len(order))
    if moved.any():
        counts["reordered"] = per_series(moved, codes[order])
        report.note(f"{int(moved.sum())} rows were out of (id, time) order and were sorted")
        codes, t64, y = codes[order], t64[order], y[order]
        cov = {c: v[order] for c, v in cov.items()}
    times = pd.DatetimeIndex(t64.view("datetime64[ns]")) if is_datetime else pd.Index(t64)

    # -- duplicates ----------------------------------------------------------------------------
    dup = np.zeros(len(t64), dtype=bool)
    dup[1:] = (t64[1:] == t64[:-1]) & (codes[1:] == codes[:-1])
    if dup.any():
        first = int(np.flatnonzero(dup)[0])
        if duplicates == "error":
            raise ValueError(
                f"{int(dup.sum())} duplicate ({id_col}, {time_col}) rows; first: "
                f"{_where(ids, codes, times, first)}. Drop or aggregate them first, or pass "
                "duplicates='first' | 'last' | 'mean'."
            )
        if duplicates == "mean":
            group = np.cumsum(~dup) - 1
            y = pd.Series(y).groupby(group).mean().to_numpy()
            cov = {c: pd.Series(v).groupby(group).mean().to_numpy() for c, v in cov.items()}
            keep = ~dup
        else:
            keep = ~dup if duplicates == "first" else np.append(~dup[1:], True)
            y, cov = y[keep], {c: v[keep] for c, v in cov.items()}
        counts["duplicates_removed"] = per_series(dup, codes)
        report.note(
            f"{int(dup.sum())} duplicate ({id_col}, {time_col}) rows removed "
            f"(policy {duplicates!r}); first at {_where(ids, codes, times, first)}"
        )
        codes, t64 = codes[keep], t64[keep]
        times = times[keep]
    offsets = np.zeros(n_series + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.bincount(codes, minlength=n_series))

    # -- bounds (on the rows as given, before any trimming, so every bad value is counted) ------
    for name, (low, high) in (bounds or {}).items():
        values = y if name == target_col else cov[name]
        outside = np.zeros(len(values), dtype=bool)
        if low is not None:
            outside |= values < low
        if high is not None:
            outside |= values > high
        if outside.any():
            values[outside] = np.nan
            counts["out_of_bounds"] += per_series(outside, codes)
            first = int(np.flatnonzero(outside)[0])
            report.note(
                f"{int(outside.sum())} value(s) of {name!r} outside [{low}, {high}] treated as "
                f"missing; first at {_where(ids, codes, times, first)}"
            )

    # -- frequency, gaps, reindex ----------------------------------------------------------------
    step_alias = _resolve_freq(freq, t64, offsets, ids, is_datetime, time_col)
    if max_gap is not None:
        codes, t64, y, cov, offsets = _keep_longest_span(
            max_gap, step_alias, codes, t64, y, cov, offsets, counts, report, ids
        )
    grids, off_grid = [], []
    n_missing = np.zeros(n_series, dtype=np.int64)  # per series
    for s in range(n_series):
        t = t64[offsets[s] : offsets[s + 1]]
        grid = _grid(int(t[0]), int(t[-1]), *step_alias) if len(t) > 1 else t
        on_grid = np.isin(t, grid)
        if not on_grid.all():
            off_grid.append((s, int(t[~on_grid][0]), int((~on_grid).sum())))
        n_missing[s] = len(grid) - int(on_grid.sum())
        grids.append(grid)
    counts["missing_timestamps"] = n_missing
    missing_total = int(n_missing.sum())
    if off_grid:
        s, t_bad, n_bad = off_grid[0]
        when = pd.Timestamp(t_bad) if is_datetime else t_bad
        raise ValueError(
            f"series {ids[s]!r} has {n_bad} timestamp(s) off its {_freq_label(step_alias)} grid, "
            f"first at {when}; resample or aggregate the series to one regular frequency first."
        )
    if missing_total:
        worst = int(counts["missing_timestamps"].to_numpy().argmax())
        largest = _largest_gap(t64[offsets[worst] : offsets[worst + 1]], is_datetime)
        report.note(
            f"{missing_total} missing timestamps in {int((counts['missing_timestamps'] > 0).sum())} "
            f"series at frequency {_freq_label(step_alias)}; largest gap {largest} in series "
            f"{ids[worst]!r}" + ("; reindexed and filled" if reindex else "")
        )
    if reindex and missing_total:
        t_new = np.concatenate(grids)
        new_offsets = np.zeros(n_series + 1, dtype=np.int64)
        new_offsets[1:] = np.cumsum([len(g) for g in grids])
        pos = np.concatenate(
            [
                np.searchsorted(g, t64[offsets[s] : offsets[s + 1]]) + new_offsets[s]
                for s, g in enumerate(grids)
            ]
        )
        y = _scatter(y, pos, len(t_new))
        cov = {c: _scatter(v, pos, len(t_new)) for c, v in cov.items()}
        counts["rows_inserted"] = counts["missing_timestamps"].to_numpy()
        t64, offsets = t_new, new_offsets

    # -- NaN / inf ------------------------------------------------------------------------------
    row_codes = np.repeat(np.arange(n_series), np.diff(offsets))
    times_final = pd.DatetimeIndex(t64.view("datetime64[ns]")) if is_datetime else pd.Index(t64)
    inserted = counts["rows_inserted"].to_numpy()
    y, filled = _check_finite(y, target_col, "target", fill, offsets, ids, row_codes, times_final)
    if filled is not None:
        counts["target_filled"] = per_series(filled, row_codes)
        report.note(
            f"{int(filled.sum())} missing target value(s) filled with {fill!r}"
            + (f" ({int(inserted.sum())} of them in inserted rows)" if inserted.any() else "")
        )
    for name in list(cov):
        cov[name], filled = _check_finite(
            cov[name], name, "covariate", fill, offsets, ids, row_codes, times_final
        )
        if filled is not None:
            counts["covariates_filled"] += per_series(filled, row_codes)
            report.note(
                f"{int(filled.sum())} missing value(s) of covariate {name!r} filled with {fill!r}"
            )

    # -- length -----------------------------------------------------------------------------------
    lengths = np.diff(offsets)
    counts["dropped"] = False
    if min_length is not None and (lengths < min_length).any():
        short = np.flatnonzero(lengths < min_length)
        if not drop_short:
            s = short[0]
            raise ValueError(
                f"{len(short)} series shorter than min_length={min_length} (lookback + horizon); "
                f"series {ids[s]!r} has {lengths[s]} timesteps, {min_length - lengths[s]} too few. "
                "Pass longer series, a smaller lookback/horizon, or drop_short=True."
            )
        if len(short) == n_series:
            raise ValueError(
                f"every series is shorter than min_length={min_length} (longest: {lengths.max()}); "
                "pass longer series or a smaller lookback/horizon."
            )
        keep_rows = ~np.isin(row_codes, short)
        counts.loc[counts.index[short], "dropped"] = True
        counts.loc[counts.index[short], "rows_trimmed"] = lengths[short]
        report.note(
            f"{len(short)} series shorter than min_length={min_length} dropped "
            f"({int(lengths[short].sum())} rows): {list(ids[short][:5])}"
            + (" ..." if len(short) > 5 else "")
        )
        y, t64 = y[keep_rows], t64[keep_rows]
        cov = {c: v[keep_rows] for c, v in cov.items()}
        kept = np.setdiff1d(np.arange(n_series), short)
        lengths, ids = lengths[kept], ids[kept]
        offsets = np.zeros(len(kept) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(lengths)

    counts["rows_out"] = 0
    counts.loc[counts.index[~counts["dropped"].to_numpy()], "rows_out"] = lengths
    report.freq = step_alias[1] if is_datetime else step_alias[0]
    return Panel(
        ids=ids,
        offsets=offsets,
        time=t64.view("datetime64[ns]") if is_datetime else t64,
        target=np.ascontiguousarray(y, dtype=np.float32),
        covariates={c: np.ascontiguousarray(v, dtype=np.float32) for c, v in cov.items()},
        freq=report.freq,
        tz=tz,
        report=report,
        id_col=id_col,
        time_col=time_col,
        target_col=target_col,
    )


def _resolve_freq(freq, t64, offsets, ids, is_datetime, time_col) -> tuple[int, str | None]:
    """One (step, alias) for all series: given, or inferred and checked to agree."""
    if freq is not None:
        if is_datetime:
            if not isinstance(freq, str):
                raise TypeError(
                    f"freq must be a pandas alias such as 'h' or 'D' for datetime {time_col!r}, got {freq!r}."
                )
            try:
                offset = pd.tseries.frequencies.to_offset(freq)
            except ValueError as err:
                raise ValueError(
                    f"freq={freq!r} is not a pandas frequency alias (e.g. 'h', 'D', '15min')."
                ) from err
            try:
                step = int(pd.Timedelta(offset).value)
            except ValueError:  # calendar offsets such as 'MS' or 'B' have no fixed length
                step = 0
            return step, offset.freqstr
        if not isinstance(freq, int | np.integer) or freq <= 0:
            raise ValueError(
                f"freq must be a positive integer step for integer {time_col!r}, got {freq!r}."
            )
        return int(freq), None
    found: dict[tuple[int, str | None], int] = {}
    for s in range(len(ids)):
        t = t64[offsets[s] : offsets[s + 1]]
        if len(t) > 1:
            found.setdefault(_infer_step(t, is_datetime), s)
    if not found:
        return (1, None) if not is_datetime else (86_400 * 10**9, "D")
    if len(found) > 1:
        listed = ", ".join(
            f"{_freq_label(k)} (e.g. series {ids[s]!r})" for k, s in list(found.items())[:4]
        )
        raise ValueError(
            f"series have different frequencies: {listed}; resample them to one frequency, "
            "or pass freq= and reindex=True with a fill policy."
        )
    return next(iter(found))


def _freq_label(step_alias: tuple[int, str | None]) -> str:
    step, alias = step_alias
    return repr(alias) if alias is not None else f"step {step}"


def _largest_gap(t: np.ndarray, is_datetime: bool) -> str:
    d = np.diff(t)
    i = int(d.argmax())
    if is_datetime:
        return f"{pd.Timedelta(int(d[i]))} after {pd.Timestamp(int(t[i]))}"
    return f"{int(d[i])} after {int(t[i])}"


def _scatter(values: np.ndarray, pos: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    out[pos] = values
    return out


def _check_finite(values, name, role, fill, offsets, ids, row_codes, times):
    """Raise on NaN/inf unless a fill policy is given; return (values, filled mask or None)."""
    bad = ~np.isfinite(values)
    if not bad.any():
        return values, None
    if fill is None:
        row = int(np.flatnonzero(bad)[0])
        kind = "NaN" if np.isnan(values[row]) else "inf"
        raise ValueError(
            f"{role} column {name!r} has {int(bad.sum())} NaN/inf value(s); first ({kind}) in "
            f"series {ids[row_codes[row]]!r} at {times[row]}. Clean them, or pass "
            "fill='ffill' | 'interpolate' | 'zero'."
        )
    values = np.where(bad, np.nan, values)
    all_missing = np.bincount(row_codes, weights=bad, minlength=len(ids)) == np.diff(offsets)
    if all_missing.any():
        s = int(np.flatnonzero(all_missing)[0])
        raise ValueError(
            f"{role} column {name!r} is entirely missing in series {ids[s]!r}, so there is "
            "nothing to fill from; drop that series or that column."
        )
    return _fill(values, offsets, fill), bad


def _keep_longest_span(max_gap, step_alias, codes, t64, y, cov, offsets, counts, report, ids):
    """Trim each series to its longest stretch without a gap of more than ``max_gap`` steps."""
    if max_gap < 0:
        raise ValueError(f"max_gap must be >= 0 missing timesteps, got {max_gap}.")
    keep = np.zeros(len(t64), dtype=bool)
    for s in range(len(ids)):
        lo, hi = int(offsets[s]), int(offsets[s + 1])
        t = t64[lo:hi]
        if len(t) < 2:
            keep[lo:hi] = True
            continue
        pos = np.searchsorted(_grid(int(t[0]), int(t[-1]), *step_alias), t)
        breaks = np.flatnonzero(np.diff(pos) - 1 > max_gap) + 1  # first row of each new span
        bounds = np.concatenate([[0], breaks, [len(t)]])
        best = int(np.argmax(np.diff(bounds)))
        keep[lo + bounds[best] : lo + bounds[best + 1]] = True
    trimmed = ~keep
    if not trimmed.any():
        return codes, t64, y, cov, offsets
    per_series = np.bincount(codes[trimmed], minlength=len(ids))
    counts["rows_trimmed"] += per_series
    s = int(per_series.argmax())
    report.note(
        f"{int(trimmed.sum())} rows outside each series' longest span without a gap of more than "
        f"{max_gap} steps were trimmed (most in series {ids[s]!r}: {int(per_series[s])})"
    )
    codes, t64, y = codes[keep], t64[keep], y[keep]
    cov = {c: v[keep] for c, v in cov.items()}
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(np.bincount(codes, minlength=len(ids)))
    return codes, t64, y, cov, offsets
