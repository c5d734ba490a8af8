"""Time columns: parsing, timezones, frequencies and regular grids.

Inside tsattn, datetimes are ``datetime64[ns]`` in UTC with the input's timezone kept beside
them (``Panel.tz``), and integer time indexes stay int64. :func:`local_time` is the one place
that turns stored times back into the user's wall-clock timestamps.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from tsattn.data.calendars import freq_offset, is_exchange

__all__ = [
    "DAY",
    "freq_label",
    "future_times",
    "grid_positions",
    "infer_freq",
    "local_time",
    "parse_freq",
    "parse_time",
    "season_length",
    "wall_time",
]

DAY = 86_400 * 10**9  # one day in nanoseconds
#: Aliases whose steps have a fixed length, so a grid is exact int64 arithmetic.
_FIXED = ("h", "min", "s", "D", "ms", "us", "ns")


def _fixed_step(alias: str | None) -> bool:
    """Whether a grid of this alias is ``first + k * step`` (integer time, '15min', 'h', 'D')."""
    return alias is None or alias[0].isdigit() or alias in _FIXED


def local_time(values: np.ndarray, tz: str | None) -> pd.DatetimeIndex:
    """Stored (UTC, naive) timestamps as the user's: in zone ``tz``, or naive when None."""
    index = pd.DatetimeIndex(values)
    return index.tz_localize("UTC").tz_convert(tz) if tz else index


def _utc_naive(col: pd.Series) -> np.ndarray:
    return col.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]")


def parse_time(
    col: pd.Series, time_col: str, time_format: str | None = None
) -> tuple[np.ndarray, str | None, bool]:
    """``(values, tz, is_datetime)``: int64 or UTC ``datetime64[ns]`` values, or a readable error.

    Strings are parsed with one format for the whole column: ``time_format`` (strftime
    codes), ISO 8601 by default, so ``01/02/2024`` is never guessed day- or month-first.
    ISO strings whose UTC offsets change within the column (``+01:00`` in winter, ``+02:00``
    in summer) are read in the first IANA zone whose rules give every one of those offsets.
    """
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
    values = col.to_numpy(dtype=object)
    if all(isinstance(v, str) for v in values):
        return parse_time(_parse_strings(col, time_col, time_format), time_col)
    return parse_time(_parse_objects(col, time_col), time_col)


#: A UTC offset after the clock time at the end of an ISO timestamp (not a date's "-01").
_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$"


def _parse_strings(col: pd.Series, time_col: str, time_format: str | None) -> pd.Series:
    """String timestamps parsed with one explicit format (ISO 8601 by default)."""
    fmt = time_format or "ISO8601"
    strings = col.astype(str).str.strip()
    offsets = strings.str.extract(_OFFSET, expand=False)
    has_offset = offsets.notna().to_numpy()
    if time_format is None and has_offset.any() and not has_offset.all():
        aware, naive = int(np.argmax(has_offset)), int(np.argmin(has_offset))
        raise ValueError(
            f"time column {time_col!r} mixes timestamps with a UTC offset (row {aware}: "
            f"{strings.iloc[aware]!r}) and without (row {naive}: {strings.iloc[naive]!r}); "
            "write all of them with an offset or none."
        )
    mixed = time_format is None and offsets[has_offset].nunique() > 1
    try:
        parsed = pd.to_datetime(strings, format=fmt, utc=mixed)
    except (ValueError, TypeError) as err:
        coerced = pd.to_datetime(strings, format=fmt, errors="coerce", utc=True)
        bad = coerced.isna().to_numpy()
        row = int(np.argmax(bad)) if bad.any() else 0
        expected = f"format {time_format!r}" if time_format else "ISO 8601 (e.g. 2024-01-31 13:00)"
        raise ValueError(
            f"time column {time_col!r} does not parse as {expected}: first offending value "
            f"{strings.iloc[row]!r} (row {row}). Pass time_format= with its strftime format, "
            "e.g. time_format='%d/%m/%Y %H:%M' for 31/01/2024 13:00."
        ) from err
    if mixed:
        return parsed.dt.tz_convert(_zone_for_offsets(parsed, offsets, time_col))
    return parsed


