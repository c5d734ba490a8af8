"""Features for the networks: per-series scalers, calendar encodings, lags and rolling windows.

Two kinds of covariates must never be mixed up, because :func:`tsattn.data.make_windows` shows
them to the network over different rows:

* **known-future** covariates (calendar features, planned prices, holidays) are functions of the
  timestamp or known in advance; they are gathered over lookback + horizon rows.
* **past-only** covariates (lags and rolling statistics of the target, observed covariates) are
  only known up to the present; they are gathered over the lookback rows alone.

:func:`build_features` returns the two groups apart, ready for ``make_windows(...,
past_covariates=, future_covariates=)``. Lags and rolling statistics at row ``t`` use rows ``<= t``
of the same series only, so a past-only covariate in a window never sees the window's horizon.

Scalers learn per-series statistics from the training rows only (``fit(panel, bounds=split.train)``)
and keep them as plain numbers (:meth:`SeriesScaler.get_state`) so they persist as JSON, never
as a pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import torch
from pandas.api.indexers import BaseIndexer
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from tsattn.data.panel import Panel

__all__ = [
    "CALENDAR_FEATURES",
    "ROLLING_STATS",
    "SCALER_METHODS",
    "FeatureSet",
    "Scaled",
    "SeriesScaler",
    "build_features",
    "calendar_feature_names",
    "calendar_features",
    "lag_features",
    "rolling_features",
]

SCALER_METHODS = ("standard", "robust", "minmax")
ROLLING_STATS = ("mean", "std", "min", "max", "median", "sum")
_STATE_VERSION = 1
# A column counts as constant when its spread is below float32 resolution at its magnitude.
_CONSTANT_RTOL = 10 * float(np.finfo(np.float32).eps)

ScalerMethod = Literal["standard", "robust", "minmax"]


# -- scalers -----------------------------------------------------------------------------------


class Scaled(NamedTuple):
    """Scaled columns, row-aligned with the panel.

    ``target`` is ``(N,)`` float32; ``covariates`` is ``(N, C)`` float32 in the order of
    ``SeriesScaler.covariate_names_``, or None when the scaler scales no covariate.
    """

    target: np.ndarray
    covariates: np.ndarray | None


def _check_is_panel(panel: Any) -> None:
    if not isinstance(panel, Panel):
        raise TypeError(
            f"expected a Panel, got {type(panel).__name__}; validate the frame first with "
            "tsattn.data.check_panel(df)."
        )


def _rows_in(panel: Panel, bounds: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Global row numbers inside ``bounds`` and the series number of each (no loop over series)."""
    if bounds is None:
        bounds = np.stack([panel.offsets[:-1], panel.offsets[1:]], axis=1)  # (S, 2)
    if isinstance(bounds, tuple) and len(bounds) == 3 and hasattr(bounds, "train"):
        raise TypeError("bounds is a whole Split; pass one part of it, e.g. bounds=split.train.")
    bounds = np.asarray(bounds, dtype=np.int64)
    if bounds.shape != (panel.n_series, 2):
        raise ValueError(
            f"bounds must have shape ({panel.n_series}, 2) (one [begin, end) row range per "
            f"series), got {bounds.shape}; pass e.g. split.train from tsattn.data.splits."
        )
    if (bounds[:, 0] < panel.offsets[:-1]).any() or (bounds[:, 1] > panel.offsets[1:]).any():
        raise ValueError("bounds reach outside their series; build them with tsattn.data.splits.")
    lengths = bounds[:, 1] - bounds[:, 0]
    empty = np.flatnonzero(lengths <= 0)
    if len(empty):
        raise ValueError(
            f"{len(empty)} series have no rows inside bounds (first: {panel.ids[empty[0]]!r}), "
            "so there is nothing to fit their statistics on; give every series at least one "
            "training row or drop those series."
        )
    series = np.repeat(np.arange(panel.n_series), lengths)  # (n,)
    first = np.cumsum(lengths) - lengths  # position of each series' first row in the selection
    rows = np.arange(lengths.sum()) + np.repeat(bounds[:, 0] - first, lengths)  # (n,)
    return rows, series


