"""Save and load fitted forecasters without pickle.

A saved forecaster is a directory:

* ``config.json``: format version, tsattn version, the estimator class (looked up in a fixed
  registry, never imported by name), its parameters, the data schema, scaler statistics and the
  sha256 of every tensor file;
* ``weights.safetensors``: the network's weights (neural forecasters only);
* ``history.safetensors``: the tail of each series that ``predict()`` without data continues.

Loading checks the checksums before reading a tensor file, reads tensors with safetensors (which
holds no code), and rebuilds everything else from JSON, so a tampered or truncated file gives a
clear error and never executes anything.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tsattn.data.panel import Panel, ValidationReport

__all__ = ["FORMAT_VERSION", "load", "save"]

FORMAT_VERSION = 1
CONFIG, WEIGHTS, HISTORY = "config.json", "weights.safetensors", "history.safetensors"


def _registry() -> dict[str, type]:
    from tsattn import neural, statistical

    classes = [getattr(neural, n) for n in neural.__all__ if n != "NeuralForecaster"]
    classes += [getattr(statistical, n) for n in statistical.__all__]
    return {cls.__name__: cls for cls in classes}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _tail(panel: Panel, length: int | None) -> Panel:
    """The last ``length`` rows of every series (all rows when None)."""
    keep = panel.lengths if length is None else np.minimum(panel.lengths, length)
    return panel.slice_series(panel.lengths - keep, panel.lengths)


def save(forecaster: Any, path: str | Path) -> Path:
    """Write a fitted forecaster to directory ``path`` (created; existing files replaced)."""
    from safetensors.numpy import save_file as save_numpy
    from safetensors.torch import save_file as save_torch

    import tsattn

    forecaster._check_fitted()
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    neural = hasattr(forecaster, "model_")
    history = _tail(forecaster.history_, forecaster.lookback)
    tensors = {
        "target": history.target,
        "time": history.time.view(np.int64) if history.time.dtype.kind == "M" else history.time,
        "offsets": history.offsets,
    }
    for k, name in enumerate(history.covariates):
        tensors[f"covariate_{k}"] = history.covariates[name]
    save_numpy({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(path / HISTORY))
    files = {HISTORY: _sha256(path / HISTORY)}
    config: dict[str, Any] = {
        "format": "tsattn-forecaster",
        "format_version": FORMAT_VERSION,
        "tsattn_version": tsattn.__version__,
        "class": type(forecaster).__name__,
        "params": _jsonable(forecaster.get_params()),
        "columns": forecaster.columns_,
        "freq": _jsonable(forecaster.freq_),
        "tz": forecaster.tz_,
        "time_is_datetime": forecaster.time_is_datetime_,
        "output_polars": forecaster.output_polars_,
        "history": {"ids": _jsonable(list(history.ids)), "covariates": list(history.covariates)},
    }
    if neural:
        state = {
            k: v.detach().to("cpu").contiguous().clone()
            for k, v in forecaster.model_.state_dict().items()
        }
        save_torch(state, str(path / WEIGHTS))
        files[WEIGHTS] = _sha256(path / WEIGHTS)
        config["network"] = {
            "name": forecaster.model_name,
            "params": _jsonable(forecaster.network_params_),
        }
        config["scaler"] = forecaster.scaler_.get_state()
        if hasattr(forecaster, "static_center_"):
            config["static"] = {
                "center": forecaster.static_center_,
                "scale": forecaster.static_scale_,
            }
    if hasattr(forecaster, "conformal_scores_"):
        config["conformal_scores"] = forecaster.conformal_scores_
    config["files"] = files
    (path / CONFIG).write_text(json.dumps(config, indent=1))
    return path


def _read_config(path: Path) -> dict[str, Any]:
    import tsattn

    if not (path / CONFIG).is_file():
        raise FileNotFoundError(
            f"{path} holds no {CONFIG}; pass the directory written by forecaster.save()."
        )
    try:
        config = json.loads((path / CONFIG).read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(
            f"{path / CONFIG} is not valid JSON ({err}); the saved model is damaged."
        ) from err
    if not isinstance(config, dict) or config.get("format") != "tsattn-forecaster":
        raise ValueError(f"{path / CONFIG} is not a tsattn forecaster config.")
    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} was saved in format version {config.get('format_version')!r} (tsattn "
            f"{config.get('tsattn_version')}); this tsattn {tsattn.__version__} reads version "
            f"{FORMAT_VERSION}. Load it with the tsattn version that saved it and refit."
        )
    for name, digest in config.get("files", {}).items():
        if name not in (WEIGHTS, HISTORY):
            raise ValueError(f"{path / CONFIG} lists an unexpected file {name!r}.")
        file = path / name
        if not file.is_file():
            raise FileNotFoundError(f"{file} is missing; the saved model is incomplete.")
        if _sha256(file) != digest:
            raise ValueError(
                f"{file} does not match the sha256 recorded in {CONFIG}: it was modified or "
                "truncated after saving. Restore it or save the model again."
            )
    return config


def load(path: str | Path) -> Any:
    """Load a forecaster written by :func:`save` (or ``forecaster.save``)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file as load_numpy

    path = Path(path)
    config = _read_config(path)
    registry = _registry()
    cls = registry.get(config.get("class"))
    if cls is None:
        raise ValueError(
            f"{path / CONFIG} names class {config.get('class')!r}, which is not one of {sorted(registry)}."
        )
    try:
        forecaster = cls(**config["params"])
        arrays = load_numpy(str(path / HISTORY))
    except (TypeError, SafetensorError) as err:
        raise ValueError(f"{path} cannot be loaded: {err}") from err
    covariate_names = config["history"]["covariates"]
    offsets = arrays["offsets"]
    datetime = config["time_is_datetime"]
    panel = Panel(
        ids=np.asarray(config["history"]["ids"], dtype=object),
        offsets=offsets,
        time=arrays["time"].view("datetime64[ns]") if datetime else arrays["time"],
        target=arrays["target"],
        covariates={name: arrays[f"covariate_{k}"] for k, name in enumerate(covariate_names)},
        freq=config["freq"],
        tz=config["tz"],
        report=ValidationReport(counts=pd.DataFrame()),
        id_col=config["columns"]["id"],
        time_col=config["columns"]["time"],
        target_col=config["columns"]["target"],
    )
    forecaster.columns_ = config["columns"]
    forecaster.freq_, forecaster.tz_ = config["freq"], config["tz"]
    forecaster.time_is_datetime_, forecaster.output_polars_ = datetime, config["output_polars"]
    forecaster.history_ = panel
    if "conformal_scores" in config:
        forecaster.conformal_scores_ = config["conformal_scores"]
    if "network" in config:
        _load_network(forecaster, path, config)
    else:
        forecaster.n_series_ = panel.n_series
    return forecaster


def _load_network(forecaster: Any, path: Path, config: dict[str, Any]) -> None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from tsattn.data.features import SeriesScaler
    from tsattn.models import build_model

    network = config["network"]
    if network.get("name") != forecaster.model_name:
        raise ValueError(
            f"{path / CONFIG}: network {network.get('name')!r} does not belong to {type(forecaster).__name__}."
        )
    try:
        model = build_model(network["name"], **network["params"])
        state = load_file(str(path / WEIGHTS), device="cpu")
        model.load_state_dict(state, strict=True)
    except (TypeError, RuntimeError, SafetensorError) as err:
        raise ValueError(f"{path / WEIGHTS} does not fit the saved network: {err}") from err
    forecaster.model_ = model.eval()
    forecaster.network_params_ = network["params"]
    forecaster.scaler_ = SeriesScaler.from_state(config["scaler"])
    if "static" in config:
        forecaster.static_center_ = config["static"]["center"]
        forecaster.static_scale_ = config["static"]["scale"]
