"""The registry of estimators, and loading a saved one (which needs the registry).

``ESTIMATORS`` maps each short name (``"lstm"``, ``"ets"``, ...) to its class. It is the one
list that ``tsattn``'s public names, :func:`load`, the CLI, and tuning and tracking code use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tsattn.forecaster import BaseForecaster
from tsattn.neural import (
    AttentionLSTMForecaster,
    LinearForecaster,
    LSTMForecaster,
    TransformerForecaster,
)
from tsattn.persistence import CONFIG, WEIGHTS, read_config, read_history, read_weights
from tsattn.statistical import (
    ARIMAForecaster,
    DriftForecaster,
    ETSForecaster,
    MeanForecaster,
    NaiveForecaster,
    SeasonalNaiveForecaster,
    ThetaForecaster,
)

__all__ = ["ESTIMATORS", "get_estimator", "load"]

#: Short names and the estimator classes they stand for.
ESTIMATORS: dict[str, type[BaseForecaster]] = {
    "lstm": LSTMForecaster,
    "attention_lstm": AttentionLSTMForecaster,
    "transformer": TransformerForecaster,
    "linear": LinearForecaster,
    "naive": NaiveForecaster,
    "seasonal_naive": SeasonalNaiveForecaster,
    "drift": DriftForecaster,
    "mean": MeanForecaster,
    "ets": ETSForecaster,
    "arima": ARIMAForecaster,
    "theta": ThetaForecaster,
}
_BY_CLASS_NAME = {cls.__name__: cls for cls in ESTIMATORS.values()}


def get_estimator(name: str) -> type[BaseForecaster]:
    """The class registered as ``name`` (a short name such as ``"lstm"`` or a class name)."""
    cls = ESTIMATORS.get(name) or _BY_CLASS_NAME.get(name)
    if cls is None:
        raise ValueError(
            f"Unknown estimator {name!r}; expected one of {sorted(ESTIMATORS)} (or a class name "
            f"such as {sorted(_BY_CLASS_NAME)[0]!r})."
        )
    return cls


def load(path: str | Path) -> BaseForecaster:
    """Load a forecaster written by ``forecaster.save(path)``; never unpickles anything.

    The class comes from the registry by the name in the saved config, its parameters from JSON,
    and tensors from checksummed safetensors files.
    """
    path = Path(path)
    config = read_config(path)
    cls = _BY_CLASS_NAME.get(config.get("class"))
    if cls is None:
        raise ValueError(
            f"{path / CONFIG} names class {config.get('class')!r}, which is not one of "
            f"{sorted(_BY_CLASS_NAME)}."
        )
    try:
        forecaster = cls(**config["params"])
    except TypeError as err:
        raise ValueError(f"{path} cannot be loaded: {err}") from err
    history = read_history(path, config)
    weights: Any = read_weights(path) if "network" in config else None
    try:
        return forecaster.restore(config, history, weights)
    except ValueError as err:
        where = path / (WEIGHTS if weights is not None else CONFIG)
        raise ValueError(f"{where}: {err}") from err
