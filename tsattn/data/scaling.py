"""Per-series scaling of the target and covariates, and its inverse for forecasts.

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
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from tsattn.data.panel import Panel, check_is_panel

__all__ = ["SCALER_METHODS", "Scaled", "SeriesScaler"]

SCALER_METHODS = ("standard", "robust", "minmax")
_STATE_VERSION = 1
# A column counts as constant when its spread is below float32 resolution at its magnitude.
_CONSTANT_RTOL = 10 * float(np.finfo(np.float32).eps)

ScalerMethod = Literal["standard", "robust", "minmax"]


class Scaled(NamedTuple):
    """Scaled columns, row-aligned with the panel.

    ``target`` is ``(N,)`` float32; ``covariates`` is ``(N, C)`` float32 in the order of
    ``SeriesScaler.covariate_names_``, or None when the scaler scales no covariate.
    """

    target: np.ndarray
    covariates: np.ndarray | None


# -- argument checks ---------------------------------------------------------------------------


def _covariate_names(covariates: Sequence[str] | None, panel: Panel) -> list[str]:
    """The covariates to scale: ``covariates`` checked against ``panel``, or all of its own."""
    if covariates is None:
        return list(panel.covariate_names)
    if isinstance(covariates, str):
        raise TypeError(
            f"covariates must be a sequence of column names, got the string "
            f"{covariates!r}; pass [{covariates!r}]."
        )
    names = list(covariates)
    unknown = [c for c in names if c not in panel.covariates]
    if unknown:
        raise ValueError(
            f"covariates {unknown} are not in the panel; available: {panel.covariate_names}."
        )
    return names


def _require_columns(names: list[str], panel: Panel) -> None:
    """Raise unless ``panel`` holds the fitted covariates ``names``."""
    missing = [c for c in names if c not in panel.covariates]
    if missing:
        raise ValueError(
            f"the panel lacks covariates {missing} that the scaler was fitted on; "
            f"it has {panel.covariate_names}. Pass a panel with the same covariate columns."
        )


def _series_index(
    series: np.ndarray | torch.Tensor, values: np.ndarray | torch.Tensor, n_series: int
) -> np.ndarray:
    """``(B,)`` series numbers of ``values`` ``(B, ...)``, checked to lie in ``[0, n_series)``."""
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
    if index.size and (index.min() < 0 or index.max() >= n_series):
        raise ValueError(
            f"series numbers must lie in [0, {n_series}), got [{index.min()}, {index.max()}]."
        )
    return index


# -- statistics --------------------------------------------------------------------------------


def _rows_in(panel: Panel, bounds: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Global row numbers inside ``bounds`` and the series number of each (no loop over series).

    Both are ``(n,)``, ``n`` being the number of rows inside ``bounds``.
    """
    bounds = panel.row_ranges(bounds)
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


def _statistics(
    panel: Panel,
    bounds: np.ndarray | None,
    names: list[str],
    *,
    method: ScalerMethod | None,
    quantile_range: tuple[float, float],
) -> tuple[np.ndarray, np.ndarray]:
    """``(S, 1 + C)`` centre and scale of every series, from the rows inside ``bounds``.

    Column 0 is the target, then the covariates ``names``; see :class:`SeriesScaler` for
    ``method`` and ``quantile_range``.
    """
    if method is not None and method not in SCALER_METHODS:
        raise ValueError(
            f"Unknown scaling method {method!r}; expected None or one of {SCALER_METHODS}."
        )
    q_min, q_max = quantile_range
    if not 0 <= q_min < q_max <= 100:
        raise ValueError(
            f"quantile_range must satisfy 0 <= q_min < q_max <= 100, got {quantile_range}."
        )
    rows, series = _rows_in(panel, bounds)
    n_columns = 1 + len(names)
    if method is None:
        return np.zeros((panel.n_series, n_columns)), np.ones((panel.n_series, n_columns))
    columns = [panel.target, *(panel.covariates[c] for c in names)]
    values = pd.DataFrame(
        {k: col[rows].astype(np.float64) for k, col in enumerate(columns)}
    )  # (n, 1 + C)
    groups = values.groupby(series, sort=True)
    low, high = groups.min().to_numpy(), groups.max().to_numpy()  # (S, 1 + C)
    if method == "standard":
        center, scale = groups.mean().to_numpy(), groups.std(ddof=0).to_numpy()
    elif method == "robust":
        center = groups.median().to_numpy()
        upper = groups.quantile(q_max / 100).to_numpy()
        scale = upper - groups.quantile(q_min / 100).to_numpy()
    else:
        center, scale = low, high - low
    magnitude = np.maximum(np.abs(low), np.abs(high))
    scale = np.where(scale <= _CONSTANT_RTOL * magnitude, 1.0, scale)
    return center, scale


