"""Evaluation over the forecaster contract: rolling origins, backtest, conformal intervals, score.

Everything here works on validated panels through the small public interface every tsattn
forecaster has (:class:`PanelForecaster`): ``check_frame`` validates a frame with the
forecaster's settings, ``fit_panel`` learns from a panel and ``predict_panel`` forecasts from
given origins. It imports no forecaster class, so the forecaster base can offer ``score`` and
``calibrate`` as methods built on these functions without an import cycle.

Without refitting, a backtest fits once on the data before the first origin and then predicts
every window of every series at once (networks in one batched pass). With ``refit=k`` it refits
on all data before every k-th window's origin.

MASE scales each series by its in-sample seasonal-naive error, at the natural season of the
data's frequency unless ``season_length`` says otherwise. A series whose history repeats itself
exactly at that lag (a constant one, say) has no MASE: it is NaN there, left out of averages and
named in a ``UserWarning``.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.base import clone

from tsattn.data import timestamps
from tsattn.data.frames import (
    ColumnRoles,
    FrameLike,
    as_frame_like,
    is_polars,
    to_pandas_frame,
)
from tsattn.data.panel import Panel
from tsattn.data.validation import check_like_fitted
from tsattn.metrics import METRICS, coverage, mae, mse, seasonal_scale, smape
from tsattn.params import check_choice, check_param, check_quantiles
from tsattn.tracking.runs import log_backtest, ready_tracker

__all__ = [
    "BacktestResult",
    "PanelForecaster",
    "backtest",
    "conformal_intervals",
    "conformal_scores",
    "mase_scales",
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


def naive_scale(panel: Panel, *, flat: float = 1.0) -> np.ndarray:
    """``(S,)`` mean absolute one-step change of each series (``flat`` where it is constant)."""
    y = panel.target.astype(np.float64)
    diffs = np.abs(np.diff(y))
    series = panel.series_index()
    same = np.diff(series) == 0  # (N - 1,) consecutive rows of one series
    sums = np.bincount(series[1:][same], weights=diffs[same], minlength=panel.n_series)
    scale = sums / np.maximum(panel.lengths - 1, 1)
    return np.where(scale > 0, scale, flat)


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

    Each window's intervals are scaled by the history before its origin ``origins[:, k]``; a
    history that is constant has scale 0, so its interval is the point forecast itself (a
    statistical forecaster continues a constant series as that constant).
    """
    bands = [
        conformal_intervals(
            values[:, k, :, 0], scores, naive_scale(panel.cut(origins[:, k]), flat=0.0), levels
        )
        for k in range(origins.shape[1])
    ]
    return np.concatenate([values, np.stack(bands, axis=1)], axis=-1)


# -- score and backtest -----------------------------------------------------------------------------


