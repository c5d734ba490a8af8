"""Rolling-origin evaluation: forecasts from the last ``n_windows`` origins of every series.

Without refitting, the estimator is fit once on the data before the first origin and then
predicts every window of every series at once (networks in one batched pass). With
``refit=k`` it is refit on all data before every k-th window's origin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from tsattn.forecaster import _cut, backtest_origins, check_quantiles
from tsattn.metrics import coverage, mae, mse, seasonal_scale, smape

__all__ = ["BacktestResult", "backtest"]


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
    estimator: Any,
    df: Any,
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
        Passed to ``fit`` (``id_col``, covariate roles, ...).
    """
    quantiles = check_quantiles("quantiles", quantiles) or []
    if isinstance(refit, bool):
        every = 1 if refit else n_windows
    elif isinstance(refit, int | np.integer) and refit >= 1:
        every = int(refit)
    else:
        raise ValueError(f"refit={refit!r} is invalid; expected True, False or a positive integer.")
    est = clone(estimator)
    est._check_common()
    est._columns = _columns(fit_params)
    panel = est._validate(df, min_length=None, for_predict=False)
    horizon = est.horizon
    step = step or horizon
    held_out = calibration_windows * step
    origins = backtest_origins(
        panel, horizon, n_windows, step, est._min_history() + horizon + held_out
    )
    forecasts = []
    for first in range(0, n_windows, every):
        group = origins[:, first : first + every]
        est = clone(estimator).fit(_cut(panel, group[:, 0] - held_out).to_pandas(), **fit_params)
        if calibration_windows:
            est.calibrate(
                _cut(panel, group[:, 0]).to_pandas(), n_windows=calibration_windows, step=step
            )
        native, conformal = est._split_quantiles(quantiles)
        values = est._predict_windows(panel, group, native)  # (S, k, H, 1 + len(native))
        if conformal:  # each window's intervals scaled by the history before its origin
            values = np.stack(
                [
                    est._with_conformal(values[:, k], _cut(panel, group[:, k]), native, conformal)
                    for k in range(group.shape[1])
                ],
                axis=1,
            )
            order = [0] + [1 + (native + conformal).index(q) for q in quantiles]
            values = values[..., order]
        forecasts.append(values)
    values = np.concatenate(forecasts, axis=1)  # (S, n, H, 1 + Q)
    return _tidy(panel, origins, values, quantiles, season_length, fit_params)


def _columns(fit_params: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": fit_params.get("id_col", "unique_id"),
        "time": fit_params.get("time_col", "ds"),
        "target": fit_params.get("target_col", "y"),
        "past": list(fit_params.get("past_covariates") or []),
        "future": list(fit_params.get("future_covariates") or []),
        "static": list(fit_params.get("static_covariates") or []),
    }


def _tidy(panel, origins, values, quantiles, season_length, fit_params) -> BacktestResult:
    n_series, n_windows, horizon, _ = values.shape
    rows = (panel.offsets[:-1, None] + origins)[..., None] + np.arange(horizon)  # (S, n, H)
    actual = panel.target[rows].astype(np.float64)
    times = panel.timestamps()
    id_col = fit_params.get("id_col", "unique_id")
    time_col = fit_params.get("time_col", "ds")
    forecasts = pd.DataFrame(
        {
            id_col: np.repeat(panel.ids, n_windows * horizon),
            "window": np.tile(np.repeat(np.arange(n_windows), horizon), n_series),
            "cutoff": times[(rows[..., 0] - 1).ravel()].repeat(horizon),
            time_col: times[rows.ravel()],
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
                id_col: panel.ids[s],
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
