"""tsattn: time-series forecasting with attention models and honest baselines.

Public names load on first use (PEP 562): ``import tsattn`` stays light, and optional
integrations (optuna, mlflow) are imported only by the modules that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0.dev0"

#: Public names and the modules that define them; the estimator classes are those of the one
#: registry, ``tsattn.estimators.ESTIMATORS`` (a test keeps the two lists equal).
_SOURCES = {
    **dict.fromkeys(
        [
            "LSTMForecaster",
            "AttentionLSTMForecaster",
            "TransformerForecaster",
            "LinearForecaster",
            "NaiveForecaster",
            "SeasonalNaiveForecaster",
            "DriftForecaster",
            "MeanForecaster",
            "ETSForecaster",
            "ARIMAForecaster",
            "ThetaForecaster",
            "ESTIMATORS",
            "load",
        ],
        "tsattn.estimators",
    ),
    "backtest": "tsattn.evaluation",
    "BacktestResult": "tsattn.evaluation",
    "tune": "tsattn.tuning",
    "TuneResult": "tsattn.tuning",
}

__all__ = sorted([*_SOURCES, "__version__"])


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module 'tsattn' has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