#: Regions tried first when naming the zone of changing UTC offsets (then the others).
_REGIONS = ("Europe/", "America/", "Asia/", "Australia/", "Pacific/", "Africa/", "Atlantic/")


def _zone_for_offsets(utc: pd.Series, offsets: pd.Series, time_col: str) -> str:
    """The first IANA zone whose UTC offset matches every row's, checked where offsets change."""
    from zoneinfo import available_timezones

    order = np.argsort(utc.to_numpy(), kind="stable")
    instants = pd.DatetimeIndex(utc.iloc[order])
    shift = _offset_minutes(offsets.iloc[order].to_numpy(dtype=object))  # (N,) minutes
    change = np.flatnonzero(np.r_[True, shift[1:] != shift[:-1]])  # first row of each run
    probe = np.unique(np.r_[change, np.maximum(change - 1, 0)])
    names = sorted(
        (z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "posix/"))),
        key=lambda z: (next((i for i, r in enumerate(_REGIONS) if z.startswith(r)), 99), z),
    )
    at = instants[probe]
    for name in names:
        local = at.tz_convert(name)
        got = (local.tz_localize(None) - at.tz_localize(None)).total_seconds() // 60
        if np.array_equal(got.to_numpy(), shift[probe]):
            return name
    raise ValueError(
        f"time column {time_col!r} has UTC offsets {sorted(set(offsets.dropna()))} that no "
        "timezone's rules explain; convert the timestamps to UTC or to one timezone first."
    )


def _offset_minutes(offsets: np.ndarray) -> np.ndarray:
    """``+01:00`` / ``-0530`` / ``Z`` as signed minutes."""
    out = np.zeros(len(offsets), dtype=np.int64)
    for i, text in enumerate(offsets):
        if text in (None, "Z") or (isinstance(text, float) and np.isnan(text)):
            continue
        digits = text[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) >= 4 else 0)
        out[i] = minutes if text[0] == "+" else -minutes
    return out


def _parse_objects(col: pd.Series, time_col: str) -> pd.Series:
    """Timestamp objects in an object column, parsed into one datetime column."""
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
    if is_exchange(freq):  # an exchange's sessions: a calendar step, kept under its code
        return 0, freq
    offset = freq_offset(freq)
    try:
        step = int(pd.Timedelta(offset).value)
    except ValueError:  # calendar offsets have no fixed length
        step = 0
    return step, offset.freqstr


