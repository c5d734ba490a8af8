"""Save and load fitted forecasters without pickle.

A saved forecaster is a directory:

* ``config.json``: format version, tsattn version, the estimator class (looked up in a fixed
  registry, never imported by name), its parameters, the data schema, scaler statistics and the
  sha256 of every tensor file;
* ``weights.safetensors``: the network's weights (neural forecasters only);
* ``history.safetensors``: the tail of each series that ``predict()`` without data continues.

Reading (:func:`read_config`, :func:`read_history`, :func:`read_weights`) checks the checksums
before reading a tensor file, reads tensors with safetensors (which holds no code), and takes
everything else from JSON, so a tampered or truncated file gives a clear error and never executes
anything. This module knows no estimator class: :func:`tsattn.estimators.load` looks the saved
class up in the registry and rebuilds the forecaster from what is read here.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tsattn.data.panel import Panel, ValidationReport

__all__ = ["FORMAT_VERSION", "read_config", "read_history", "read_weights", "save"]

FORMAT_VERSION = 1
CONFIG, WEIGHTS, HISTORY = "config.json", "weights.safetensors", "history.safetensors"


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


def save(forecaster: Any, path: str | Path) -> Path:
    """Write a fitted forecaster to directory ``path`` (created; existing files replaced)."""
    from safetensors.numpy import save_file as save_numpy
    from safetensors.torch import save_file as save_torch

    import tsattn

    forecaster.check_fitted()
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    neural = hasattr(forecaster, "model_")
    history = forecaster.history_.tail(forecaster.lookback)
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
        "columns": forecaster.columns_.to_dict(),
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


def read_config(path: Path) -> dict[str, Any]:
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


def read_history(path: Path, config: dict[str, Any]) -> Panel:
    """The saved tail of every series, as a :class:`Panel` (checksums already checked)."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file as load_numpy

    try:
        arrays = load_numpy(str(path / HISTORY))
    except SafetensorError as err:
        raise ValueError(f"{path} cannot be loaded: {err}") from err
    covariate_names = config["history"]["covariates"]
    datetime = config["time_is_datetime"]
    return Panel(
        ids=np.asarray(config["history"]["ids"], dtype=object),
        offsets=arrays["offsets"],
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


def read_weights(path: Path) -> dict[str, Any]:
    """The network's tensors, read with safetensors onto the CPU (checksums already checked)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path / WEIGHTS), device="cpu")
    except SafetensorError as err:
        raise ValueError(f"{path / WEIGHTS} does not fit the saved network: {err}") from err
