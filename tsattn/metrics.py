"""Point-forecast error metrics on arrays (any shape; the last axes are averaged)."""

from __future__ import annotations

import numpy as np

__all__ = [
    "METRICS",
    "coverage",
    "crps",
    "mae",
    "mape",
    "mase",
    "mse",
    "pinball",
    "rmse",
    "seasonal_scale",
    "smape",
]


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
    """In-sample MAE of the seasonal naive forecast: the MASE denominator.

    NaN when the history repeats itself exactly at lag ``season_length`` (a constant series at
    lag 1): MASE is then undefined. "Exactly" allows rounding: an MAE below ``1e-12`` of the
    series' largest absolute value counts as zero, so a noiseless synthetic season is flat too.

    Raises
    ------
    ValueError
        If the history has ``season_length`` values or fewer.
    """
    history = np.asarray(history, dtype=np.float64)
    if len(history) <= season_length:
        raise ValueError(
            f"MASE needs more than season_length={season_length} training values, got "
            f"{len(history)}; pass a longer history or a smaller season_length."
        )
    scale = float(np.mean(np.abs(history[season_length:] - history[:-season_length])))
    if scale <= 1e-12 * float(np.max(np.abs(history))):
        return float("nan")
    return scale


def mase(
    y_true: np.ndarray, y_pred: np.ndarray, *, history: np.ndarray, season_length: int = 1
) -> float:
    """Mean absolute scaled error (Hyndman & Koehler, 2006) against a training ``history``.

    Raises
    ------
    ValueError
        If the history repeats itself exactly at the seasonal lag (see :func:`seasonal_scale`),
        where the scale is 0 and MASE undefined.
    """
    scale = seasonal_scale(history, season_length)
    if np.isnan(scale):
        raise ValueError(
            f"MASE is undefined: the training history is constant at the seasonal lag "
            f"season_length={season_length} (its seasonal naive forecast is exact, so the scale "
            "is 0). Score this series with mae or smape, or pass a season_length at which it "
            "varies."
        )
    return mae(y_true, y_pred) / scale


def mape(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Mean absolute percentage error in percent; undefined (error) when a true value is 0."""
    y_true, y_pred = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if (y_true == 0).any():
        raise ValueError("MAPE is undefined when a true value is 0; use smape or mase instead.")
    return float(100 * np.mean(np.abs((y_true - y_pred) / y_true)))


def pinball(y_true: np.ndarray, y_quantiles: np.ndarray, quantiles: np.ndarray) -> float:
    """Mean pinball loss of ``y_quantiles`` (..., Q) at levels ``quantiles`` (Q,) against ``y_true`` (...)."""
    diff = np.asarray(y_true, dtype=float)[..., None] - np.asarray(
        y_quantiles, dtype=float
    )  # (..., Q)
    q = np.asarray(quantiles, dtype=float)
    return float(np.mean(np.maximum(q * diff, (q - 1) * diff)))


def crps(y_true: np.ndarray, y_quantiles: np.ndarray, quantiles: np.ndarray) -> float:
    """CRPS approximated from quantiles: twice the pinball loss averaged over the levels."""
    return 2.0 * pinball(y_true, y_quantiles, quantiles)


def coverage(y_true: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of true values inside ``[lower, upper]``."""
    y_true = np.asarray(y_true, dtype=float)
    return float(np.mean((y_true >= lower) & (y_true <= upper)))


METRICS = {"mae": mae, "mse": mse, "rmse": rmse, "mape": mape, "smape": smape}
