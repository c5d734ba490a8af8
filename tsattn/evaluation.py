"""Evaluation over the forecaster contract: rolling origins, backtest, conformal intervals, score.

Everything here works on validated panels through the small public interface every tsattn
forecaster has (:class:`PanelForecaster`): ``check_frame`` validates a frame with the
forecaster's settings, ``fit_panel`` learns from a panel and ``predict_panel`` forecasts from
given origins. It imports no forecaster class, so the forecaster base can offer ``score`` and
``calibrate`` as methods built on these functions without an import cycle.

Without refitting, a backtest fits once on the data before the first origin and then predicts
every window of every series at once (networks in one batched pass). With ``refit=k`` it refits
on all data before every k-th window's origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.base import clone

from tsattn.data.frames import ColumnRoles, FrameLike
from tsattn.data.panel import Panel
from tsattn.metrics import METRICS, coverage, mae, mse, seasonal_scale, smape
from tsattn.params import check_choice, check_param, check_quantiles

__all__ = [
    "BacktestResult",
    "PanelForecaster",
    "backtest",
    "conformal_intervals",
    "conformal_scores",
    "naive_scale",
    "rolling_origins",
    "score",
    "with_conformal",
]


class PanelForecaster(Protocol):
    """What evaluation needs of a forecaster (every tsattn forecaster has it).

    ``predict_panel`` returns ``(S, n, H, 1 + Q)`` forecasts in the original units: the point
    forecast then the ``quantiles`` in ascending order, from each of the ``(S, n)`` origins
    (local rows where the forecast starts; None: after the end of every series).
    """

    horizon: int
    columns_: ColumnRoles  # set by fit

    @property
    def min_history(self) -> int: ...

    def check_frame(self, df: FrameLike, *, roles: ColumnRoles | None = None) -> Panel: ...

    def fit_panel(self, panel: Panel, roles: ColumnRoles | None = None) -> Any: ...

    def predict_panel(
        self,
        panel: Panel,
        *,
        origins: np.ndarray | None = None,
        future: np.ndarray | None = None,
        quantiles: list[float] | None = None,
    ) -> np.ndarray: ...


def rolling_origins(
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


def actuals(panel: Panel, origins: np.ndarray, horizon: int) -> np.ndarray:
    """``(S, n, H)`` observed values after each origin."""
    return panel.target[(panel.offsets[:-1, None] + origins)[..., None] + np.arange(horizon)]


# -- split-conformal intervals ------------------------------------------------------------------


def naive_scale(panel: Panel) -> np.ndarray:
    """``(S,)`` mean absolute one-step change of each series (1 where it is flat)."""
    y = panel.target.astype(np.float64)
    diffs = np.abs(np.diff(y))
    series = panel.series_index()
    same = np.diff(series) == 0  # (N - 1,) consecutive rows of one series
    sums = np.bincount(series[1:][same], weights=diffs[same], minlength=panel.n_series)
    scale = sums / np.maximum(panel.lengths - 1, 1)
    return np.where(scale > 0, scale, 1.0)


def conformal_scores(
    forecaster: PanelForecaster, panel: Panel, *, n_windows: int = 20, step: int | None = None
) -> list[list[float]]:
    """Sorted ``(n, H)`` nonconformity scores of a fitted forecaster on held-out data.

    Forecasts the last ``n_windows`` origins (every ``step`` steps, default ``horizon``) of each
    series of ``panel``, which should follow the training period, and keeps the absolute errors
    per horizon step, divided by each series' :func:`naive_scale` so they transfer across series.
    """
    horizon = forecaster.horizon
    origins = rolling_origins(panel, horizon, n_windows, step or horizon, forecaster.min_history)
    pred = forecaster.predict_panel(panel, origins=origins)[..., 0]  # (S, n, H)
    history = panel.cut(origins[:, 0])
    errors = np.abs(actuals(panel, origins, horizon) - pred)  # (S, n, H)
    scores = errors / naive_scale(history)[:, None, None]
    return np.sort(scores.reshape(-1, horizon), axis=0).tolist()


def conformal_intervals(
    point: np.ndarray, scores: list[list[float]], scale: np.ndarray, levels: list[float]
) -> np.ndarray:
    """``(S, H, len(levels))`` interval ends at ``levels`` around ``point`` ``(S, H)``.

    ``scores`` come from :func:`conformal_scores`; ``scale`` ``(S,)`` is each series'
    :func:`naive_scale` at the forecast origin. Level ``q`` is one end of the central interval
    of coverage ``1 - 2 min(q, 1 - q)``, with the finite-sample correction of split conformal.
    """
    scores = np.asarray(scores)  # (n, H), sorted per column
    n = len(scores)
    out = []
    for q in levels:
        alpha = 2 * min(q, 1 - q)
        rank = min(n - 1, int(np.ceil((n + 1) * (1 - alpha))) - 1)
        width = scores[rank][None, :] * scale[:, None]  # (S, H)
        out.append(point + (-1.0 if q < 0.5 else 1.0) * width)
    return np.stack(out, axis=-1)


def with_conformal(
    values: np.ndarray,
    panel: Panel,
    origins: np.ndarray,
    scores: list[list[float]],
    levels: list[float],
) -> np.ndarray:
    """``values`` ``(S, n, H, 1 + Q)`` with conformal interval ends at ``levels`` appended.

    Each window's intervals are scaled by the history before its origin ``origins[:, k]``.
    """
    bands = [
        conformal_intervals(
            values[:, k, :, 0], scores, naive_scale(panel.cut(origins[:, k])), levels
        )
        for k in range(origins.shape[1])
    ]
    return np.concatenate([values, np.stack(bands, axis=1)], axis=-1)


# -- score and backtest -----------------------------------------------------------------------------


def score(
    forecaster: PanelForecaster, panel: Panel, *, metric: str = "mase", season_length: int = 1
) -> float:
    """Error of forecasting the last ``horizon`` steps of every series of ``panel``.

    The history is ``panel`` without its last ``horizon`` rows per series; the fitted forecaster
    forecasts from it (known-future covariates taken from those rows) and is compared with them.
    MASE is scaled per series by the in-sample seasonal-naive MAE at ``season_length`` and
    averaged over series; the other metrics pool all forecast steps.
    """
    check_choice("metric", metric, ["mase", *METRICS])
    horizon = forecaster.horizon
    ends = panel.lengths - horizon
    history = panel.cut(ends)
    future = None
    if forecaster.columns_.future:
        rows = (panel.offsets[1:] - horizon)[:, None] + np.arange(horizon)  # (S, H)
        future = np.stack([panel.covariates[c][rows] for c in forecaster.columns_.future], -1)
    pred = forecaster.predict_panel(history, future=future)[:, 0, :, 0]  # (S, H)
    actual = actuals(panel, ends[:, None], horizon)[:, 0]  # (S, H)
    if metric != "mase":
        return METRICS[metric](actual, pred)
    scales = [
        seasonal_scale(history.target[history.rows(s)], season_length)
        for s in range(panel.n_series)
    ]
    return float(np.mean([mae(actual[s], pred[s]) / scales[s] for s in range(panel.n_series)]))


@dataclass
class BacktestResult:
    """Forecasts and metrics of a backtest.

    Attributes
    ----------
    forecasts : pandas.DataFrame
        ``unique_id, window, cutoff, ds, y, y_pred[, y_pred_q<q> ...]``: one row per forecast step.
    metrics : pandas.DataFrame
        One row per series and window: ``mae, mse, rmse, smape, mase`` (and ``coverage`` of the
        widest quantile interval when quantiles were asked for).
    """

    forecasts: pd.DataFrame
    metrics: pd.DataFrame

    def summary(self) -> pd.Series:
        """Metrics averaged over series and windows (MASE: mean of per-window values)."""
        return self.metrics.drop(columns=["unique_id", "window", "cutoff"]).mean()


def backtest(
    estimator: PanelForecaster,
    df: FrameLike,
    *,
    n_windows: int = 5,
    step: int | None = None,
    refit: bool | int = False,
    season_length: int = 1,
    quantiles: list[float] | None = None,
    calibration_windows: int = 0,
    **fit_params: Any,
) -> BacktestResult:
    """Evaluate ``estimator`` on the last ``n_windows`` forecast origins of every series.

    Parameters
    ----------
    estimator : BaseForecaster
        An unfitted (or fitted: it is cloned) forecaster.
    df : DataFrame
        The whole history, pandas or polars, long format.
    n_windows, step : int
        Number of origins and steps between them (default: the horizon, so windows tile).
    refit : bool or int
        False: fit once before the first origin. True or 1: refit before every window; k: refit
        before every k-th window.
    season_length : int
        Period of the seasonal naive forecast that scales MASE (1: naive).
    quantiles : list of float, optional
        Quantile levels to forecast: the model's own, or split-conformal ones when
        ``calibration_windows`` > 0.
    calibration_windows : int
        For conformal intervals: each fit stops this many windows (of ``step``) earlier, and
        those held-out windows calibrate the intervals (see ``calibrate``).
    **fit_params
        The column roles, as for ``fit`` (``id_col``, ``future_covariates``, ...).

    Returns
    -------
    BacktestResult
    """
    quantiles = check_quantiles("quantiles", quantiles) or []
    every = _refit_every(refit, n_windows)
    roles = ColumnRoles.from_kwargs(**fit_params)
    template = clone(estimator)
    panel = template.check_frame(df, roles=roles)
    horizon = template.horizon
    step = step or horizon
    held_out = calibration_windows * step
    min_history = template.min_history + horizon + held_out
    origins = rolling_origins(panel, horizon, n_windows, step, min_history)
    forecasts = []
    for first in range(0, n_windows, every):
        group = origins[:, first : first + every]
        est = clone(estimator).fit_panel(panel.cut(group[:, 0] - held_out), roles)
        if calibration_windows:
            est.conformal_scores_ = conformal_scores(
                est, panel.cut(group[:, 0]), n_windows=calibration_windows, step=step
            )
        forecasts.append(est.predict_panel(panel, origins=group, quantiles=quantiles))
    values = np.concatenate(forecasts, axis=1)  # (S, n, H, 1 + Q)
    return _tidy(panel, origins, values, quantiles, season_length, roles)


def _refit_every(refit: bool | int, n_windows: int) -> int:
    if isinstance(refit, bool):
        return 1 if refit else n_windows
    if isinstance(refit, int | np.integer) and refit >= 1:
        return int(refit)
    raise ValueError(f"refit={refit!r} is invalid; expected True, False or a positive integer.")


def _tidy(panel, origins, values, quantiles, season_length, roles) -> BacktestResult:
    n_series, n_windows, horizon, _ = values.shape
    rows = (panel.offsets[:-1, None] + origins)[..., None] + np.arange(horizon)  # (S, n, H)
    actual = panel.target[rows].astype(np.float64)
    times = panel.timestamps()
    forecasts = pd.DataFrame(
        {
            roles.id: np.repeat(panel.ids, n_windows * horizon),
            "window": np.tile(np.repeat(np.arange(n_windows), horizon), n_series),
            "cutoff": times[(rows[..., 0] - 1).ravel()].repeat(horizon),
            roles.time: times[rows.ravel()],
            "y": actual.ravel(),
            "y_pred": values[..., 0].ravel(),
        }
    )
    for k, q in enumerate(quantiles):
        forecasts[f"y_pred_q{q:g}"] = values[..., 1 + k].ravel()
    records = []
    for s in range(n_series):
        history = panel.target[panel.offsets[s] : panel.offsets[s] + origins[s, 0]]
        scale = seasonal_scale(history, season_length)
        for w in range(n_windows):
            y, p = actual[s, w], values[s, w, :, 0]
            record = {
                roles.id: panel.ids[s],
                "window": w,
                "cutoff": times[rows[s, w, 0] - 1],
                "mae": mae(y, p),
                "mse": mse(y, p),
                "rmse": float(np.sqrt(mse(y, p))),
                "smape": smape(y, p),
                "mase": mae(y, p) / scale,
            }
            if quantiles:
                record["coverage"] = coverage(y, values[s, w, :, 1], values[s, w, :, -1])
            records.append(record)
    return BacktestResult(forecasts=forecasts, metrics=pd.DataFrame(records))