def infer_freq(t: np.ndarray, is_datetime: bool, tz: str | None = None) -> tuple[int, str | None]:
    """``(step, alias)`` of one sorted, duplicate-free series (int64 times): its commonest step.

    With a timezone, steps of a day or more are read on the local wall clock, where a daily
    series is 24 hours apart also across DST changes.
    """
    if tz is not None:
        step, alias = infer_freq(t, is_datetime)
        return (
            infer_freq(wall_time(t, tz), is_datetime)
            if step >= DAY - 3600 * 10**9
            else (step, alias)
        )
    steps, counts = np.unique(np.diff(t), return_counts=True)
    step = int(steps[np.argmax(counts)])
    if not is_datetime:
        return step, None
    if step == DAY and len(steps) > 1:
        weekday = ((t // DAY) + 3) % 7  # 1970-01-01 was a Thursday: 0 = Monday
        if not (weekday >= 5).any():
            return step, "B"
    if step >= 28 * DAY:  # months, quarters, years: let pandas name the calendar rule
        alias = _pandas_infer_freq(pd.DatetimeIndex(t)) if len(t) >= 3 else None
        if alias:
            return step, alias
    if step % DAY == 0:  # pandas 3 names a fixed 24 hours '24h'; calendar days read better
        return step, "D" if step == DAY else f"{step // DAY}D"
    return step, pd.tseries.frequencies.to_offset(pd.Timedelta(step)).freqstr


def _pandas_infer_freq(index: pd.DatetimeIndex) -> str | None:
    """pandas' calendar-rule name of ``index`` (its string, in pandas 3 and later alike)."""
    with warnings.catch_warnings():  # pandas 3 announces an offset return value: take either
        warnings.simplefilter("ignore", getattr(pd.errors, "Pandas4Warning", FutureWarning))
        alias = pd.infer_freq(index)
    return getattr(alias, "freqstr", alias)


def freq_label(step: int, alias: str | None) -> str:
    """How a frequency reads in messages: the alias, or the integer step."""
    return repr(alias) if alias is not None else f"step {step}"


def wall_time(values: np.ndarray, tz: str | None) -> np.ndarray:
    """Stored (UTC) int64 times as naive local wall-clock int64 nanoseconds in zone ``tz``."""
    if tz is None:
        return values
    return local_time(values.view("datetime64[ns]"), tz).tz_localize(None).as_unit("ns").asi8


def in_wall_time(step: int, alias: str | None, tz: str | None) -> bool:
    """Whether a grid of this frequency is laid out in local wall time rather than in UTC.

    Calendar frequencies (days and longer, business days, months, ...) of timezone-aware data
    follow the clock on the wall: a daily series stays at local midnight across a DST change,
    when the UTC step is 23 or 25 hours. Sub-daily steps stay exact in UTC.
    """
    return tz is not None and alias is not None and (step == 0 or step % DAY == 0)


def grid_positions(
    time: np.ndarray, offsets: np.ndarray, step: int, alias: str | None, tz: str | None = None
) -> np.ndarray:
    """``(N,)`` int64 position of every row on its series' regular grid (0 at its first row).

    ``time`` is int64 (UTC nanoseconds for datetimes, else the integer index) sorted within
    each series ``offsets[s]:offsets[s + 1]``. A row off the grid gets position -1. Fixed steps
    are int64 arithmetic over all series at once (in place: two ``(N,)`` arrays at most);
    calendar steps ('B', 'MS', ...) take one ``date_range`` per distinct (first, last) pair.
    """
    wall = in_wall_time(step, alias, tz)
    t = wall_time(time, tz) if wall else time
    lengths = np.diff(offsets)
    nonempty = lengths > 0
    if _fixed_step(alias):
        pos = np.repeat(t[offsets[:-1][nonempty]], lengths[nonempty])  # (N,) first times
        np.subtract(t, pos, out=pos)  # (N,) time since each series' start
        off = (pos % step) != 0
        pos //= step
        pos[off] = -1
        return pos
    pos = np.empty(len(t), dtype=np.int64)
    grids: dict[tuple[int, int], np.ndarray] = {}
    for s in np.flatnonzero(nonempty):
        rows = slice(int(offsets[s]), int(offsets[s + 1]))
        key = (int(t[rows][0]), int(t[rows][-1]))
        if key not in grids:
            grid = pd.date_range(
                pd.Timestamp(key[0]), pd.Timestamp(key[1]), freq=freq_offset(alias)
            )
            grids[key] = grid.as_unit("ns").asi8
        grid = grids[key]
        i = np.minimum(np.searchsorted(grid, t[rows]), len(grid) - 1)
        pos[rows] = np.where(grid[i] == t[rows], i, -1)
    return pos


def missing_before(pos: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``(N,)`` timestamps missing just before each row, from grid positions (0 at a start)."""
    gap = np.zeros(len(pos), dtype=np.int64)
    np.subtract(pos[1:], pos[:-1], out=gap[1:])
    gap[1:] -= 1
    gap[offsets[:-1][np.diff(offsets) > 0]] = 0
    return gap


def grid_times(
    first: np.ndarray, positions: np.ndarray, step: int, alias: str | None, tz: str | None
) -> np.ndarray:
    """int64 times at grid ``positions`` counted from each ``first`` time (inverse of the above).

    ``first`` and ``positions`` are ``(M,)`` arrays; the result is ``(M,)`` int64 in the stored
    convention (UTC for datetimes).
    """
    wall = in_wall_time(step, alias, tz)
    t0 = wall_time(first, tz) if wall else first
    if _fixed_step(alias):
        out = t0 + positions.astype(np.int64) * step
    else:
        out = np.empty(len(t0), dtype=np.int64)
        for start in np.unique(t0):
            at = t0 == start
            grid = pd.date_range(
                pd.Timestamp(int(start)),
                periods=int(positions[at].max()) + 1,
                freq=freq_offset(alias),
            )
            grid = grid.as_unit("ns").asi8
            out[at] = grid[positions[at].astype(np.int64)]
    if not wall:
        return out
    local = pd.DatetimeIndex(out.view("datetime64[ns]")).tz_localize(
        tz, ambiguous=np.ones(len(out), dtype=bool), nonexistent="shift_forward"
    )
    return local.tz_convert("UTC").tz_localize(None).as_unit("ns").asi8


def future_times(
    last: np.ndarray, horizon: int, freq: str | int, tz: str | None = None
) -> np.ndarray:
    """``(S, H)`` timestamps (or integers) continuing each series after its ``last`` time.

    Calendar-aware: 'B' skips weekends, an exchange code such as 'XNYS' its holidays too
    (:mod:`tsattn.data.calendars`), 'MS' steps months, and with a timezone the steps are
    taken in local time and stored back in UTC.
    """
    if not np.issubdtype(last.dtype, np.datetime64):
        steps = np.arange(1, horizon + 1, dtype=np.int64) * int(freq)
        return last[:, None] + steps  # (S, H)
    out = np.empty((len(last), horizon), dtype="datetime64[ns]")
    offset = freq_offset(freq)
    for s, start in enumerate(local_time(last, tz)):  # one date_range per series
        grid = pd.date_range(start, periods=horizon + 1, freq=offset)[1:]
        if tz:
            grid = grid.tz_convert("UTC").tz_localize(None)
        out[s] = grid.as_unit("ns").to_numpy()
    return out


#: Season (steps per cycle) of calendar frequencies, by the alias's rule code.
_CALENDAR_SEASONS = {
    "D": 7,
    "B": 5,
    "C": 5,
    "W": 52,
    "MS": 12,
    "ME": 12,
    "SMS": 24,
    "SME": 24,
    "BMS": 12,
    "BME": 12,
    "QS": 4,
    "QE": 4,
    "BQS": 4,
    "BQE": 4,
}


def season_length(freq: str | int | None) -> int:
    """The natural season of a frequency in steps: the cycle its data most often repeat.

    Steps of a minute or more that divide a day: one day (hourly 24, 10-minute 144);
    daily 7 (a week), business-daily and exchange sessions ('XNYS') 5, weekly 52, monthly 12, quarterly 4. Anything else
    (yearly, '2D', '7h', an integer time index): 1, i.e. no season.

    Examples
    --------
    >>> season_length("h"), season_length("10min"), season_length("D"), season_length("MS")
    (24, 144, 7, 12)
    """
    if freq is None or not isinstance(freq, str):
        return 1
    if is_exchange(freq):  # trading days: a week of sessions
        return 5
    offset = freq_offset(freq)
    try:
        step = int(pd.Timedelta(offset).value)
    except ValueError:  # calendar offsets have no fixed length
        step = 0
    if 60 * 10**9 <= step < DAY:  # sub-minute data have no season this rule knows
        return DAY // step if DAY % step == 0 else 1
    if offset.n != 1:
        return 1
    code = offset.rule_code.split("-")[0]
    return _CALENDAR_SEASONS.get(code, 1)
