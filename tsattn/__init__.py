"""tsattn: time-series forecasting with attention models and honest baselines.

Public names load on first use (PEP 562): ``import tsattn`` stays light, and optional
integrations (optuna, mlflow) are imported only by the modules that need them.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0.dev0"

_SOURCES = {
    "LSTMForecaster": "tsattn.neural",
    "AttentionLSTMForecaster": "tsattn.neural",
    "TransformerForecaster": "tsattn.neural",
    "LinearForecaster": "tsattn.neural",
    "NaiveForecaster": "tsattn.statistical",
    "SeasonalNaiveForecaster": "tsattn.statistical",
    "DriftForecaster": "tsattn.statistical",
    "MeanForecaster": "tsattn.statistical",
    "ETSForecaster": "tsattn.statistical",
    "ARIMAForecaster": "tsattn.statistical",
    "ThetaForecaster": "tsattn.statistical",
    "load": "tsattn.persistence",
    "backtest": "tsattn.evaluation",
    "BacktestResult": "tsattn.evaluation",
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