def _to_float32(values: np.ndarray, panel: Panel, column: str) -> np.ndarray:
    """Scaled values as float32 (what networks compute in), or an error naming where they overflow."""
    bad = np.abs(values) > np.finfo(np.float32).max  # inf, or beyond float32 after scaling
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        s = int(np.searchsorted(panel.offsets, row, side="right") - 1)
        raise ValueError(
            f"column {column!r} of series {panel.ids[s]!r} at {panel.timestamps()[row]} scales "
            f"to {values[row]:.3g}, which float32 networks cannot represent; use "
            "scaler='standard' or 'robust', or rescale the column first."
        )
    return values.astype(np.float32)


# -- state (de)serialisation -------------------------------------------------------------------


def _json_ids(ids: np.ndarray) -> list[Any]:
    """``(S,)`` series ids as plain Python values, for ``json.dumps``."""
    ids = [i.item() if isinstance(i, np.generic) else i for i in ids]
    bad = [i for i in ids if not isinstance(i, str | int | float | bool)]
    if bad:
        raise TypeError(
            f"series id {bad[0]!r} ({type(bad[0]).__name__}) has no JSON form; use str or "
            "int ids (e.g. df[id_col].astype(str)) before check_panel."
        )
    return ids


def _check_state(state: Any) -> None:
    """Raise unless ``state`` has the keys and version that :meth:`SeriesScaler.get_state` writes."""
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


def _state_statistics(state: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(S,)`` ids and ``(S, 1 + C)`` centre and scale of a checked state."""
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
    return ids, center, scale


# -- the scaler --------------------------------------------------------------------------------


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
        check_is_panel(panel)
        names = _covariate_names(self.covariates, panel)
        self.ids_ = np.asarray(panel.ids, dtype=object).copy()
        self.covariate_names_ = names
        self.center_, self.scale_ = _statistics(
            panel, bounds, names, method=self.method, quantile_range=self.quantile_range
        )
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
        check_is_panel(panel)
        _require_columns(self.covariate_names_, panel)
        center, scale = _statistics(
            panel,
            bounds,
            self.covariate_names_,
            method=self.method,
            quantile_range=self.quantile_range,
        )
        known = pd.Index(self.ids_).get_indexer(np.asarray(panel.ids, dtype=object))  # (S,)
        new = known < 0
        if overwrite:
            self.center_[known[~new]] = center[~new]
            self.scale_[known[~new]] = scale[~new]
        self.ids_ = np.concatenate([self.ids_, np.asarray(panel.ids, dtype=object)[new]])
        self.center_ = np.concatenate([self.center_, center[new]])
        self.scale_ = np.concatenate([self.scale_, scale[new]])
        return self

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
        check_is_panel(panel)
        _require_columns(self.covariate_names_, panel)
        numbers = self.series_numbers(panel.ids)  # (S,)

        def scaled(values: np.ndarray, k: int, name: str) -> np.ndarray:
            out = np.repeat(self.center_[numbers, k], panel.lengths)  # (N,) float64
            np.subtract(values, out, out=out)
            out /= np.repeat(self.scale_[numbers, k], panel.lengths)
            return _to_float32(out, panel, name)

        target = scaled(panel.target, 0, panel.target_col)
        if not self.covariate_names_:
            return Scaled(target, None)
        covariates = [
            scaled(panel.covariates[c], 1 + k, c) for k, c in enumerate(self.covariate_names_)
        ]
        return Scaled(target, np.stack(covariates, axis=1))  # (N,), (N, C)

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
            Same shape as ``values``: float64 arrays for numpy input (values in the original
            units keep full precision); tensors keep their dtype and device.
        """
        check_is_fitted(self)
        index = _series_index(series, values, len(self.ids_))  # (B,)
        shape = (len(index),) + (1,) * (values.ndim - 1)  # broadcast over H (and Q)
        center = self.center_[index, 0].reshape(shape)
        scale = self.scale_[index, 0].reshape(shape)
        if isinstance(values, torch.Tensor):
            as_tensor = {"dtype": values.dtype, "device": values.device}
            return values * torch.as_tensor(scale, **as_tensor) + torch.as_tensor(
                center, **as_tensor
            )
        return np.asarray(values, dtype=np.float64) * scale + center  # original units: float64

    # -- persistence -------------------------------------------------------------------------

    def get_state(self) -> dict[str, Any]:
        """Parameters and statistics as plain lists and numbers, for ``json.dumps``.

        Raises
        ------
        TypeError
            When a series id is not a str, int, float or bool and so has no JSON form.
        """
        check_is_fitted(self)
        ids = _json_ids(self.ids_)
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
        _check_state(state)
        params = state["params"]
        covariates = params["covariates"]
        scaler = cls(
            params["method"],
            covariates=None if covariates is None else tuple(covariates),
            quantile_range=tuple(params["quantile_range"]),
        )
        scaler.ids_, scaler.center_, scaler.scale_ = _state_statistics(state)
        scaler.covariate_names_ = list(state["covariate_names"])
        return scaler
