"""Point-forecast error metrics on arrays (any shape; the last axes are averaged)."""

from __future__ import annotations

import numpy as np

__all__ = ["mae", "mase", "mse", "rmse", "seasonal_scale", "smape"]


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute error."""
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred))))


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean squared error."""
    return float(np.mean((np.asarray(y_true) - np.asarray(y_pred)) ** 2))


def rmse(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Root mean squared error."""
    return float(np.sqrt(mse(y_true, y_pred)))


def smape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Symmetric mean absolute percentage error in percent (0 where both are 0)."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    denom = np.abs(y_true) + np.abs(y_pred)
    ratio = np.divide(2 * np.abs(y_true - y_pred), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100 * np.mean(ratio))


def seasonal_scale(history: np.ndarray, season_length: int) -> float:
    """In-sample MAE of the seasonal naive forecast: the MASE denominator."""
    history = np.asarray(history, dtype=float)
    if len(history) <= season_length:
        raise ValueError(
            f"MASE needs more than season_length={season_length} training values, got {len(history)}."
        )
    scale = float(np.mean(np.abs(history[season_length:] - history[:-season_length])))
    if scale == 0:
        raise ValueError(
            "the training series is constant at the seasonal lag, so MASE is undefined."
        )
    return scale


def mase(
    y_true: np.ndarray, y_pred: np.ndarray, *, history: np.ndarray, season_length: int = 1
) -> float:
    """Mean absolute scaled error (Hyndman & Koehler, 2006) against a training ``history``."""
    return mae(y_true, y_pred) / seasonal_scale(history, season_length)
