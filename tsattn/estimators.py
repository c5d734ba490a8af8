"""The registry of estimators, and loading a saved one (which needs the registry).

``ESTIMATORS`` maps each short name (``"lstm"``, ``"ets"``, ...) to its class. It is the one
list that ``tsattn``'s public names, :func:`load`, the CLI, and tuning and tracking code use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tsattn.data.panel import Panel
from tsattn.forecaster import BaseForecaster
from tsattn.neural import (
    AttentionLSTMForecaster,
    LinearForecaster,
    LSTMForecaster,
    TransformerForecaster,
)
from tsattn.persistence import (
    CONFIG,
    HISTORY,
    WEIGHTS,
    read_config,
    read_history,
    read_weights,
)
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
    and tensors from checksummed safetensors files. Everything is checked before it is used (see
    :mod:`tsattn.persistence`): the network's tensor shapes against the config before any network
    is built, and the saved history against what the forecaster needs to predict.

    Raises
    ------
    ValueError
        In one line, for a damaged, edited or mixed-up directory.
    FileNotFoundError
        When ``config.json`` or a file it lists is missing.

    Examples
    --------
    >>> est = tsattn.load("models/store_lstm")  # doctest: +SKIP
    >>> est.predict()  # doctest: +SKIP
    """
    path = Path(path)
    config = read_config(path)
    cls = _BY_CLASS_NAME.get(config["class"])
    if cls is None:
        raise ValueError(
            f"{path / CONFIG} names class {config['class']!r}, which is not one of "
            f"{sorted(_BY_CLASS_NAME)}."
        )
    history = read_history(path, config)
    weights: Any = read_weights(path, config["network"]) if "network" in config else None
    try:
        forecaster = cls(**config["params"])
        _check_history_length(path / HISTORY, history, forecaster)
    except TypeError as err:  # an unknown parameter, or one of the wrong type
        raise ValueError(f"{path} cannot be loaded: {err}") from err
    try:
        return forecaster.restore(config, history, weights)
    except (ValueError, TypeError) as err:
        where = path / (WEIGHTS if weights is not None else CONFIG)
        raise ValueError(f"{where}: {err}") from err


def _check_history_length(file: Path, history: Panel, forecaster: BaseForecaster) -> None:
    """Raise unless every saved series is long enough for ``predict()`` without data."""
    need = forecaster.min_history
    short = np.flatnonzero(history.lengths < need)
    if short.size:
        s = short[0]
        raise ValueError(
            f"{file} keeps {history.lengths[s]} rows of series {history.ids[s]!r} but "
            f"{type(forecaster).__name__} needs {need} to forecast; the files come from "
            "different models — save the model again."
        )