def score(
    forecaster: PanelForecaster,
    panel: Panel,
    *,
    metric: str = "mase",
    season_length: int | None = None,
) -> float:
    """Error of forecasting the last ``horizon`` steps of every series of ``panel``.

    Lower is better: this is the error itself. ``BaseForecaster.score`` returns its negative,
    following scikit-learn's "greater is better" convention.

    The history is ``panel`` without its last ``horizon`` rows per series; the fitted forecaster
    forecasts from it (known-future covariates taken from those rows) and is compared with them.
    MASE is scaled per series by the in-sample seasonal-naive MAE and averaged over series; the
    other metrics pool all forecast steps.

    Parameters
    ----------
    metric : {'mase', 'mae', 'mse', 'rmse', 'mape', 'smape'}
        The error to compute.
    season_length : int, optional
        Period of the seasonal naive forecast that scales MASE; None (default): the natural
        season of the panel's frequency (hourly 24, daily 7, monthly 12, ...; see
        :func:`tsattn.data.timestamps.season_length`); 1: the naive forecast.

    Warns
    -----
    UserWarning
        Naming the series left out of the MASE average because their history repeats itself
        exactly at the seasonal lag (a constant series, say), which makes MASE undefined.

    Raises
    ------
    ValueError
        For MASE, when every series is such a series, or one is too short for the season.
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
    actual = actuals(panel, ends[:, None], horizon)[:, 0].astype(np.float64)  # (S, H)
    if metric != "mase":
        return METRICS[metric](actual, pred)
    scales = mase_scales(panel, ends, _season(season_length, panel))  # (S,), NaN: no MASE
    return float(np.nanmean(np.abs(actual - pred).mean(axis=1) / scales))


def mase_scales(panel: Panel, ends: np.ndarray, season_length: int) -> np.ndarray:
    """``(S,)`` MASE scale of each series' history before its local row ``ends[s]``.

    The scale is :func:`tsattn.metrics.seasonal_scale`: NaN for a series whose history repeats
    itself exactly at lag ``season_length``, which has no MASE. Such series are named in a
    ``UserWarning``; if every series is one, this raises a ``ValueError`` instead.
    """
    scales = np.empty(panel.n_series)
    for s in range(panel.n_series):
        history = panel.target[panel.offsets[s] : panel.offsets[s] + ends[s]]
        if len(history) <= season_length:
            raise ValueError(
                f"series {panel.ids[s]!r} has {len(history)} timesteps before its first forecast, "
                f"too few for the MASE scale at season_length={season_length} (it needs more "
                "than season_length); pass a smaller season_length, longer series or fewer "
                "windows."
            )
        scales[s] = seasonal_scale(history, season_length)
    flat = panel.ids[np.isnan(scales)]
    why = (
        f"its history repeats itself exactly at the seasonal lag season_length={season_length} "
        "(e.g. it is constant), so the seasonal naive scale is 0"
    )
    if len(flat) == panel.n_series:
        raise ValueError(
            f"MASE is undefined for every series ({_names(flat)}): for each, {why}. Use "
            "metric='mae' or 'smape', or pass a season_length at which the series vary."
        )
    if len(flat):
        warnings.warn(
            f"MASE is undefined for {len(flat)} of {panel.n_series} series ({_names(flat)}): "
            f"{why}. Their MASE is NaN and the average is over the other series; drop them, or "
            "compare them with mae or smape.",
            UserWarning,
            stacklevel=2,
        )
    return scales


def _names(ids: np.ndarray, first: int = 5) -> str:
    """The first few series ids for a message, e.g. ``'a', 'b' and 3 more``."""
    shown = ", ".join(repr(i) for i in ids[:first])
    return shown + (f" and {len(ids) - first} more" if len(ids) > first else "")


def _season(season_length: int | None, panel: Panel) -> int:
    """The explicit ``season_length``, or the natural season of the panel's frequency."""
    check_param("season_length", season_length, low=1, integer=True, allow_none=True)
    if season_length is None:
        return timestamps.season_length(panel.freq)
    return int(season_length)


@dataclass
class BacktestResult:
    """Forecasts and metrics of a backtest.

    Attributes
    ----------
    forecasts : pandas.DataFrame or polars.DataFrame (like the data given)
        ``unique_id, window, cutoff, ds, y, y_pred[, y_pred_q<q> ...]``: one row per forecast step.
    metrics : pandas.DataFrame or polars.DataFrame
        One row per series and window: ``mae, mse, rmse, smape, mase`` (and ``coverage`` of the
        widest quantile interval when quantiles were asked for). ``mase`` is NaN for the series
        in ``mase_skipped``.
    mase_skipped : list
        Ids of the series without a MASE: their history before the first origin repeats itself
        exactly at the seasonal lag (e.g. it is constant), so the MASE scale is 0.
    """

    forecasts: pd.DataFrame
    metrics: pd.DataFrame
    mase_skipped: list = field(default_factory=list)

    def summary(self) -> pd.Series | pd.DataFrame:
        """Metrics averaged over series and windows, and ``n_mase_skipped``.

        MASE is the mean of the per-window values over the series that have one;
        ``n_mase_skipped`` counts the series left out of it (listed in ``mase_skipped``).
        For a backtest of several models: one row per model (in the order given).
        """
        metrics = to_pandas_frame(self.metrics)
        if "model" in metrics.columns:
            id_col = metrics.columns[1]  # model, then the series id
            table = metrics.groupby("model", sort=False)[list(metrics.loc[:, "mae":])].mean()
            skipped = metrics[metrics["mase"].isna()].groupby("model", sort=False)[id_col]
            table["n_mase_skipped"] = skipped.nunique().reindex(table.index, fill_value=0)
            return table
        means = metrics.loc[:, "mae":].mean()  # the metric columns: mae onwards
        means["n_mase_skipped"] = len(self.mase_skipped)
        return means


