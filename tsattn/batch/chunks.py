"""Forecasting one chunk of series, skipping (with the reason) those that cannot be forecast.

Used by both engines: the local one calls it per chunk, the Spark one inside each pandas UDF.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tsattn.batch.config import JobConfig, one_line

__all__ = ["forecast_chunk"]


def forecast_chunk(est: Any, frame: pd.DataFrame, cfg: JobConfig) -> tuple[pd.DataFrame, dict]:
    """Forecasts of every series of ``frame`` that can be forecast, and ``{id: reason}`` of the
    others (a failing group is halved until the failing series are found)."""
    id_col = cfg.id_col
    lengths = frame.groupby(id_col, sort=False).size()
    short = lengths[lengths < est.min_history]
    skipped = {
        str(i): f"{n} rows up to as-of; the model needs {est.min_history}" for i, n in short.items()
    }
    frame = frame[~frame[id_col].isin(short.index)]
    parts = _predict_isolating(est, frame, cfg, skipped)
    if not parts:
        return pd.DataFrame(), skipped
    forecasts = pd.concat(parts, ignore_index=True)
    cutoff = frame.groupby(id_col, sort=False)[cfg.time_col].max()
    forecasts["cutoff"] = forecasts[id_col].map(cutoff)
    return forecasts, skipped


def _predict_isolating(est, frame, cfg, skipped) -> list[pd.DataFrame]:
    if frame.empty:
        return []
    try:
        return [pd.DataFrame(est.predict(frame, quantiles=cfg.quantiles or None))]
    except (ValueError, TypeError, ArithmeticError, np.linalg.LinAlgError) as err:
        ids = frame[cfg.id_col].unique()
        if len(ids) == 1:
            skipped[str(ids[0])] = one_line(err)
            return []
        half = set(ids[: len(ids) // 2])
        inside = frame[cfg.id_col].isin(half)
        return [
            *_predict_isolating(est, frame[inside], cfg, skipped),
            *_predict_isolating(est, frame[~inside], cfg, skipped),
        ]
