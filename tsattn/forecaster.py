"""scikit-learn-style forecasters: ``fit(df)`` learns, ``predict()`` continues every series.

``__init__`` only stores parameters; ``fit`` validates them and the data, learns, and sets
attributes ending in ``_``; ``predict`` checks it is fitted, validates, and delegates. Frames
come back in the type they came in (pandas or polars).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from tsattn._validation import check_panel, to_pandas_frame
from tsattn.data.panel import Panel, ValidationReport

__all__ = ["BaseForecaster", "future_times"]

log = logging.getLogger(__name__)


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_param(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    allow_none: bool = False,
    low_open: bool = False,
) -> None:
    """Raise ``ValueError`` naming the parameter, its bad value and the allowed range."""
    if value is None and allow_none:
        return
    kind = "an integer" if integer else "a number"
    ok = (
        _is_int(value)
        if integer
        else isinstance(value, int | float | np.number) and not isinstance(value, bool)
    )
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        lo = "" if low is None else (f"> {low}" if low_open else f">= {low}")
        hi = "" if high is None else f"<= {high}"
        allowed = " and ".join(p for p in (lo, hi) if p) or "any value"
        none = " or None" if allow_none else ""
        raise ValueError(f"{name}={value!r} is invalid; expected {kind} {allowed}{none}.")


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    if value not in choices:
        raise ValueError(f"{name}={value!r} is invalid; expected one of {list(choices)}.")


def check_quantiles(name: str, quantiles: Sequence[float] | None) -> list[float] | None:
    if quantiles is None:
        return None
    if (
        isinstance(quantiles, str)
        or not isinstance(quantiles, Sequence | np.ndarray)
        or len(quantiles) == 0
    ):
        raise ValueError(
            f"{name}={quantiles!r} is invalid; expected a non-empty list such as [0.1, 0.5, 0.9]."
        )
    values = [float(q) for q in quantiles]
    if not all(0 < q < 1 for q in values) or len(set(values)) != len(values):
        raise ValueError(
            f"{name}={list(quantiles)} is invalid; expected distinct levels strictly between 0 and 1."
        )
    return sorted(values)


def future_times(panel: Panel, horizon: int) -> np.ndarray:
    """``(S, H)`` timestamps (or integers) continuing each series at the panel's frequency."""
    last = panel.time[panel.offsets[1:] - 1]
    if not np.issubdtype(panel.time.dtype, np.datetime64):
        steps = np.arange(1, horizon + 1, dtype=np.int64) * int(panel.freq)
        return last[:, None] + steps  # (S, H)
    out = np.empty((panel.n_series, horizon), dtype="datetime64[ns]")
    for s, t in enumerate(last):  # one date_range per series: calendar-aware ('B', 'MS', DST)
        start = pd.Timestamp(t)
        if panel.tz:
            start = start.tz_localize("UTC").tz_convert(panel.tz)
        grid = pd.date_range(start, periods=horizon + 1, freq=panel.freq)[1:]
        if panel.tz:
            grid = grid.tz_convert("UTC").tz_localize(None)
        out[s] = grid.as_unit("ns").to_numpy()
    return out


def frame_like(result: pd.DataFrame, template_is_polars: bool) -> Any:
    if template_is_polars:
        import polars as pl

        return pl.from_pandas(result)
    return result


def is_polars(df: Any) -> bool:
    return type(df).__module__.split(".")[0] == "polars"


