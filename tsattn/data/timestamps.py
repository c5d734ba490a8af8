"""Time columns: parsing, timezones, frequencies and regular grids.

Inside tsattn, datetimes are ``datetime64[ns]`` in UTC with the input's timezone kept beside
them (``Panel.tz``), and integer time indexes stay int64. :func:`local_time` is the one place
that turns stored times back into the user's wall-clock timestamps.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "DAY",
    "freq_label",
    "future_times",
    "infer_freq",
    "largest_gap",
    "local_time",
    "parse_freq",
    "parse_time",
    "regular_grid",
]

DAY = 86_400 * 10**9  # one day in nanoseconds
#: Aliases whose steps have a fixed length, so a grid is exact int64 arithmetic.
_FIXED = ("h", "min", "s", "D", "ms", "us", "ns")


def local_time(values: np.ndarray, tz: str | None) -> pd.DatetimeIndex:
    """Stored (UTC, naive) timestamps as the user's: in zone ``tz``, or naive when None."""
    index = pd.DatetimeIndex(values)
    return index.tz_localize("UTC").tz_convert(tz) if tz else index


def _utc_naive(col: pd.Series) -> np.ndarray:
    return col.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")


def parse_time(col: pd.Series, time_col: str) -> tuple[np.ndarray, str | None, bool]:
    """``(values, tz, is_datetime)``: int64 or UTC ``datetime64[ns]`` values, or a readable error."""
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
        return _utc_naive(col), str(col.dtype.tz), True
    if pd.api.types.is_datetime64_dtype(col.dtype):
        return col.to_numpy("datetime64[ns]"), None, True
    return parse_time(_parse_objects(col, time_col), time_col)


def _parse_objects(col: pd.Series, time_col: str) -> pd.Series:
    """Timestamps or strings in an object column, parsed into one datetime column."""
    values = col.to_numpy(dtype=object)
    aware = [getattr(v, "tzinfo", None) is not None for v in values if isinstance(v, pd.Timestamp)]
    if any(aware) and not all(aware):
        first_aware = next(
            i for i, v in enumerate(values) if getattr(v, "tzinfo", None) is not None
        )
        naive = next(i for i, v in enumerate(values) if getattr(v, "tzinfo", None) is None)
        raise ValueError(
            f"time column {time_col!r} mixes timezone-aware (row {first_aware}: "
            f"{values[first_aware]}) and naive (row {naive}: {values[naive]}) timestamps; "
            "localize all of them to one timezone (Series.dt.tz_localize) first."
        )
    zones = {str(v.tzinfo) for v in values if getattr(v, "tzinfo", None) is not None}
    if len(zones) > 1:
        raise ValueError(
            f"time column {time_col!r} mixes timezones {sorted(zones)}; convert them to one "
            "timezone (Series.dt.tz_convert) first."
        )
    try:
        parsed = pd.to_datetime(col, format="mixed")
    except (ValueError, TypeError) as err:
        coerced = pd.to_datetime(col, errors="coerce", format="mixed", utc=True)
        bad = coerced.isna() & col.notna()
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
    return parsed


def parse_freq(freq: str | int, is_datetime: bool, time_col: str = "ds") -> tuple[int, str | None]:
    """``(step, alias)`` of a given frequency: a pandas alias for datetimes, a step for integers.

    ``step`` is in nanoseconds for datetimes (0 for calendar offsets such as 'MS' or 'B', which
    have no fixed length) and in index units for integer time.
    """
    if not is_datetime:
        if isinstance(freq, bool) or not isinstance(freq, int | np.integer) or freq <= 0:
            raise ValueError(
                f"freq must be a positive integer step for integer {time_col!r}, got {freq!r}."
            )
        return int(freq), None
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
    except ValueError:  # calendar offsets have no fixed length
        step = 0
    return step, offset.freqstr


def infer_freq(t: np.ndarray, is_datetime: bool) -> tuple[int, str | None]:
    """``(step, alias)`` of one sorted, duplicate-free series (int64 times): its commonest step."""
    steps, counts = np.unique(np.diff(t), return_counts=True)
    step = int(steps[np.argmax(counts)])
    if not is_datetime:
        return step, None
    if step == DAY and len(steps) > 1:
        weekday = ((t // DAY) + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
        if not (weekday >= 5).any():
            return step, "B"
    if step >= 28 * DAY:  # months, quarters, years: let pandas name the calendar rule
        alias = pd.infer_freq(pd.DatetimeIndex(t)) if len(t) >= 3 else None
        if alias:
            return step, alias
    if step % DAY == 0:  # pandas 3 names a fixed 24 hours '24h'; calendar days read better
        return step, "D" if step == DAY else f"{step // DAY}D"
    return step, pd.tseries.frequencies.to_offset(pd.Timedelta(step)).freqstr


def freq_label(step: int, alias: str | None) -> str:
    """How a frequency reads in messages: the alias, or the integer step."""
    return repr(alias) if alias is not None else f"step {step}"


def regular_grid(t0: int, t1: int, step: int, alias: str | None) -> np.ndarray:
    """Regular int64 times from ``t0`` to ``t1`` inclusive (datetime64[ns] view or integers)."""
    if alias is None or alias[0].isdigit() or alias in _FIXED:
        return t0 + step * np.arange((t1 - t0) // step + 1, dtype=np.int64)  # exact in int64
    return pd.date_range(pd.Timestamp(t0), pd.Timestamp(t1), freq=alias).asi8


def largest_gap(t: np.ndarray, is_datetime: bool) -> str:
    """The largest step of one series' int64 times and where it starts, for messages."""
    d = np.diff(t)
    i = int(d.argmax())
    if is_datetime:
        return f"{pd.Timedelta(int(d[i]))} after {pd.Timestamp(int(t[i]))}"
    return f"{int(d[i])} after {int(t[i])}"


def future_times(
    last: np.ndarray, horizon: int, freq: str | int, tz: str | None = None
) -> np.ndarray:
    """``(S, H)`` timestamps (or integers) continuing each series after its ``last`` time.

    Calendar-aware: 'B' skips weekends, 'MS' steps months, and with a timezone the steps are
    taken in local time and stored back in UTC.
    """
    if not np.issubdtype(last.dtype, np.datetime64):
        steps = np.arange(1, horizon + 1, dtype=np.int64) * int(freq)
        return last[:, None] + steps  # (S, H)
    out = np.empty((len(last), horizon), dtype="datetime64[ns]")
    for s, start in enumerate(local_time(last, tz)):  # one date_range per series
        grid = pd.date_range(start, periods=horizon + 1, freq=freq)[1:]
        if tz:
            grid = grid.tz_convert("UTC").tz_localize(None)
        out[s] = grid.as_unit("ns").to_numpy()
    return out