class SeriesScaler(TransformerMixin, BaseEstimator):
    """Scale the target (and covariates) of every series with statistics of its training rows.

    Parameters
    ----------
    method : {'standard', 'robust', 'minmax'} or None
        ``'standard'``: ``(x - mean) / std`` (population std, as sklearn's ``StandardScaler``);
        ``'robust'``: ``(x - median) / IQR`` (as sklearn's ``RobustScaler``);
        ``'minmax'``: ``(x - min) / (max - min)``, so training rows lie in [0, 1];
        ``None``: identity (the scaler still records the series, so pipelines stay uniform).
        A constant column (spread below float32 resolution) gets scale 1, so it maps to 0.
    covariates : sequence of str, optional
        Covariate columns to scale as well, each with its own per-series statistics. Default:
        every covariate of the panel passed to :meth:`fit`; ``()`` scales the target only.
    quantile_range : tuple of float
        Percentiles ``(q_min, q_max)`` whose difference is the robust scale.

    Attributes
    ----------
    ids_ : numpy.ndarray
        ``(S,)`` ids of the series with statistics; row ``i`` of ``center_`` / ``scale_``.
    covariate_names_ : list of str
        Scaled covariates, in column order.
    center_, scale_ : numpy.ndarray
        ``(S, 1 + C)`` float64 statistics; column 0 is the target, then ``covariate_names_``.

    Examples
    --------
    >>> import pandas as pd
    >>> from tsattn.data import check_panel, split_by_fraction
    >>> df = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=10, freq="D"),
    ...                    "y": [1.0, 2, 3, 4, 5, 6, 7, 8, 90, 100]})
    >>> panel = check_panel(df)
    >>> scaler = SeriesScaler().fit(panel, bounds=split_by_fraction(panel, lookback=2).train)
    >>> target, covariates = scaler.transform(panel)  # mean 4, std 2 of the first 7 rows
    >>> target[:3].tolist(), covariates
    ([-1.5, -1.0, -0.5], None)
    >>> scaler.inverse_transform(target[None, -2:], [0])  # (B, H) forecasts of series 0
    array([[ 90., 100.]], dtype=float32)
    """

    def __init__(
        self,
        method: ScalerMethod | None = "standard",
        *,
        covariates: Sequence[str] | None = None,
        quantile_range: tuple[float, float] = (25.0, 75.0),
    ) -> None:
        self.method = method
        self.covariates = covariates
        self.quantile_range = quantile_range

    # -- fitting ---------------------------------------------------------------------------

    def fit(self, panel: Panel, bounds: np.ndarray | None = None) -> SeriesScaler:
        """Learn per-series statistics from the rows inside ``bounds`` only.

        Parameters
        ----------
        panel : Panel
            Validated data (see :func:`tsattn.data.check_panel`).
        bounds : numpy.ndarray, optional
            ``(S, 2)`` global row ranges ``[begin, end)`` to learn from, typically
            ``split.train``; default: every row (only right when no row is held out).

        Returns
        -------
        SeriesScaler
            ``self``, fitted.
        """
        _check_is_panel(panel)
        names = self._covariate_names(panel)
        self.ids_ = np.asarray(panel.ids, dtype=object).copy()
        self.covariate_names_ = names
        self.center_, self.scale_ = self._statistics(panel, bounds, names)
        return self

    def add_series(
        self, panel: Panel, bounds: np.ndarray | None = None, *, overwrite: bool = False
    ) -> SeriesScaler:
        """Learn statistics for series that :meth:`fit` did not see, from their given history.

        A global model forecasting a new series scales it with statistics of the history
        supplied at prediction time. Series already known keep their training statistics
        unless ``overwrite=True``.

        Parameters
        ----------
        panel : Panel
            History of the series (it must hold the covariates in ``covariate_names_``).
        bounds : numpy.ndarray, optional
            ``(S, 2)`` row ranges of ``panel`` to learn from; default: every row.
        overwrite : bool
            Refit the statistics of series already known as well.

        Returns
        -------
        SeriesScaler
            ``self``, with the statistics of the new series appended.
        """
        check_is_fitted(self)
        _check_is_panel(panel)
        self._require_columns(panel)
        center, scale = self._statistics(panel, bounds, self.covariate_names_)
        known = pd.Index(self.ids_).get_indexer(np.asarray(panel.ids, dtype=object))  # (S,)
        new = known < 0
        if overwrite:
            self.center_[known[~new]] = center[~new]
            self.scale_[known[~new]] = scale[~new]
        self.ids_ = np.concatenate([self.ids_, np.asarray(panel.ids, dtype=object)[new]])
        self.center_ = np.concatenate([self.center_, center[new]])
        self.scale_ = np.concatenate([self.scale_, scale[new]])
        return self

    def _covariate_names(self, panel: Panel) -> list[str]:
        if self.covariates is None:
            return list(panel.covariate_names)
        if isinstance(self.covariates, str):
            raise TypeError(
                f"covariates must be a sequence of column names, got the string "
                f"{self.covariates!r}; pass [{self.covariates!r}]."
            )
        names = list(self.covariates)
        unknown = [c for c in names if c not in panel.covariates]
        if unknown:
            raise ValueError(
                f"covariates {unknown} are not in the panel; available: {panel.covariate_names}."
            )
        return names

    def _require_columns(self, panel: Panel) -> None:
        missing = [c for c in self.covariate_names_ if c not in panel.covariates]
        if missing:
            raise ValueError(
                f"the panel lacks covariates {missing} that the scaler was fitted on; "
                f"it has {panel.covariate_names}. Pass a panel with the same covariate columns."
            )

    def _statistics(
        self, panel: Panel, bounds: np.ndarray | None, names: list[str]
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(S, 1 + C)`` centre and scale of every series, from the rows inside ``bounds``."""
        if self.method is not None and self.method not in SCALER_METHODS:
            raise ValueError(
                f"Unknown scaling method {self.method!r}; expected None or one of {SCALER_METHODS}."
            )
        q_min, q_max = self.quantile_range
        if not 0 <= q_min < q_max <= 100:
            raise ValueError(
                f"quantile_range must satisfy 0 <= q_min < q_max <= 100, got {self.quantile_range}."
            )
        rows, series = _rows_in(panel, bounds)
        n_columns = 1 + len(names)
        if self.method is None:
            return np.zeros((panel.n_series, n_columns)), np.ones((panel.n_series, n_columns))
        columns = [panel.target, *(panel.covariates[c] for c in names)]
        values = pd.DataFrame(
            {k: col[rows].astype(np.float64) for k, col in enumerate(columns)}
        )  # (n, 1 + C)
        groups = values.groupby(series, sort=True)
        low, high = groups.min().to_numpy(), groups.max().to_numpy()  # (S, 1 + C)
        if self.method == "standard":
            center, scale = groups.mean().to_numpy(), groups.std(ddof=0).to_numpy()
        elif self.method == "robust":
            center = groups.median().to_numpy()
            upper = groups.quantile(q_max / 100).to_numpy()
            scale = upper - groups.quantile(q_min / 100).to_numpy()
        else:
            center, scale = low, high - low
        magnitude = np.maximum(np.abs(low), np.abs(high))
        scale = np.where(scale <= _CONSTANT_RTOL * magnitude, 1.0, scale)
        return center, scale

    # -- applying --------------------------------------------------------------------------

    def series_numbers(self, ids: Sequence[Any] | np.ndarray) -> np.ndarray:
        """Rows of ``center_`` / ``scale_`` for series ``ids`` (e.g. ``panel.ids``).

        Raises
        ------
        ValueError
            When an id has no statistics; :meth:`add_series` learns them.
        """
        check_is_fitted(self)
        ids = np.asarray(ids, dtype=object)
        found = pd.Index(self.ids_).get_indexer(ids)  # (S,)
        if (found < 0).any():
            unseen = list(ids[found < 0][:5])
            raise ValueError(
                f"{int((found < 0).sum())} series have no scaling statistics (first: {unseen}); "
                "call scaler.add_series(panel) with their history first, or fit on them."
            )
        return found.astype(np.int64)

    def transform(self, panel: Panel) -> Scaled:
        """Scale the panel's target and the fitted covariates, series by series.

        Parameters
        ----------
        panel : Panel
            Data whose series all have statistics (fitted or added with :meth:`add_series`).

        Returns
        -------
        Scaled
            ``target`` ``(N,)`` and ``covariates`` ``(N, C)`` (or None), float32, row-aligned.
        """
        check_is_fitted(self)
        _check_is_panel(panel)
        self._require_columns(panel)
        stats = np.repeat(self.series_numbers(panel.ids), panel.lengths)  # (N,)
        center, scale = self.center_[stats], self.scale_[stats]  # (N, 1 + C)
        target = ((panel.target - center[:, 0]) / scale[:, 0]).astype(np.float32)
        if not self.covariate_names_:
            return Scaled(target, None)
        raw = np.stack([panel.covariates[c] for c in self.covariate_names_], axis=1)  # (N, C)
        covariates = ((raw - center[:, 1:]) / scale[:, 1:]).astype(np.float32)
        return Scaled(target, covariates)

    def inverse_transform(
        self, values: np.ndarray | torch.Tensor, series: np.ndarray | torch.Tensor
    ) -> np.ndarray | torch.Tensor:
        """Map scaled target values (e.g. forecasts) back to the original units.

        Parameters
        ----------
        values : numpy.ndarray or torch.Tensor
            ``(B, ...)`` scaled target values, e.g. forecasts ``(B, H)`` or ``(B, H, Q)``.
        series : numpy.ndarray or torch.Tensor
            ``(B,)`` row of each value's statistics (``Batch.series`` when the scaler was fitted
            on the batch's panel; otherwise ``scaler.series_numbers(panel.ids)[batch.series]``).

        Returns
        -------
        numpy.ndarray or torch.Tensor
            Same type, shape and (for tensors) device as ``values``.
        """
        check_is_fitted(self)
        index = series.cpu().numpy() if isinstance(series, torch.Tensor) else np.asarray(series)
        if index.ndim != 1 or len(index) != len(values):
            raise ValueError(
                f"series must be a (B,) array with one entry per row of values; got shape "
                f"{index.shape} for values of shape {tuple(values.shape)}."
            )
        if not np.issubdtype(index.dtype, np.integer):
            raise TypeError(
                f"series must hold integer series numbers, got dtype {index.dtype}; map ids "
                "with scaler.series_numbers(ids)."
            )
        if index.size and (index.min() < 0 or index.max() >= len(self.ids_)):
            raise ValueError(
                f"series numbers must lie in [0, {len(self.ids_)}), got "
                f"[{index.min()}, {index.max()}]."
            )
        shape = (len(index),) + (1,) * (values.ndim - 1)  # broadcast over H (and Q)
        center = self.center_[index, 0].reshape(shape)
        scale = self.scale_[index, 0].reshape(shape)
        if isinstance(values, torch.Tensor):
            as_tensor = {"dtype": values.dtype, "device": values.device}
            return values * torch.as_tensor(scale, **as_tensor) + torch.as_tensor(
                center, **as_tensor
            )
        values = np.asarray(values)
        dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float64
        return (values * scale + center).astype(dtype, copy=False)

    # -- persistence -------------------------------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        """Parameters and statistics as plain lists and numbers, for ``json.dumps``.

        Raises
        ------
        TypeError
            When a series id is not a str, int, float or bool and so has no JSON form.
        """
        check_is_fitted(self)
        ids = [i.item() if isinstance(i, np.generic) else i for i in self.ids_]
        bad = [i for i in ids if not isinstance(i, str | int | float | bool)]
        if bad:
            raise TypeError(
                f"series id {bad[0]!r} ({type(bad[0]).__name__}) has no JSON form; use str or "
                "int ids (e.g. df[id_col].astype(str)) before check_panel."
            )
        return {
            "version": _STATE_VERSION,
            "params": {
                "method": self.method,
                "covariates": None if self.covariates is None else list(self.covariates),
                "quantile_range": [float(q) for q in self.quantile_range],
            },
            "ids": ids,
            "covariate_names": list(self.covariate_names_),
            "center": self.center_.tolist(),
            "scale": self.scale_.tolist(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> SeriesScaler:
        """Rebuild a fitted scaler from :meth:`get_state` output (e.g. after ``json.loads``)."""
        expected = {"version", "params", "ids", "covariate_names", "center", "scale"}
        if not isinstance(state, dict) or set(state) != expected:
            keys = sorted(state) if isinstance(state, dict) else type(state).__name__
            raise ValueError(
                f"not a SeriesScaler state: expected keys {sorted(expected)}, got {keys}; "
                "pass the dict returned by SeriesScaler.get_state()."
            )
        if state["version"] != _STATE_VERSION:
            raise ValueError(
                f"SeriesScaler state version {state['version']!r} is not supported (this "
                f"tsattn reads version {_STATE_VERSION}); refit the scaler."
            )
        params = state["params"]
        covariates = params["covariates"]
        scaler = cls(
            params["method"],
            covariates=None if covariates is None else tuple(covariates),
            quantile_range=tuple(params["quantile_range"]),
        )
        n_columns = 1 + len(state["covariate_names"])
        center = np.asarray(state["center"], dtype=np.float64).reshape(-1, n_columns)
        scale = np.asarray(state["scale"], dtype=np.float64).reshape(-1, n_columns)
        if not len(center) == len(scale) == len(state["ids"]):
            raise ValueError(
                f"inconsistent SeriesScaler state: {len(state['ids'])} ids but "
                f"{len(center)} / {len(scale)} rows of statistics."
            )
        ids = np.empty(len(state["ids"]), dtype=object)
        ids[:] = state["ids"]
        scaler.ids_ = ids
        scaler.covariate_names_ = list(state["covariate_names"])
        scaler.center_, scaler.scale_ = center, scale
        return scaler


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
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError as err:
        raise ValueError(
            f"freq={freq!r} is not a pandas frequency alias (e.g. 'h', 'D', 'W', 'MS')."
        ) from err
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
    index = pd.DatetimeIndex(time)
    if tz is not None:
        index = index.tz_localize("UTC") if index.tz is None else index
        index = index.tz_convert(tz)
    hour = index.hour + index.minute / 60 + index.second / 3600
    phases = {  # fraction of each cycle, in [0, 1)
        "hour": hour / 24,
        "day_of_week": index.day_of_week / 7,
        "day_of_month": (index.day - 1) / index.days_in_month,
        "day_of_year": (index.day_of_year - 1) / (365 + index.is_leap_year),
        "month": (index.month - 1) / 12,
    }
    names = [name for name, limit in CALENDAR_FEATURES if _step_days(freq) < limit]
    if not names:
        return np.zeros((len(index), 0), dtype=np.float32)
    angle = 2 * np.pi * np.stack([np.asarray(phases[n], dtype=np.float64) for n in names], 1)
    out = np.stack([np.sin(angle), np.cos(angle)], axis=2)  # (N, F, 2): sin, cos per feature
    return out.reshape(len(index), -1).astype(np.float32)  # (N, 2F)


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
    _check_is_panel(panel)
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
    target, covariates = panel.target, dict(panel.covariates)
    if scaler is not None:
        scaled = scaler.transform(panel)
        target = scaled.target
        for k, name in enumerate(scaler.covariate_names_):
            covariates[name] = scaled.covariates[:, k]

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

    def stack(columns: list[np.ndarray]) -> np.ndarray | None:
        columns = [c for c in columns if c.shape[1]]
        if not columns:
            return None
        return np.ascontiguousarray(np.concatenate(columns, axis=1), dtype=np.float32)  # (N, C)

    return FeatureSet(stack(past_columns), stack(future_columns), past_names, future_names)
