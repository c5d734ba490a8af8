"""The validated panel: many series as contiguous float32 columns plus per-series offsets.

After :func:`tsattn.data.check_panel` the data never lives as per-row or per-window Python
objects again: one contiguous ``float32`` array per value column, one time array, and
``offsets`` so that series ``s`` is rows ``offsets[s]:offsets[s + 1]``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from tsattn.data.timestamps import (
    future_times,
    grid_positions,
    local_time,
    missing_before,
    parse_freq,
)

__all__ = ["Panel", "ValidationReport", "check_is_panel"]

#: Per-series counters kept by the validation report, in display order.
COUNTS = (
    "rows_in",
    "reordered",
    "duplicates_removed",
    "out_of_bounds",
    "target_filled",
    "covariates_filled",
    "missing_timestamps",
    "rows_inserted",
    "rows_trimmed",
    "rows_out",
)


@dataclass
class ValidationReport:
    """Everything validation changed, counted per series, plus readable notes.

    Attributes
    ----------
    counts : pandas.DataFrame
        One row per input series (index: series id) and one column per counter in ``COUNTS``,
        plus ``dropped`` (bool) for series removed as too short.
    notes : list of str
        One line per problem found, each with its count (e.g. "7629 duplicate (id, ds) rows
        removed, keeping the first").
    freq : str or int or None
        The frequency that was inferred or given.
    """

    counts: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    freq: str | int | None = None

    @property
    def rows_in(self) -> int:
        return int(self.counts["rows_in"].sum())

    @property
    def rows_out(self) -> int:
        return int(self.counts["rows_out"].sum())

    def total(self, counter: str) -> int:
        """Sum of one counter over all series."""
        return int(self.counts[counter].sum())

    def note(self, message: str) -> None:
        self.notes.append(message)

    @property
    def clean(self) -> bool:
        """True when validation changed nothing: no row moved, removed, filled or inserted."""
        changed = [c for c in COUNTS if c not in ("rows_in", "rows_out")]
        return not self.notes and not self.counts[changed].to_numpy().any()

    def __str__(self) -> str:
        n = len(self.counts)
        head = (
            f"Validation report: {n} series, {self.rows_in} rows in, {self.rows_out} rows out, "
            f"frequency {self.freq!r}"
        )
        lines = [head] + [f"  - {note}" for note in self.notes]
        if len(lines) == 1:
            lines.append("  - no problems found; nothing was removed, filled or re-ordered")
        return "\n".join(lines)


@dataclass(frozen=True, eq=False)
class Panel:
    """Validated long-format data as contiguous arrays.

    Attributes
    ----------
    ids : numpy.ndarray
        ``(S,)`` series identifiers, in order of first appearance.
    offsets : numpy.ndarray
        ``(S + 1,)`` int64 row offsets; series ``s`` is rows ``offsets[s]:offsets[s + 1]``.
    time : numpy.ndarray
        ``(N,)`` ``datetime64[ns]`` (UTC when the input was timezone-aware, see ``tz``) or int64.
    target : numpy.ndarray
        ``(N,)`` contiguous float32 target values.
    covariates : dict of str to numpy.ndarray
        Column name to ``(N,)`` contiguous float32 values.
    freq : str or int
        Pandas offset alias (``"h"``, ``"D"``, ``"B"``, ...) or an integer step for integer time.
    tz : str or None
        Timezone of the input timestamps, restored by :meth:`to_pandas`.
    report : ValidationReport
        What validation changed.
    """

    ids: np.ndarray
    offsets: np.ndarray
    time: np.ndarray
    target: np.ndarray
    covariates: dict[str, np.ndarray]
    freq: str | int
    tz: str | None
    report: ValidationReport
    id_col: str = "unique_id"
    time_col: str = "ds"
    target_col: str = "y"
    #: derived arrays computed once per panel (``replace`` starts a new panel with an empty one)
    _cache: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def n_series(self) -> int:
        return len(self.ids)

    @property
    def n_rows(self) -> int:
        return len(self.target)

    @property
    def lengths(self) -> np.ndarray:
        """``(S,)`` number of timesteps per series."""
        return np.diff(self.offsets)

    @property
    def covariate_names(self) -> list[str]:
        return list(self.covariates)

    def rows(self, s: int) -> slice:
        """Row slice of series ``s`` in every column array."""
        return slice(int(self.offsets[s]), int(self.offsets[s + 1]))

    def values(self, columns: list[str] | None = None) -> np.ndarray:
        """``(N, F)`` float32 matrix: the target then the named covariates.

        With no covariates this is a zero-copy view of ``target``; otherwise one copy.
        """
        columns = [] if columns is None else list(columns)
        if not columns:
            return self.target[:, None]  # (N, 1) view
        return np.stack([self.target, *(self.covariates[c] for c in columns)], axis=1)  # (N, F)

    def slice_series(self, start: np.ndarray, stop: np.ndarray) -> Panel:
        """Local rows ``start[s]:stop[s]`` of every series ``s``, as a new (copied) panel."""
        start = np.asarray(start, dtype=np.int64)
        stop = np.asarray(stop, dtype=np.int64)
        lengths = stop - start  # (S,)
        rows = np.repeat(self.offsets[:-1] + start - np.cumsum(lengths) + lengths, lengths)
        rows += np.arange(lengths.sum())  # (N',) global rows, without a loop over series
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return replace(
            self,
            offsets=offsets,
            time=self.time[rows],
            target=self.target[rows],
            covariates={c: v[rows] for c, v in self.covariates.items()},
        )

    def series_index(self) -> np.ndarray:
        """``(N,)`` int64 series number of every row."""
        return np.repeat(np.arange(self.n_series), self.lengths)

    def timestamps(self) -> pd.Index:
        """Time column as a pandas index, with the input timezone restored."""
        if np.issubdtype(self.time.dtype, np.datetime64):
            return local_time(self.time, self.tz)
        return pd.Index(self.time)

    def cut(self, ends: np.ndarray) -> Panel:
        """Each series up to (not including) its local row ``ends[s]``: the history at an origin."""
        return self.slice_series(np.zeros(self.n_series, dtype=np.int64), ends)

    def tail(self, length: int | None) -> Panel:
        """The last ``length`` rows of every series (all rows when None)."""
        keep = self.lengths if length is None else np.minimum(self.lengths, length)
        return self.slice_series(self.lengths - keep, self.lengths)

    def future_times(self, horizon: int) -> np.ndarray:
        """``(S, H)`` timestamps (or integers) of the ``horizon`` steps after every series.

        Computed once per panel and horizon (calendar frequencies take one ``date_range`` per
        series); treat the result as read-only.
        """
        key = ("future_times", horizon)
        if key not in self._cache:
            last = self.time[self.offsets[1:] - 1]
            self._cache[key] = future_times(last, horizon, self.freq, self.tz)
        return self._cache[key]

    def future_timestamps(self, horizon: int) -> pd.Index:
        """:meth:`future_times` as the user reads them: ``S * H`` values, series-major."""
        times = self.future_times(horizon).ravel()
        if np.issubdtype(times.dtype, np.datetime64):
            return local_time(times, self.tz)
        return pd.Index(times)

    def missing_before(self) -> np.ndarray:
        """``(N,)`` int64 number of timestamps missing just before each row (0 at a series' start).

        A row with a positive count starts a new gap-free stretch: no window may span it.
        Computed once per panel; treat the result as read-only.
        """
        if "missing_before" not in self._cache:
            datetime = np.issubdtype(self.time.dtype, np.datetime64)
            step = parse_freq(self.freq, datetime, self.time_col)
            pos = grid_positions(self.time.view(np.int64), self.offsets, *step, self.tz)
            self._cache["missing_before"] = missing_before(pos, self.offsets)
        return self._cache["missing_before"]

    def since_last_gap(self) -> Panel:
        """Every series from its last gap on: the stretch a forecast continues."""
        missing = self.missing_before()
        start = np.zeros(self.n_series, dtype=np.int64)
        rows = np.flatnonzero(missing > 0)
        if not len(rows):
            return self
        series = self.series_index()[rows]
        np.maximum.at(start, series, rows - self.offsets[series])
        return self.slice_series(start, self.lengths)

    def stretches(self, bounds: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Gap-free row ranges inside ``bounds``: ``(K, 2)`` ``[begin, end)`` and ``(K,)`` series.

        ``bounds`` is ``(S, 2)`` as for :meth:`row_ranges` (default: whole series); each range
        is cut at every row that follows missing timestamps.
        """
        bounds = self.row_ranges(bounds)
        cuts = np.flatnonzero(self.missing_before() > 0)  # rows that start a stretch
        if not len(cuts):
            return bounds, np.arange(self.n_series)
        lo = np.searchsorted(cuts, bounds[:, 0], side="right")  # (S,) first cut inside
        hi = np.searchsorted(cuts, bounds[:, 1], side="left")  # (S,) one past the last
        pieces = np.maximum(hi - lo, 0) + 1  # (S,) stretches per range
        series = np.repeat(np.arange(self.n_series), pieces)  # (K,)
        first = np.cumsum(pieces) - pieces  # (S,) index of each range's first stretch
        k = np.arange(len(series)) - first[series]  # (K,) stretch number within its range
        inner = lo[series] + k  # (K,) cuts[inner - 1] opens stretch k, cuts[inner] closes it
        begin = np.where(k == 0, bounds[series, 0], cuts[np.clip(inner - 1, 0, len(cuts) - 1)])
        last = k == pieces[series] - 1
        end = np.where(last, bounds[series, 1], cuts[np.clip(inner, 0, len(cuts) - 1)])
        return np.stack([begin, end], axis=1).astype(np.int64), series

    def row_ranges(self, bounds: np.ndarray | None = None) -> np.ndarray:
        """``(S, 2)`` global ``[begin, end)`` rows per series, checked to lie inside each series.

        ``None`` means whole series. The one check of the row ranges that splits produce and
        windows and scalers take.
        """
        if bounds is None:
            return np.stack([self.offsets[:-1], self.offsets[1:]], axis=1)  # (S, 2)
        if isinstance(bounds, tuple) and len(bounds) == 3 and hasattr(bounds, "train"):
            raise TypeError(
                "bounds is a whole Split; pass one part of it, e.g. bounds=split.train."
            )
        bounds = np.asarray(bounds, dtype=np.int64)
        if bounds.shape != (self.n_series, 2):
            raise ValueError(
                f"bounds must have shape ({self.n_series}, 2) (one [begin, end) row range per "
                f"series), got {bounds.shape}; pass e.g. split.train from tsattn.data.splits."
            )
        if (bounds[:, 0] < self.offsets[:-1]).any() or (bounds[:, 1] > self.offsets[1:]).any():
            raise ValueError(
                "bounds reach outside their series; build them with tsattn.data.splits."
            )
        return bounds

    def extend(self, times: np.ndarray, future: dict[str, np.ndarray] | None = None) -> Panel:
        """The panel with ``H`` rows appended to every series at ``times`` ``(S, H)``.

        The appended target is NaN; covariates named in ``future`` take its ``(S, H)`` values
        there, the others NaN. This is the history plus the forecast rows a network reads
        known-future inputs from.
        """
        n_series, horizon = times.shape
        future = future or {}
        shift = np.arange(n_series) * horizon  # (S,)
        hist_pos = np.arange(self.n_rows) + np.repeat(shift, self.lengths)  # (N,)
        fut_pos = ((self.offsets[1:] + shift)[:, None] + np.arange(horizon)).ravel()  # (S * H,)
        n = self.n_rows + n_series * horizon

        def place(history: np.ndarray, ahead: np.ndarray | None) -> np.ndarray:
            out = np.full(n, np.nan, dtype=history.dtype)
            out[hist_pos] = history
            if ahead is not None:
                out[fut_pos] = ahead.ravel()
            return out

        time = np.empty(n, dtype=self.time.dtype)
        time[hist_pos], time[fut_pos] = self.time, times.ravel()
        return replace(
            self,
            offsets=self.offsets + np.arange(n_series + 1) * horizon,
            time=time,
            target=place(self.target, None),
            covariates={c: place(v, future.get(c)) for c, v in self.covariates.items()},
            report=ValidationReport(counts=self.report.counts),
        )

    def to_pandas(self) -> pd.DataFrame:
        """Long frame ``[id_col, time_col, target_col, *covariates]``."""
        data = {
            self.id_col: np.repeat(self.ids, self.lengths),
            self.time_col: self.timestamps(),
            self.target_col: self.target,
        }
        data.update(self.covariates)
        return pd.DataFrame(data)


def check_is_panel(panel: object) -> None:
    """Raise a ``TypeError`` unless ``panel`` is a :class:`Panel`, saying how to make one."""
    if not isinstance(panel, Panel):
        raise TypeError(
            f"expected a Panel, got {type(panel).__name__}; validate the frame first with "
            "tsattn.data.check_panel(df)."
        )
