"""The forecaster contract: the frame edge (``fit`` / ``predict``) over the panel level.

Every tsattn forecaster has two levels:

* the **frame edge** a user calls: ``fit(df)``, ``predict(df=None, X_future=None)``, ``score``,
  ``calibrate``, ``save``; pandas or polars in, the same kind out;
* the **panel level** that evaluation, export, tuning and batch jobs build on:
  ``check_frame(df)`` validates with the forecaster's settings, ``fit_panel(panel)`` learns,
  ``predict_panel(panel, origins=...)`` returns ``(S, n, H, 1 + Q)`` forecasts.

``__init__`` only stores parameters; ``fit`` validates them and the data, learns, and sets
attributes ending in ``_``. Subclasses implement ``_fit(panel)`` and ``_predict(panel, times,
future, quantiles)`` (``(S, H, 1 + len(quantiles))`` forecasts after the end of every series),
and may override ``_predict_windows`` to forecast many origins at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tsattn.data.frames import (
    ColumnRoles,
    FrameLike,
    as_frame_like,
    forecast_frame,
    future_covariates,
    is_polars,
    to_pandas_frame,
)
from tsattn.data.panel import Panel, ValidationReport
from tsattn.data.validation import (
    check_like_fitted,
    check_panel,
    check_recent_gaps,
    check_window_gaps,
    require_length,
)
from tsattn.evaluation import conformal_scores, score, with_conformal
from tsattn.params import check_bounds, check_param, check_quantiles
from tsattn.persistence import save
from tsattn.tracking.runs import Tracker, tracked_fit

__all__ = ["BaseForecaster"]


class BaseForecaster(BaseEstimator):
    """What every forecaster shares: validation at the edge, the panel contract, output frames.

    Parameters are those of the subclass; all have ``horizon`` and ``lookback``.
    """

    _estimator_type = "regressor"

    # -- hooks for subclasses -----------------------------------------------------------------
    def _check_params(self) -> None:
        check_param("horizon", self.horizon, low=1, integer=True)
        check_param("lookback", self.lookback, low=1, integer=True)

    @property
    def min_history(self) -> int:
        """Fewest past steps of a series that a forecast needs."""
        return self.lookback

    def _min_fit_length(self) -> int:
        """Fewest steps per series that ``fit`` needs."""
        return self.min_history

    def _native_quantiles(self) -> list[float]:
        """Quantile levels the model itself emits (none for point forecasters)."""
        return []

    def _predict_windows(
        self, panel: Panel, origins: np.ndarray, quantiles: list[float]
    ) -> np.ndarray:
        """``(S, n, H, 1 + Q)`` forecasts from every origin, known-future inputs from ``panel``.

        This default forecasts all series at once from each origin in turn; networks override
        it with one batched pass over all windows.
        """
        return np.stack(
            [self._predict(*_cut(panel, o, self.horizon), None, quantiles) for o in origins.T], 1
        )

    # -- the panel level ------------------------------------------------------------------------
    def check_frame(
        self, df: FrameLike, *, roles: ColumnRoles | None = None, time_format: str | None = None
    ) -> Panel:
        """Validate ``df`` (pandas or polars, long format, the columns named by ``roles``;
        default: those of ``fit``) with this forecaster's settings into a :class:`Panel`.
        ``time_format``: of string timestamps (default: ``fit``'s, else ISO 8601)."""
        frame = to_pandas_frame(df)
        _require_covariates(frame, roles or self.columns_, fitting=roles is not None)
        roles = roles or self.columns_
        params = self.get_params()
        return check_panel(
            frame,
            id_col=roles.id,
            time_col=roles.time,
            target_col=roles.target,
            covariates=roles.covariates,
            fill=params.get("fill"),
            reindex=params.get("fill") is not None,
            max_fill=params.get("max_fill"),
            time_format=time_format or roles.time_format,
            freq=roles.freq,
        )

    def fit_panel(self, panel: Panel, roles: ColumnRoles | None = None) -> BaseForecaster:
        """Learn from a validated panel whose columns play ``roles`` (default: no covariates)."""
        self._check_params()
        roles = roles or ColumnRoles(panel.id_col, panel.time_col, panel.target_col)
        require_length(panel.ids, panel.lengths, self._min_fit_length())
        self.columns_ = roles
        self.freq_, self.tz_ = panel.freq, panel.tz
        self.time_is_datetime_ = bool(np.issubdtype(panel.time.dtype, np.datetime64))
        self.output_polars_ = False  # fit sets it from the frame it was given
        self.validation_report_: ValidationReport = panel.report
        self._fit(panel)
        self.history_ = panel
        return self

    def predict_panel(
        self,
        panel: Panel,
        *,
        origins: np.ndarray | None = None,
        future: np.ndarray | None = None,
        quantiles: Sequence[float] | None = None,
    ) -> np.ndarray:
        """Forecasts ``(S, n, H, 1 + Q)`` in the original units: point forecast, then quantiles.

        Parameters
        ----------
        panel : Panel
            Validated history of the series to forecast.
        origins : numpy.ndarray, optional
            ``(S, n)`` local rows where each forecast starts (inside the panel, whose rows then
            supply the known-future covariates); default: one origin after each series' end.
        future : numpy.ndarray, optional
            ``(S, H, Cf)`` known-future covariates for forecasts after the end.
        quantiles : sequence of float, optional
            Levels to return after the point forecast, ascending: the model's own, or
            split-conformal ones after ``calibrate``.
        """
        self.check_fitted()
        quantiles = check_quantiles("quantiles", quantiles or None) or []
        native, conformal = _split_quantiles(self, quantiles, self._native_quantiles())
        if origins is None:
            check_recent_gaps(panel, self.min_history)
            history = panel.since_last_gap()
            times = history.future_times(self.horizon)
            values = self._predict(history, times, future, native)[:, None]  # (S, 1, H, 1 + Qn)
            origins = panel.lengths[:, None]
        else:
            check_window_gaps(panel, origins, self.min_history, self.horizon)
            values = self._predict_windows(panel, origins, native)  # (S, n, H, 1 + Qn)
        values = _hold_constant(values, panel, origins)
        if conformal:
            values = with_conformal(values, panel, origins, self.conformal_scores_, conformal)
            order = [0] + [1 + (native + conformal).index(q) for q in quantiles]
            values = values[..., order]
        return _clip(values, self.get_params().get("bounds"))

    # -- the frame edge ---------------------------------------------------------------------------
    def fit(
        self,
        df: FrameLike,
        *,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
        past_covariates: Sequence[str] | None = None,
        future_covariates: Sequence[str] | None = None,
        static_covariates: Sequence[str] | None = None,
        time_format: str | None = None,
        freq: str | int | None = None,
        tracking: bool | str | Tracker | None = None,
    ) -> BaseForecaster:
        """Learn from a long frame.

        Parameters
        ----------
        df : pandas.DataFrame or polars.DataFrame
            Columns ``id_col`` (optional), ``time_col``, ``target_col`` and the named covariates;
            other columns are ignored.
        past_covariates : list of str, optional
            Columns observed only up to the present; shown to the model over the lookback.
        future_covariates : list of str, optional
            Columns known in advance; ``predict`` then needs their values for the horizon
            (``X_future``).
        static_covariates : list of str, optional
            Columns constant within each series (e.g. a store's size).
        time_format : str, optional
            strftime format of string timestamps, e.g. ``"%d/%m/%Y %H:%M"``; default ISO 8601.
            ``predict`` reads its history with the same format unless told otherwise.
        freq : str or int, optional
            Default inferred: a pandas alias, an exchange calendar such as ``"XNYS"`` (holidays
            are no gaps: :mod:`tsattn.data.calendars`) or an integer step; ``predict`` keeps it.
        tracking : bool, str or tsattn.tracking.Tracker, optional
            Log this fit as an MLflow run: True (the default store), a tracking URI, or a
            ``Tracker``; see :mod:`tsattn.tracking`. The fitted model is the same either way.

        Returns
        -------
        self
        """
        self._check_params()
        roles = ColumnRoles.from_kwargs(
            id_col,
            time_col,
            target_col,
            past_covariates,
            future_covariates,
            static_covariates,
            time_format,
            freq,
        )
        panel = self.check_frame(df, roles=roles)
        with tracked_fit(self, panel, tracking, getattr(df, "attrs", {}).get("name")):
            self.fit_panel(panel, roles)
            self.output_polars_ = is_polars(df)
            self.time_kind_ = _time_kind(df, roles.time)
        return self

    def predict(
        self,
        df: FrameLike | None = None,
        *,
        X_future: FrameLike | None = None,
        quantiles: Sequence[float] | None = None,
        time_format: str | None = None,
        h: int | None = None,
    ) -> FrameLike:
        """Forecast the ``horizon`` (or ``h``) steps after the end of every series.

        Parameters
        ----------
        df : pandas.DataFrame or polars.DataFrame, optional
            History to forecast from (same columns as in ``fit``); series unseen in ``fit`` are
            fine for global models. Default: the data given to ``fit``.
        X_future : DataFrame, optional
            Known-future covariates for the ``horizon`` timestamps after each series' end.
        quantiles : list of float, optional
            Quantile levels to return, each a ``y_pred_q<level>`` column; default: those the
            model was trained for (``quantiles=`` of a network), ``[]`` for none.
        time_format : str, optional
            strftime format of ``df``'s string timestamps; default: the one given to ``fit``.
        h : int, optional
            Return the first ``h`` steps only (1 to ``horizon``).

        Returns
        -------
        DataFrame
            ``unique_id, ds, y_pred[, y_pred_q<q> ...]``, pandas or polars like the input.
        """
        if quantiles is None:  # the trained levels, without the median (that is y_pred)
            quantiles = [q for q in self._native_quantiles() if q != 0.5] or None
        quantiles = check_quantiles("quantiles", quantiles) or []
        h = self.horizon if h is None else h
        check_param("h", h, low=1, high=self.horizon, integer=True)
        panel, future = self.predict_inputs(df, X_future, time_format=time_format)
        values = self.predict_panel(panel, future=future, quantiles=quantiles)[:, 0, :h]
        frame = forecast_frame(
            panel.ids, panel.future_timestamps(h), values, quantiles, self.columns_
        )
        return _as_output(self, frame, df)

    def predict_inputs(
        self,
        df: FrameLike | None = None,
        X_future: FrameLike | None = None,
        *,
        time_format: str | None = None,
    ) -> tuple[Panel, np.ndarray | None]:
        """The validated history and ``(S, H, Cf)`` known-future covariates ``predict`` uses."""
        self.check_fitted()
        if df is None:
            panel = self.history_
        else:
            panel = _like_fitted(self, self.check_frame(df, time_format=time_format))
            require_length(panel.ids, panel.lengths, self.min_history)
        if not self.columns_.future:
            return panel, None
        times = panel.future_timestamps(self.horizon)
        return panel, future_covariates(X_future, panel.ids, times, self.columns_, self.horizon)

    def calibrate(
        self, df: FrameLike, *, n_windows: int = 20, step: int | None = None
    ) -> BaseForecaster:
        """Learn split-conformal intervals from forecasts on held-out data.

        Keeps the scaled absolute errors per horizon step of forecasts from the last
        ``n_windows`` origins (every ``step`` steps, default ``horizon``) of each series in
        ``df``, which should follow the training period (:func:`tsattn.evaluation.conformal_scores`);
        ``predict(quantiles=...)`` then returns intervals at any level."""
        self.check_fitted()
        panel = _like_fitted(self, self.check_frame(df))
        self.conformal_scores_ = conformal_scores(self, panel, n_windows=n_windows, step=step)
        return self

    def score(
        self, df: FrameLike, *, metric: str = "mase", season_length: int | None = None
    ) -> float:
        """Negative error (greater is better, as scikit-learn's) of forecasting the last
        ``horizon`` steps of every series in ``df`` from the rows before them, e.g. -MASE;
        :func:`tsattn.evaluation.score` returns the error itself.

        Parameters
        ----------
        metric : {'mase', 'mae', 'mse', 'rmse', 'mape', 'smape'}
            MASE is scaled per series by the in-sample seasonal-naive MAE at ``season_length``
            and averaged over series (those where it is undefined are left out, with a
            ``UserWarning`` naming them); the others pool all forecast steps.
        season_length : int, optional
            Period of the seasonal naive forecast that scales MASE; None (default): the natural
            season of the data's frequency (hourly 24, daily 7, ...); 1: the naive forecast.
        """
        self.check_fitted()
        panel = _like_fitted(self, self.check_frame(df))
        require_length(panel.ids, panel.lengths, self.min_history + self.horizon)
        return -score(self, panel, metric=metric, season_length=season_length)

    def save(self, path: str | Path) -> Path:
        """Write the fitted forecaster to directory ``path`` (no pickle; see ``tsattn.load``)."""
        return save(self, path)

    def restore(
        self, config: dict[str, Any], history: Panel, weights: dict[str, Any] | None = None
    ) -> BaseForecaster:
        """Set the fitted state of a saved model: its JSON config, series tails, tensors."""
        self.columns_ = ColumnRoles(**config["columns"])
        self.freq_, self.tz_ = config["freq"], config["tz"]
        self.time_is_datetime_ = config["time_is_datetime"]
        self.output_polars_, self.time_kind_ = config["output_polars"], config.get("time_kind")
        self.history_ = history
        if "conformal_scores" in config:
            self.conformal_scores_ = config["conformal_scores"]
        return self

    def check_fitted(self) -> None:
        """Raise scikit-learn's ``NotFittedError`` unless ``fit`` has run."""
        if not hasattr(self, "history_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(df) before predict."
            )


def _time_kind(df: FrameLike, time_col: str) -> str | None:
    """``'date'`` when ``df`` is polars with a ``Date`` time column (given back as ``Date``)."""
    if is_polars(df) and time_col in df.columns and str(df.schema[time_col]) == "Date":
        return "date"
    return None


def _as_output(est: BaseForecaster, frame: pd.DataFrame, df: FrameLike | None) -> FrameLike:
    """The forecast frame as the kind of ``df`` (None: of fit's), a polars ``Date`` as ``Date``."""
    polars = est.output_polars_ if df is None else is_polars(df)
    time_col = est.columns_.time
    kind = getattr(est, "time_kind_", None) if df is None else _time_kind(df, time_col)
    out = as_frame_like(frame, polars)
    if polars and kind == "date":
        import polars as pl

        out = out.with_columns(pl.col(time_col).cast(pl.Date))
    return out


def _cut(panel: Panel, ends: np.ndarray, horizon: int) -> tuple[Panel, np.ndarray]:
    """The history before local rows ``ends`` and the ``(S, H)`` times after it."""
    history = panel.cut(ends)
    return history, history.future_times(horizon)


def _like_fitted(est: BaseForecaster, panel: Panel) -> Panel:
    """``panel`` checked against the fitted time kind and frequency, in the fitted zone."""
    return check_like_fitted(panel, est.time_is_datetime_, est.freq_, est.tz_)


def _require_covariates(frame: pd.DataFrame, roles: ColumnRoles, fitting: bool) -> None:
    missing = [c for c in roles.covariates if c not in frame.columns]
    if missing:
        where = "the training frame" if fitting else "predict's history"
        raise ValueError(
            f"covariate column(s) {missing} are missing from {where}; it has {list(frame.columns)}."
        )


def _split_quantiles(est: BaseForecaster, quantiles: list[float], emitted: list[float]):
    """``(native, conformal)``: levels the model emits, and those calibration must supply."""
    native = [q for q in quantiles if q in emitted]
    conformal = [q for q in quantiles if q not in native]
    if conformal and not hasattr(est, "conformal_scores_"):
        raise ValueError(
            f"quantiles {conformal} were not trained (this model has "
            f"{emitted or 'none'}); refit with quantiles=[...] including "
            "them, or call calibrate(df) on held-out data for split-conformal intervals at "
            "any level."
        )
    return native, conformal


def _clip(values: np.ndarray, bounds: Any) -> np.ndarray:
    """Forecasts and quantiles inside the estimator's ``bounds`` (unchanged without)."""
    limits = check_bounds("bounds", bounds)
    return values if limits is None else np.clip(values, *limits)


def _hold_constant(values: np.ndarray, panel: Panel, origins: np.ndarray) -> np.ndarray:
    """Forecasts from a constant history are that constant, whatever the model.

    ``values`` is ``(S, n, H, 1 + Q)``; the forecast from origin ``origins[s, k]`` is replaced
    by the constant when series ``s`` is constant on all its rows before that origin.
    """
    first = panel.target[panel.offsets[:-1]]  # (S,)
    differs = panel.target != np.repeat(first, panel.lengths)  # (N,)
    change = np.full(panel.n_series, np.iinfo(np.int64).max)  # (S,) first differing local row
    rows = np.flatnonzero(differs)
    series = panel.series_index()[rows]
    np.minimum.at(change, series, rows - panel.offsets[series])
    constant = (origins >= 1) & (origins <= change[:, None])  # (S, n)
    if constant.any():
        values = values.copy()
        values[constant] = first[:, None, None, None].repeat(origins.shape[1], 1)[constant]
    return values