def backtest(
    estimator: PanelForecaster | Mapping[str, PanelForecaster] | list[PanelForecaster],
    df: FrameLike,
    *,
    n_windows: int = 5,
    step: int | None = None,
    refit: bool | int | None = False,
    season_length: int | None = None,
    quantiles: list[float] | None = None,
    calibration_windows: int = 0,
    tracking: Any = None,
    **fit_params: Any,
) -> BacktestResult:
    """Evaluate ``estimator`` on the last ``n_windows`` forecast origins of every series.

    Parameters
    ----------
    estimator : BaseForecaster, or a dict or list of them
        An unfitted (or fitted: it is cloned) forecaster; with ``refit=None`` a fitted one,
        used as it is. Several (``{"name": est, ...}`` or a list, named by class): each is
        backtested on the same windows, and the result's tables start with a ``model`` column
        (``summary()`` has a row per model).
    df : DataFrame
        The whole history, pandas or polars, long format.
    n_windows, step : int
        Number of origins and steps between them (default: the horizon, so windows tile).
    refit : bool, int or None
        False: fit once before the first origin. True or 1: refit before every window; k: refit
        before every k-th window. None: no fit at all; the fitted ``estimator`` forecasts every
        window as it is (to compare trained models, e.g. registry versions, on data after
        their training period; column roles and frequency are the fitted ones).
    season_length : int, optional
        Period of the seasonal naive forecast that scales MASE; None (default): the natural
        season of the data's frequency (hourly 24, daily 7, monthly 12, ...; see
        :func:`tsattn.data.timestamps.season_length`); 1: the naive forecast. A series whose
        history repeats itself exactly at that lag gets a NaN MASE and a ``UserWarning``
        naming it (see :attr:`BacktestResult.mase_skipped`); if all do, a ``ValueError``.
    quantiles : list of float, optional
        Quantile levels to forecast: the model's own, or split-conformal ones when
        ``calibration_windows`` > 0.
    calibration_windows : int
        For conformal intervals: each fit stops this many windows (of ``step``) earlier, and
        those held-out windows calibrate the intervals (see ``calibrate``).
    tracking : bool, str or tsattn.tracking.Tracker, optional
        Log the backtest as an MLflow run (settings, data, mean and per-window metrics, a plot of
        the last window); see :mod:`tsattn.tracking`.
    **fit_params
        The column roles, as for ``fit`` (``id_col``, ``future_covariates``, ...).

    Returns
    -------
    BacktestResult
    """
    if isinstance(estimator, Mapping | list | tuple):  # several models: one tidy table
        settings = {"n_windows": n_windows, "step": step, "refit": refit, "quantiles": quantiles}
        settings |= {"season_length": season_length, "calibration_windows": calibration_windows}
        return _backtest_many(estimator, df, settings | {"tracking": tracking}, fit_params)
    quantiles = check_quantiles("quantiles", quantiles) or []
    tracker = ready_tracker(tracking)  # an unreachable store fails before any work
    if refit is None:
        result, panel = _backtest_fitted(estimator, df, n_windows, step, season_length, quantiles)
    else:
        result, panel = _backtest(
            estimator,
            df,
            n_windows,
            step,
            refit,
            season_length,
            quantiles,
            calibration_windows,
            fit_params,
        )
    settings = {"n_windows": n_windows, "step": step, "refit": refit, "horizon": estimator.horizon}
    log_backtest(tracker, estimator, panel, result, settings, getattr(df, "attrs", {}).get("name"))
    if is_polars(df):  # polars in, polars out
        result.forecasts = as_frame_like(result.forecasts, True)
        result.metrics = as_frame_like(result.metrics, True)
    return result


