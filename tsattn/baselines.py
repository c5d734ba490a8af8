"""Statistical baselines as vectorised functions of the lookback window.

Each maps past values ``(B, L)`` to forecasts ``(B, H)`` with no loop over windows, so a
backtest predicts every window of every series at once.
"""

from __future__ import annotations

import numpy as np

__all__ = ["drift", "mean", "naive", "seasonal_naive"]


def naive(past: np.ndarray, horizon: int) -> np.ndarray:
    """Repeat the last value."""
    return np.repeat(past[:, -1:], horizon, axis=1)  # (B, H)


def seasonal_naive(past: np.ndarray, horizon: int, season_length: int) -> np.ndarray:
    """Repeat the last full season: step h takes the value ``season_length`` steps before it."""
    if past.shape[1] < season_length:
        raise ValueError(
            f"seasonal naive needs lookback >= season_length={season_length}, got {past.shape[1]}."
        )
    last_season = past[:, past.shape[1] - season_length :]  # (B, m)
    return last_season[:, np.arange(horizon) % season_length]  # (B, H)


def mean(past: np.ndarray, horizon: int) -> np.ndarray:
    """The lookback mean."""
    return np.repeat(past.mean(axis=1, keepdims=True), horizon, axis=1)  # (B, H)


def drift(past: np.ndarray, horizon: int) -> np.ndarray:
    """The line through the first and last lookback values, extended."""
    slope = (past[:, -1] - past[:, 0]) / max(past.shape[1] - 1, 1)  # (B,)
    return past[:, -1:] + slope[:, None] * np.arange(1, horizon + 1)  # (B, H)