class BaseForecaster(BaseEstimator):
    """What every forecaster shares: data validation at the edge and the output frame.

    Subclasses implement ``_fit(panel)`` and ``_predict(panel, times, future, quantiles)``
    returning ``(S, H, 1 + n_quantiles)`` forecasts on the original scale.
    """

    _estimator_type = "regressor"
    #: minimum series length beyond ``lookback + horizon`` (subclasses override)
    _needs_windows = True

    # -- shared validation -------------------------------------------------------------------
    def _check_common(self) -> None:
        check_param("horizon", self.horizon, low=1, integer=True)
        check_param("lookback", self.lookback, low=1, integer=True)

    def _validate(self, df: Any, *, min_length: int | None, for_predict: bool) -> Panel:
        panel = self._check_panel(df, min_length=min_length, for_predict=for_predict)
        if for_predict:
            self._check_same_time_kind(panel)
        return panel

    def _check_panel(self, df: Any, *, min_length: int | None, for_predict: bool) -> Panel:
        cols = self.columns_ if for_predict else self._columns
        covariates = [*cols["past"], *cols["future"], *cols["static"]]
        frame = to_pandas_frame(df)
        missing = [c for c in covariates if c not in frame.columns]
        if missing:
            when = "predict's history" if for_predict else "the training frame"
            raise ValueError(
                f"covariate column(s) {missing} are missing from {when}; it has {list(frame.columns)}."
            )
        return check_panel(
            frame,
            id_col=cols["id"],
            time_col=cols["time"],
            target_col=cols["target"],
            covariates=covariates,
            fill=getattr(self, "fill", None),
            min_length=min_length,
        )

    def fit(
        self,
        df: Any,
        *,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
        past_covariates: Sequence[str] | None = None,
        future_covariates: Sequence[str] | None = None,
        static_covariates: Sequence[str] | None = None,
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

        Returns
        -------
        self
        """
        self._check_common()
        self._check_params()
        self._columns = {
            "id": id_col,
            "time": time_col,
            "target": target_col,
            "past": list(past_covariates or []),
            "future": list(future_covariates or []),
            "static": list(static_covariates or []),
        }
        names = [*self._columns["past"], *self._columns["future"], *self._columns["static"]]
        repeated = sorted({c for c in names if names.count(c) > 1})
        if repeated:
            raise ValueError(
                f"column(s) {repeated} are listed in more than one covariate role; give each one role."
            )
        min_length = self.lookback + self.horizon if self._needs_windows else self._min_length()
        panel = self._validate(df, min_length=min_length, for_predict=False)
        self.columns_ = self._columns
        self.freq_ = panel.freq
        self.tz_ = panel.tz
        self.time_is_datetime_ = bool(np.issubdtype(panel.time.dtype, np.datetime64))
        self.output_polars_ = is_polars(df)
        self.validation_report_: ValidationReport = panel.report
        self._fit(panel)
        self.history_ = panel
        return self

    def _min_length(self) -> int:
        return 1

    def _check_params(self) -> None:  # subclasses add their own checks
        pass

    def _check_fitted(self) -> None:
        if not hasattr(self, "history_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet; call fit(df) before predict."
            )

    def predict(
        self,
        df: Any = None,
        *,
        X_future: Any = None,
        quantiles: Sequence[float] | None = None,
    ) -> Any:
        """Forecast the ``horizon`` steps after the end of every series.

        Parameters
        ----------
        df : pandas.DataFrame or polars.DataFrame, optional
            History to forecast from (same columns as in ``fit``); series unseen in ``fit`` are
            fine for global models. Default: the data given to ``fit``.
        X_future : DataFrame, optional
            Known-future covariates for the ``horizon`` timestamps after each series' end.
        quantiles : list of float, optional
            Quantile levels to return, each a ``y_pred_q<level>`` column.

        Returns
        -------
        DataFrame
            ``unique_id, ds, y_pred[, y_pred_q<q> ...]``, pandas or polars like the input.
        """
        quantiles = check_quantiles("quantiles", quantiles) or []
        native, conformal = self._split_quantiles(quantiles)
        panel, times, future = self._prepare_predict(df, X_future)
        values = self._predict(panel, times, future, native)  # (S, H, 1 + len(native))
        values = self._with_conformal(values, panel, native, conformal)
        polars_out = self.output_polars_ if df is None else is_polars(df)
        return frame_like(self._to_frame(panel, times, values, native + conformal), polars_out)

    # -- quantiles: the model's own, or split-conformal intervals ---------------------------------
    def _native_quantiles(self) -> list[float]:
        """Quantile levels the model itself emits (none for point forecasters)."""
        return []

    def _split_quantiles(self, quantiles: list[float]) -> tuple[list[float], list[float]]:
        native = [q for q in quantiles if q in self._native_quantiles()]
        rest = [q for q in quantiles if q not in native]
        if rest and not hasattr(self, "conformal_scores_"):
            own = self._native_quantiles() or "none"
            raise ValueError(
                f"quantiles {rest} were not trained (this model has {own}); refit with "
                "quantiles=[...] including them, or call calibrate(df) on held-out data for "
                "split-conformal intervals at any level."
            )
        return native, rest

    def _with_conformal(
        self, values: np.ndarray, panel: Panel, native: list[float], levels: list[float]
    ) -> np.ndarray:
        """Append conformal quantiles ``(S, H, len(levels))`` around the point forecast."""
        if not levels:
            return values
        scores = np.asarray(self.conformal_scores_)  # (n, H), sorted per column
        n = len(scores)
        scale = _naive_scale(panel)[:, None]  # (S, 1)
        out = [values]
        for q in levels:
            alpha = 2 * min(q, 1 - q)  # the central interval with this level as one end
            rank = min(n - 1, int(np.ceil((n + 1) * (1 - alpha))) - 1)  # finite-sample correction
            width = scores[rank][None, :] * scale  # (S, H)
            sign = -1.0 if q < 0.5 else 1.0
            out.append((values[..., 0] + sign * width)[..., None])
        return np.concatenate(out, axis=-1)

    def calibrate(self, df: Any, *, n_windows: int = 20, step: int | None = None) -> BaseForecaster:
        """Learn split-conformal intervals from forecasts on held-out data.

        Forecasts the last ``n_windows`` origins (every ``step`` steps, default ``horizon``) of
        each series in ``df``, which should follow the training period, and keeps the absolute
        errors per horizon step, divided by each series' mean absolute one-step change so they
        transfer across series. ``predict(quantiles=...)`` then returns intervals at any level.
        """
        self._check_fitted()
        panel = self._validate(df, min_length=None, for_predict=True)
        origins = backtest_origins(
            panel, self.horizon, n_windows, step or self.horizon, self._min_history()
        )
        pred = self._predict_windows(panel, origins, [])[..., 0]  # (S, n, H)
        actual = panel.target[
            (panel.offsets[:-1, None] + origins)[..., None] + np.arange(self.horizon)
        ]
        history = _cut(panel, origins[:, 0])
        scores = np.abs(actual - pred) / _naive_scale(history)[:, None, None]  # (S, n, H)
        self.conformal_scores_ = np.sort(scores.reshape(-1, self.horizon), axis=0).tolist()
        return self

    def _min_history(self) -> int:
        return self.lookback if self._needs_windows else self._min_length()

    def _predict_windows(
        self, panel: Panel, origins: np.ndarray, quantiles: list[float]
    ) -> np.ndarray:
        """``(S, n, H, 1 + Q)`` forecasts from every origin (local row of the first forecast step).

        This default refits nothing and loops over the ``n`` origins, forecasting all series at
        once each time; networks override it with one batched pass over all windows.
        """
        out = []
        for k in range(origins.shape[1]):
            history = _cut(panel, origins[:, k])
            times = future_times(history, self.horizon)
            out.append(self._predict(history, times, None, quantiles))
        return np.stack(out, axis=1)

    def _prepare_predict(
        self, df: Any, X_future: Any
    ) -> tuple[Panel, np.ndarray, np.ndarray | None]:
        """Validated history, the ``(S, H)`` forecast timestamps and ``(S, H, Cf)`` covariates."""
        self._check_fitted()
        if df is None:
            panel = self.history_
        else:
            min_length = self.lookback if self._needs_windows else self._min_length()
            panel = self._validate(df, min_length=min_length, for_predict=True)
        times = future_times(panel, self.horizon)  # (S, H)
        return panel, times, self._future_covariates(panel, times, X_future)

    def score(
        self, df: Any, *, metric: str = "mase", season_length: int = 1, X_future: Any = None
    ) -> float:
        """Error of forecasting the last ``horizon`` steps of every series in ``df``.

        The history is ``df`` without its last ``horizon`` rows per series; the fitted model
        forecasts from it and is compared with those rows. Unlike scikit-learn's ``score``,
        lower is better (it is an error, not R^2).

        Parameters
        ----------
        metric : {'mase', 'mae', 'mse', 'rmse', 'mape', 'smape'}
            MASE is scaled per series by the in-sample seasonal-naive MAE at ``season_length``
            and averaged over series; the others pool all forecast steps.
        """
        from tsattn.metrics import METRICS, mae, seasonal_scale

        check_choice("metric", metric, ["mase", *METRICS])
        self._check_fitted()
        panel = self._validate(df, min_length=self._min_history() + self.horizon, for_predict=True)
        history = _cut(panel, panel.lengths - self.horizon)
        times = future_times(history, self.horizon)
        future = None
        if self.columns_["future"]:
            rows = (panel.offsets[1:] - self.horizon)[:, None] + np.arange(self.horizon)  # (S, H)
            future = np.stack([panel.covariates[c][rows] for c in self.columns_["future"]], axis=-1)
        pred = self._predict(history, times, future, [])[..., 0]  # (S, H)
        actual = panel.target[(panel.offsets[1:] - self.horizon)[:, None] + np.arange(self.horizon)]
        if metric != "mase":
            return METRICS[metric](actual, pred)
        scales = [
            seasonal_scale(history.target[history.rows(s)], season_length)
            for s in range(panel.n_series)
        ]
        return float(np.mean([mae(actual[s], pred[s]) / scales[s] for s in range(panel.n_series)]))

    def save(self, path: Any) -> Any:
        """Write the fitted forecaster to directory ``path`` (no pickle; see ``tsattn.load``)."""
        from tsattn.persistence import save

        return save(self, path)

    def _check_same_time_kind(self, panel: Panel) -> None:
        datetime = bool(np.issubdtype(panel.time.dtype, np.datetime64))
        if datetime != self.time_is_datetime_:
            kind = "datetimes" if self.time_is_datetime_ else "integers"
            raise TypeError(f"the time column held {kind} in fit; pass the same kind to predict.")
        if (
            panel.n_rows > 0
            and self.freq_ is not None
            and panel.freq != self.freq_
            and (np.diff(panel.offsets).max() > 1)
        ):
            raise ValueError(
                f"predict's history has frequency {panel.freq!r} but the model was fitted at "
                f"{self.freq_!r}; resample the history to {self.freq_!r}."
            )

    def _future_covariates(
        self, panel: Panel, times: np.ndarray, X_future: Any
    ) -> np.ndarray | None:
        """``(S, H, Cf)`` user-supplied known-future covariates for the forecast timestamps."""
        names = self.columns_["future"]
        if not names:
            return None
        id_col, time_col = self.columns_["id"], self.columns_["time"]
        needed = pd.DataFrame(
            {
                id_col: np.repeat(panel.ids, self.horizon),
                time_col: pd.DatetimeIndex(times.ravel())
                if self.time_is_datetime_
                else times.ravel(),
            }
        )
        if self.time_is_datetime_ and self.tz_:
            needed[time_col] = needed[time_col].dt.tz_localize("UTC").dt.tz_convert(self.tz_)
        if X_future is None:
            raise ValueError(
                f"the model uses known-future covariates {names}; pass X_future with columns "
                f"{[id_col, time_col, *names]} for the {self.horizon} timestamps after each series' "
                f"end (first needed: series {needed[id_col].iloc[0]!r} at {needed[time_col].iloc[0]})."
            )
        future = to_pandas_frame(X_future, "X_future")
        has_id = id_col in future.columns
        missing = [c for c in [time_col, *names] if c not in future.columns]
        if missing:
            raise ValueError(
                f"X_future lacks column(s) {missing}; it needs {[id_col, time_col, *names]}."
            )
        if not has_id:
            if panel.n_series > 1:
                raise ValueError(
                    f"X_future needs the id column {id_col!r} when there are several series."
                )
            future = future.assign(**{id_col: panel.ids[0]})
        keys = [id_col, time_col]
        merged = needed.merge(
            future[[*keys, *names]].drop_duplicates(keys), on=keys, how="left", indicator=True
        )
        absent = merged["_merge"] != "both"
        if absent.any():
            first = merged.loc[absent].iloc[0]
            raise ValueError(
                f"X_future misses {int(absent.sum())} of the {len(needed)} (series, timestamp) rows "
                f"needed; first: series {first[id_col]!r} at {first[time_col]}. Supply {names} for "
                f"the {self.horizon} steps after each series' end."
            )
        values = merged[names].to_numpy(dtype=np.float64)
        if not np.isfinite(values).all():
            raise ValueError(
                f"X_future has NaN/inf in {names} for the forecast timestamps; fill them first."
            )
        return values.reshape(panel.n_series, self.horizon, len(names))  # (S, H, Cf)

    def _to_frame(
        self, panel: Panel, times: np.ndarray, values: np.ndarray, quantiles: list[float]
    ) -> pd.DataFrame:
        cols = self.columns_
        out = pd.DataFrame({cols["id"]: np.repeat(panel.ids, self.horizon)})
        if self.time_is_datetime_:
            ds = pd.DatetimeIndex(times.ravel())
            out[cols["time"]] = ds.tz_localize("UTC").tz_convert(self.tz_) if self.tz_ else ds
        else:
            out[cols["time"]] = times.ravel()
        out["y_pred"] = values[..., 0].ravel()
        for k, q in enumerate(quantiles):
            out[f"y_pred_q{q:g}"] = values[..., 1 + k].ravel()
        return out


def _cut(panel: Panel, ends: np.ndarray) -> Panel:
    """Each series up to (not including) its local row ``ends[s]``."""
    return panel.slice_series(np.zeros(panel.n_series, dtype=np.int64), ends)


def _naive_scale(panel: Panel) -> np.ndarray:
    """``(S,)`` mean absolute one-step change of each series (1 where it is flat)."""
    y = panel.target.astype(np.float64)
    diffs = np.abs(np.diff(y))
    same = np.diff(panel.series_index()) == 0  # (N - 1,) consecutive rows of one series
    sums = np.bincount(
        panel.series_index()[1:][same], weights=diffs[same], minlength=panel.n_series
    )
    scale = sums / np.maximum(panel.lengths - 1, 1)
    return np.where(scale > 0, scale, 1.0)


def backtest_origins(
    panel: Panel, horizon: int, n_windows: int, step: int, min_history: int
) -> np.ndarray:
    """``(S, n_windows)`` local rows where each forecast starts: the last origins of every series."""
    check_param("n_windows", n_windows, low=1, integer=True)
    check_param("step", step, low=1, integer=True)
    first = panel.lengths - horizon - (n_windows - 1) * step  # (S,)
    short = np.flatnonzero(first < min_history)
    if len(short):
        s = short[0]
        raise ValueError(
            f"series {panel.ids[s]!r} has {panel.lengths[s]} timesteps, too few for {n_windows} "
            f"windows every {step} steps of horizon {horizon} after a history of {min_history}; "
            "pass fewer windows, a smaller step, or longer series."
        )
    return first[:, None] + step * np.arange(n_windows)  # (S, n)