def _backtest_many(
    estimators: Any, df: FrameLike, settings: dict[str, Any], fit_params: dict[str, Any]
) -> BacktestResult:
    """:func:`backtest` of each estimator, stacked with a ``model`` column."""
    if not isinstance(estimators, Mapping):
        names = [type(est).__name__ for est in estimators]
        names = [
            f"{n}_{names[:k].count(n)}" if names.count(n) > 1 else n for k, n in enumerate(names)
        ]
        estimators = dict(zip(names, estimators, strict=True))
    if not estimators:
        raise ValueError("backtest needs at least one estimator; got an empty collection.")
    results = {
        name: backtest(est, df, **settings, **fit_params) for name, est in estimators.items()
    }
    polars = is_polars(df)

    def stacked(table: str) -> FrameLike:
        parts = [
            to_pandas_frame(getattr(r, table)).assign(model=name)  # added last, moved first
            for name, r in results.items()
        ]
        frame = pd.concat(parts, ignore_index=True)
        frame = frame[["model", *[c for c in frame.columns if c != "model"]]]
        return as_frame_like(frame, polars)

    skipped = sorted({i for r in results.values() for i in r.mase_skipped}, key=str)
    return BacktestResult(stacked("forecasts"), stacked("metrics"), skipped)


def _backtest_fitted(estimator, df, n_windows, step, season_length, quantiles):
    """:func:`backtest` with ``refit=None``: the fitted estimator forecasts every window."""
    estimator.check_fitted()
    panel = check_like_fitted(
        estimator.check_frame(df),
        estimator.time_is_datetime_,
        estimator.freq_,
        estimator.tz_,
    )
    horizon = estimator.horizon
    step = step or horizon
    origins = rolling_origins(panel, horizon, n_windows, step, estimator.min_history + horizon)
    values = estimator.predict_panel(panel, origins=origins, quantiles=quantiles)
    season = _season(season_length, panel)
    return _tidy(panel, origins, values, quantiles, season, estimator.columns_), panel


def _backtest(
    estimator, df, n_windows, step, refit, season_length, quantiles, calibration_windows, fit_params
):
    """:func:`backtest` with fits: before the first window, or every ``refit`` windows."""
    every = _refit_every(refit, n_windows)
    roles = ColumnRoles.from_kwargs(**fit_params)
    template = clone(estimator)
    panel = template.check_frame(df, roles=roles)
    if template.get_params().get("season_length", 0) is None:
        # a statistical model takes its season from the data at fit; min_history needs it now
        template.set_params(season_length=timestamps.season_length(panel.freq))
    horizon = template.horizon
    step = step or horizon
    held_out = calibration_windows * step
    min_history = template.min_history + horizon + held_out
    origins = rolling_origins(panel, horizon, n_windows, step, min_history)
    forecasts = []
    for first in _progress(range(0, n_windows, every), type(estimator).__name__):
        group = origins[:, first : first + every]
        est = clone(estimator).fit_panel(panel.cut(group[:, 0] - held_out), roles)
        if calibration_windows:
            est.conformal_scores_ = conformal_scores(
                est, panel.cut(group[:, 0]), n_windows=calibration_windows, step=step
            )
        forecasts.append(est.predict_panel(panel, origins=group, quantiles=quantiles))
    values = np.concatenate(forecasts, axis=1)  # (S, n, H, 1 + Q)
    return _tidy(panel, origins, values, quantiles, _season(season_length, panel), roles), panel


def _progress(groups: range, name: str) -> Any:
    """``groups`` of backtest windows, with a progress bar in an interactive terminal when
    the estimator is fitted more than once."""
    from tqdm.auto import tqdm

    show = len(groups) > 1 and sys.stderr.isatty()
    return tqdm(groups, desc=f"backtest {name}", unit="fit", leave=False, disable=not show)


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
    scales = mase_scales(panel, origins[:, 0], season_length)  # (S,), NaN: no MASE
    records = []
    for s in range(n_series):
        scale = scales[s]
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
    skipped = panel.ids[np.isnan(scales)].tolist()
    return BacktestResult(forecasts=forecasts, metrics=pd.DataFrame(records), mase_skipped=skipped)
