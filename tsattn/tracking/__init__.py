"""MLflow tracking, a safe model flavor, the model registry and promotion.

* :class:`Tracker`: where ``fit(tracking=...)``, ``backtest(tracking=...)`` and
  ``tune(tracking=...)`` log (params, per-epoch losses, metrics, the data's hash, versions,
  device and precision, the validation report, plots); ``True`` means the default store.
* :func:`log_model` / :func:`load_model`: a fitted forecaster as an MLflow ``python_function``
  model whose artifacts are tsattn's own saved format (safetensors + JSON with checksums, no
  pickle); ``mlflow.pyfunc.load_model(uri).predict(history)`` forecasts, and
  ``mlflow models serve`` serves it.
* :func:`set_alias` and :func:`promote`: registry aliases (``champion``, ``challenger``) and a
  backtest-driven promotion (``tsattn promote``).

MLflow is imported only when these are used; ``import tsattn`` does not load it.
"""

from __future__ import annotations

import importlib
from typing import Any

_SOURCES = {
    "Tracker": "tsattn.tracking.runs",
    "default_uri": "tsattn.tracking.store",
    "log_model": "tsattn.tracking.flavor",
    "load_model": "tsattn.tracking.flavor",
    "PromotionResult": "tsattn.tracking.registry",
    "promote": "tsattn.tracking.registry",
    "set_alias": "tsattn.tracking.registry",
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module 'tsattn.tracking' has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
