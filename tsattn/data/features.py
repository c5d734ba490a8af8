"""Covariates for the networks: calendar encodings, lags and rolling windows, past and future apart.

Two kinds of covariates must never be mixed up, because :func:`tsattn.data.make_windows` shows
them to the network over different rows:

* **known-future** covariates (calendar features, planned prices, holidays) are functions of the
  timestamp or known in advance; they are gathered over lookback + horizon rows.
* **past-only** covariates (lags and rolling statistics of the target, observed covariates) are
  only known up to the present; they are gathered over the lookback rows alone.

:func:`build_features` returns the two groups apart, ready for ``make_windows(...,
past_covariates=, future_covariates=)``. Lags and rolling statistics at row ``t`` use rows ``<= t``
of the same series only, so a past-only covariate in a window never sees the window's horizon.
Per-series scaling lives in :mod:`tsattn.data.scaling`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

from tsattn.data.calendars import freq_offset
from tsattn.data.panel import Panel, check_is_panel
from tsattn.data.scaling import SeriesScaler
from tsattn.data.timestamps import parse_freq

__all__ = [
    "CALENDAR_FEATURES",
    "ROLLING_STATS",
    "FeatureSet",
    "build_features",
    "calendar_feature_names",
    "calendar_features",
    "lag_features",
    "rolling_features",
    "static_features",
]

ROLLING_STATS = ("mean", "std", "min", "max", "median", "sum")


# -- calendar features ---------------------------------------------------------------------

#: Calendar features in column order, each with the largest step (in days) at which it varies
#: in a useful way: hour of day only below daily data, day of week and month below weekly, ...
CALENDAR_FEATURES = (
    ("hour", 1.0),
    ("day_of_week", 7.0),
    ("day_of_month", 7.0),
    ("day_of_year", 28.0),
    ("month", 360.0),
)


def _step_days(freq: str) -> float:
    """Average step of a pandas frequency alias in days (calendar offsets included)."""
    offset = freq_offset(parse_freq(freq, is_datetime=True)[1])
    start = offset.rollforward(pd.Timestamp("2001-01-01"))
    return (start + 12 * offset - start) / pd.Timedelta(days=12)


def calendar_feature_names(freq: str | int | None) -> list[str]:
    """Names of the columns :func:`calendar_features` returns at ``freq``.

    Each feature gives a ``_sin`` and a ``_cos`` column. Hour of day appears only for sub-daily
    data, day of week and day of month below weekly, day of year below monthly and month below
    yearly; an integer (or no) frequency has no calendar, hence no names.
    """
    if freq is None or isinstance(freq, int | np.integer):
        return []
    step = _step_days(freq)
    return [
        f"{name}_{f}" for name, limit in CALENDAR_FEATURES if step < limit for f in ("sin", "cos")
    ]


def calendar_features(
    time: np.ndarray | pd.DatetimeIndex, freq: str | int | None, *, tz: str | None = None
) -> np.ndarray:
    """Sin/cos encodings of the calendar position of each timestamp.

    A function of the timestamps alone, so it serves as a known-future covariate: compute it
    for the forecast timestamps exactly as for the history.

    Parameters
    ----------
    time : numpy.ndarray or pandas.DatetimeIndex
        ``(N,)`` timestamps (``Panel.time``: ``datetime64`` in UTC when the input had a
        timezone) or an integer time index, which has no calendar.
    freq : str or int or None
        Frequency of the data (``Panel.freq``); it selects the features, see
        :func:`calendar_feature_names`.
    tz : str, optional
        Timezone to read naive ``time`` in, after taking it as UTC (``Panel.tz``), so that hour
        and day follow local wall-clock time. An aware ``DatetimeIndex`` is read in its own zone.

    Returns
    -------
    numpy.ndarray
        ``(N, C)`` float32 in [-1, 1]; ``(N, 0)`` for an integer time index.

    Examples
    --------
    >>> import pandas as pd
    >>> time = pd.date_range("2024-01-01", periods=48, freq="h")  # or panel.time, panel.freq
    >>> calendar_features(time, "h").shape, calendar_feature_names("h")[:4]
    ((48, 10), ['hour_sin', 'hour_cos', 'day_of_week_sin', 'day_of_week_cos'])
    """
    is_datetime = isinstance(time, pd.DatetimeIndex) or np.issubdtype(
        np.asarray(time).dtype, np.datetime64
    )
    if not is_datetime:
        if isinstance(freq, str):
            raise TypeError(
                f"time holds {np.asarray(time).dtype} values, not datetimes, but freq={freq!r} is "
                "a calendar frequency; pass datetime64 timestamps or an integer freq."
            )
        return np.zeros((len(time), 0), dtype=np.float32)
    if not isinstance(freq, str):
        raise TypeError(
            f"freq must be a pandas alias such as 'h' or 'D' for datetime timestamps, got "
            f"{freq!r}; pass panel.freq."
        )
    names = [name for name, limit in CALENDAR_FEATURES if _step_days(freq) < limit]
    out = np.empty((len(time), 2 * len(names)), dtype=np.float32)  # (N, 2F)
    if names:
        for lo in range(0, len(time), _CHUNK):  # chunks bound the float64 temporaries
            out[lo : lo + _CHUNK] = _calendar_rows(time[lo : lo + _CHUNK], names, tz)
    return out


_CHUNK = 1 << 18


def _calendar_rows(time, names: list[str], tz: str | None) -> np.ndarray:
    """``(n, 2F)`` sin / cos of the named cycles, for one chunk of timestamps."""
    index = pd.DatetimeIndex(time)
    if tz is not None:
        index = index.tz_localize("UTC") if index.tz is None else index
        index = index.tz_convert(tz)
    hour = index.hour + index.minute / 60 + index.second / 3600
    phases = {  # fraction of each cycle, in [0, 1)
        "hour": lambda: hour / 24,
        "day_of_week": lambda: index.day_of_week / 7,
        "day_of_month": lambda: (index.day - 1) / index.days_in_month,
        "day_of_year": lambda: (index.day_of_year - 1) / (365 + index.is_leap_year),
        "month": lambda: (index.month - 1) / 12,
    }
    angle = 2 * np.pi * np.stack([np.asarray(phases[n](), dtype=np.float64) for n in names], 1)
    out = np.stack([np.sin(angle), np.cos(angle)], axis=2)  # (n, F, 2): sin, cos per feature
    return out.reshape(len(index), -1)  # (n, 2F)


# -- lags and rolling windows -------------------------------------------------------------------


def _series_start(offsets: np.ndarray, n_rows: int) -> np.ndarray:
    """``(N,)`` first row of the series each row belongs to."""
    offsets = np.asarray(offsets, dtype=np.int64)
    if offsets.ndim != 1 or len(offsets) < 2 or offsets[0] != 0 or offsets[-1] != n_rows:
        raise ValueError(
            f"offsets must run from 0 to the number of rows ({n_rows}); pass panel.offsets."
        )
    if (np.diff(offsets) < 0).any():
        raise ValueError("offsets must be non-decreasing; pass panel.offsets.")
    return np.repeat(offsets[:-1], np.diff(offsets))


def _positive_ints(values: Sequence[int], what: str) -> list[int]:
    values = list(values)
    if not values or any(
        not isinstance(v, int | np.integer) or isinstance(v, bool) or v < 1 for v in values
    ):
        raise ValueError(f"{what} must be a non-empty sequence of positive integers, got {values}.")
    return [int(v) for v in values]


def lag_features(values: np.ndarray, offsets: np.ndarray, lags: Sequence[int]) -> np.ndarray:
    """Lagged copies of a column, per series: column ``j`` at row ``t`` is row ``t - lags[j]``.

    A lag never reaches into the previous series: the first ``lag`` rows of each series, which
    have no value that far back, take the series' first value (so they stay finite and use no
    row after ``t``).

    Parameters
    ----------
    values : numpy.ndarray
        ``(N,)`` column, rows grouped by series (e.g. ``panel.target``).
    offsets : numpy.ndarray
        ``(S + 1,)`` series row offsets (``panel.offsets``).
    lags : sequence of int
        Positive lags, in timesteps.

    Returns
    -------
    numpy.ndarray
        ``(N, len(lags))`` float32.
    """
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"values must be one (N,) column, got shape {values.shape}.")
    lags = _positive_ints(lags, "lags")
    start = _series_start(offsets, len(values))  # (N,)
    rows = np.arange(len(values))[:, None] - np.asarray(lags)[None, :]  # (N, n_lags)
    return values[np.maximum(rows, start[:, None])].astype(np.float32)  # (N, n_lags)


class _TrailingWindow(BaseIndexer):
    """Rows ``[max(t - window_size + 1, series start), t]`` for every row ``t``."""

    def get_window_bounds(
        self,
        num_values: int = 0,
        min_periods: int | None = None,
        center: bool | None = None,
        closed: str | None = None,
        step: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        t = np.arange(num_values, dtype=np.int64)
        return np.maximum(t - self.window_size + 1, self.series_start), t + 1


def rolling_features(
    values: np.ndarray,
    offsets: np.ndarray,
    windows: Sequence[int],
    stats: Sequence[str] = ("mean", "std"),
) -> np.ndarray:
    """Trailing rolling statistics of a column, per series, over rows ``<= t`` only.

    A window never reaches into the previous series: the first ``window - 1`` rows of each
    series use the rows available so far (an expanding window of 1, 2, ... rows), so the first
    row's mean is its own value and its std is 0. ``std`` is the population std (``ddof=0``).

    Parameters
    ----------
    values : numpy.ndarray
        ``(N,)`` column, rows grouped by series (e.g. ``panel.target``).
    offsets : numpy.ndarray
        ``(S + 1,)`` series row offsets (``panel.offsets``).
    windows : sequence of int
        Window lengths in timesteps (each including row ``t`` itself).
    stats : sequence of str
        Statistics from ``ROLLING_STATS``: mean, std, min, max, median, sum.

    Returns
    -------
    numpy.ndarray
        ``(N, len(windows) * len(stats))`` float32, window-major: all stats of ``windows[0]``,
        then of ``windows[1]``, ... (the order of :func:`build_features` names).
    """
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"values must be one (N,) column, got shape {values.shape}.")
    windows = _positive_ints(windows, "windows")
    stats = [stats] if isinstance(stats, str) else list(stats)
    unknown = [s for s in stats if s not in ROLLING_STATS]
    if not stats or unknown:
        raise ValueError(f"stats must name some of {ROLLING_STATS}, got {stats}.")
    start = _series_start(offsets, len(values))
    column = pd.Series(values, dtype=np.float64)
    out = []
    for window in windows:
        # one pass over all series: the indexer clips each window at its series' first row
        rolling = column.rolling(
            _TrailingWindow(window_size=window, series_start=start), min_periods=1
        )
        for stat in stats:
            result = rolling.std(ddof=0) if stat == "std" else getattr(rolling, stat)()
            out.append(result.to_numpy())
    return np.stack(out, axis=1).astype(np.float32)  # (N, n_windows * n_stats)


# -- the two groups of covariates ----------------------------------------------------------------


class FeatureSet(NamedTuple):
    """Past-only and known-future covariates, row-aligned with the panel.

    ``past`` ``(N, Cp)`` and ``future`` ``(N, Cf)`` float32 arrays (None when empty) go to
    ``make_windows(panel, ..., past_covariates=past, future_covariates=future)``;
    ``past_names`` / ``future_names`` name their columns.
    """

    past: np.ndarray | None
    future: np.ndarray | None
    past_names: list[str]
    future_names: list[str]


def _check_covariates(
    panel: Panel, past: Sequence[str], future: Sequence[str]
) -> tuple[list[str], list[str]]:
    """``past`` and ``future`` as lists of covariates of ``panel``, none of them in both."""
    check_is_panel(panel)
    past = [past] if isinstance(past, str) else list(past)
    future = [future] if isinstance(future, str) else list(future)
    unknown = [c for c in (*past, *future) if c not in panel.covariates]
    if unknown:
        raise ValueError(
            f"covariates {unknown} are not in the panel; available: {panel.covariate_names}."
        )
    both = sorted(set(past) & set(future))
    if both:
        raise ValueError(
            f"covariates {both} are listed as both past and future; a known-future covariate is "
            "seen over the lookback too, so list it under future only."
        )
    return past, future


def _inputs(panel: Panel, scaler: SeriesScaler | None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """``(N,)`` target and ``(N,)`` covariate columns by name, scaled where ``scaler`` scales them."""
    target, covariates = panel.target, dict(panel.covariates)
    if scaler is not None:
        scaled = scaler.transform(panel)
        target = scaled.target
        for k, name in enumerate(scaler.covariate_names_):
            covariates[name] = scaled.covariates[:, k]
    return target, covariates


def _stack(columns: list[np.ndarray]) -> np.ndarray | None:
    """Columns ``(N, k)`` side by side as one ``(N, C)`` float32 array; None when ``C`` is 0."""
    columns = [c for c in columns if c.shape[1]]
    if not columns:
        return None
    if len(columns) == 1:  # e.g. calendar features only: no second (N, C) copy
        return np.ascontiguousarray(columns[0], dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(columns, axis=1), dtype=np.float32)  # (N, C)


def build_features(
    panel: Panel,
    *,
    past: Sequence[str] = (),
    future: Sequence[str] = (),
    calendar: bool = True,
    lags: Sequence[int] = (),
    rolling: Sequence[int] = (),
    rolling_stats: Sequence[str] = ("mean", "std"),
    scaler: SeriesScaler | None = None,
) -> FeatureSet:
    """Assemble past-only and known-future covariates, kept apart.

    Past-only: the ``past`` covariate columns, then target lags, then rolling statistics of the
    target (see :func:`lag_features`, :func:`rolling_features`). Known-future: the ``future``
    covariate columns, then calendar features (see :func:`calendar_features`).

    Parameters
    ----------
    panel : Panel
        Validated data.
    past : sequence of str
        Covariates observed only up to the present (e.g. measured temperature).
    future : sequence of str
        Covariates known in advance for the forecast timestamps (e.g. planned promotions).
    calendar : bool
        Add calendar features (none for an integer time index).
    lags : sequence of int
        Target lags to add, named ``'{target}_lag_{k}'``.
    rolling : sequence of int
        Rolling-window lengths over the target, named ``'{target}_rolling_{stat}_{window}'``.
    rolling_stats : sequence of str
        Statistics of each rolling window.
    scaler : SeriesScaler, optional
        Fitted scaler; covariates it scales and the target behind lags and rolling statistics
        are then taken scaled, so they match the scaled target the network sees.

    Returns
    -------
    FeatureSet
        ``(past, future, past_names, future_names)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from tsattn.data import check_panel, make_windows
    >>> df = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=100, freq="D"),
    ...                    "y": np.arange(100.0), "promo": np.tile([0.0, 1.0], 50)})
    >>> panel = check_panel(df)
    >>> feats = build_features(panel, future=["promo"], lags=(1, 7), rolling=(7,))
    >>> feats.past_names
    ['y_lag_1', 'y_lag_7', 'y_rolling_mean_7', 'y_rolling_std_7']
    >>> windows = make_windows(panel, 14, 7, past_covariates=feats.past,
    ...                        future_covariates=feats.future)
    >>> batch = windows.gather([0])
    >>> tuple(batch.past_covariates.shape), tuple(batch.future_covariates.shape)
    ((1, 14, 4), (1, 21, 9))
    """
    past, future = _check_covariates(panel, past, future)
    target, covariates = _inputs(panel, scaler)
    past_columns = [covariates[c][:, None] for c in past]  # each (N, 1)
    past_names = list(past)
    name = panel.target_col
    if len(lags):
        lags = _positive_ints(lags, "lags")
        past_columns.append(lag_features(target, panel.offsets, lags))
        past_names += [f"{name}_lag_{k}" for k in lags]
    if len(rolling):
        windows = _positive_ints(rolling, "rolling")
        stats = [rolling_stats] if isinstance(rolling_stats, str) else list(rolling_stats)
        past_columns.append(rolling_features(target, panel.offsets, windows, stats))
        past_names += [f"{name}_rolling_{s}_{w}" for w in windows for s in stats]

    future_columns = [covariates[c][:, None] for c in future]
    future_names = list(future)
    if calendar:
        future_columns.append(calendar_features(panel.time, panel.freq, tz=panel.tz))
        future_names += calendar_feature_names(panel.freq)
    return FeatureSet(_stack(past_columns), _stack(future_columns), past_names, future_names)


def static_features(panel: Panel, names: Sequence[str]) -> np.ndarray:
    """``(S, Cs)`` values of the static covariates ``names``, checked constant within each series."""
    raw = np.stack([panel.covariates[c] for c in names], axis=1)  # (N, Cs)
    first = raw[panel.offsets[:-1]]  # (S, Cs)
    varies = np.flatnonzero((np.repeat(first, panel.lengths, axis=0) != raw).any(axis=1))
    if len(varies):
        row = int(varies[0])
        s = int(np.searchsorted(panel.offsets, row, side="right") - 1)
        raise ValueError(
            f"static covariates {list(names)} must be constant within a series, but series "
            f"{panel.ids[s]!r} changes at row {row - panel.offsets[s]}; pass such columns as "
            "past_covariates or future_covariates instead."
        )
    return first
