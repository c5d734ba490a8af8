"""Save and load fitted forecasters without pickle.

A saved forecaster is a directory:

* ``config.json``: format version, tsattn version, the estimator class (looked up in a fixed
  registry, never imported by name), its parameters, the data schema, scaler statistics and the
  sha256 of every tensor file;
* ``weights.safetensors``: the network's weights (neural forecasters only);
* ``history.safetensors``: the tail of each series that ``predict()`` without data continues.

Reading (:func:`read_config`, :func:`read_history`, :func:`read_weights`) trusts nothing in the
directory: the config must be small, shallow JSON whose fields have the types :func:`save` writes;
the sha256 of every tensor file is mandatory and checked before the file is read; tensors are read
with safetensors (which holds no code); the history's arrays must fit the config, and the weights'
tensor names and shapes must be those of the configured network, compared from the file header
and a network built on PyTorch's ``meta`` device before any real network is allocated. So a
damaged, truncated, tampered or mixed-up directory gives a one-line ``ValueError`` and never
executes anything. This module knows no estimator class: :func:`tsattn.estimators.load` looks the
saved class up in the registry and rebuilds the forecaster from what is read here.
"""

from __future__ import annotations

import hashlib
import json
import re
import reprlib
from pathlib import Path
from types import NoneType
from typing import Any

import numpy as np
import pandas as pd

from tsattn.data.panel import Panel, ValidationReport
from tsattn.params import is_int

__all__ = [
    "FORMAT_VERSION",
    "MAX_CONFIG_BYTES",
    "MAX_STEPS",
    "check_weight_shapes",
    "read_config",
    "read_history",
    "read_weights",
    "save",
]

FORMAT_VERSION = 1
CONFIG, WEIGHTS, HISTORY = "config.json", "weights.safetensors", "history.safetensors"

#: Largest ``config.json`` read: room for the scaler statistics of about 500 000 series.
MAX_CONFIG_BYTES = 64 * 2**20
#: Largest ``lookback``, ``horizon`` or other integer network argument a saved config may give.
MAX_STEPS = 1_000_000

#: The config's fields (``parent/child`` for nested ones), their JSON types, and whether they
#: are required (``"network"``: required in the config of a neural forecaster).
_FIELDS: dict[str, tuple[type | tuple[type, ...], bool | str]] = {
    "class": (str, True),
    "params": (dict, True),
    "columns": (dict, True),
    **{f"columns/{role}": (str, True) for role in ("id", "time", "target")},
    **{f"columns/{role}": (list, True) for role in ("past", "future", "static")},
    "freq": ((str, int), True),
    "tz": ((str, NoneType), True),
    "time_is_datetime": (bool, True),
    "output_polars": (bool, True),
    "time_kind": ((str, NoneType), False),
    "history": (dict, True),
    "history/ids": (list, True),
    "history/covariates": (list, True),
    "network": (dict, False),
    "network/name": (str, True),
    "network/params": (dict, True),
    "scaler": (dict, "network"),
    "static": (dict, False),
    "static/center": (list, True),
    "static/scale": (list, True),
    "conformal_scores": (list, False),
}
_JSON_NAMES = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    NoneType: "null",
}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_DAMAGED = "the saved model is damaged or was edited; save it again"
_MISMATCH = "the files come from different models — save the model again"


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
    lookback = forecaster.lookback
    # all that predict() without data reads, which can be more than lookback (a whole season)
    history = forecaster.history_.tail(
        None if lookback is None else max(lookback, forecaster.min_history)
    )
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
        "time_kind": getattr(forecaster, "time_kind_", None),
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
    """The saved config of directory ``path``, checked before any tensor file is read.

    Checks, in order: size and nesting of the JSON, format version, the type of every field,
    ``horizon`` and ``lookback`` (positive integers up to ``MAX_STEPS``, the same for the
    estimator and its network), and the mandatory sha256 of every tensor file.

    Raises
    ------
    FileNotFoundError
        When ``config.json`` or a tensor file it lists is missing.
    ValueError
        For anything damaged or inconsistent, in one line that names the file and the field.
    """
    file = path / CONFIG
    config = _parse_config(file)
    _check_version(path, config)
    _check_fields(file, config)
    _check_steps(file, config)
    _check_files(path, config)
    return config


def _parse_config(file: Path) -> dict[str, Any]:
    """The JSON object in ``file``, read only if it is no larger than ``MAX_CONFIG_BYTES``."""
    if not file.is_file():
        raise FileNotFoundError(
            f"{file.parent} holds no {CONFIG}; pass the directory written by forecaster.save()."
        )
    size = file.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ValueError(
            f"{file} has {size} bytes, over the {MAX_CONFIG_BYTES} bytes a tsattn config may "
            f"have; {_DAMAGED}."
        )
    try:
        config = json.loads(file.read_bytes())
    except RecursionError:  # the JSON decoder recurses once per level of nesting
        raise ValueError(
            f"{file} is not a valid tsattn config: nested too deeply; {_DAMAGED}."
        ) from None
    except ValueError as err:  # bad UTF-8, bad JSON, or an integer too long to convert
        raise ValueError(f"{file} is not valid JSON ({err}); {_DAMAGED}.") from err
    if not isinstance(config, dict) or config.get("format") != "tsattn-forecaster":
        raise ValueError(f"{file} is not a tsattn forecaster config.")
    return config


def _check_version(path: Path, config: dict[str, Any]) -> None:
    import tsattn

    if config.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} was saved in format version {config.get('format_version')!r} (tsattn "
            f"{config.get('tsattn_version')}); this tsattn {tsattn.__version__} reads version "
            f"{FORMAT_VERSION}. Load it with the tsattn version that saved it and refit."
        )


def _check_fields(file: Path, config: dict[str, Any]) -> None:
    """Every field the loader reads has the JSON type that :func:`save` writes."""
    for key, (kind, required) in _FIELDS.items():
        parent, _, name = key.rpartition("/")
        node = config.get(parent) if parent else config  # a parent is checked before its fields
        if node is None:
            continue  # an optional parent that is absent
        if name not in node:
            if required is True or (required == "network" and "network" in config):
                raise ValueError(
                    f"{file} is not a valid tsattn config: {key!r} is missing; {_DAMAGED}."
                )
            continue
        value = node[name]
        if not isinstance(value, kind):
            kinds = kind if isinstance(kind, tuple) else (kind,)
            raise ValueError(
                f"{file} is not a valid tsattn config: {key!r} is "
                f"{_JSON_NAMES.get(type(value), type(value).__name__)}; expected "
                f"{' or '.join(_JSON_NAMES[k] for k in kinds)}; {_DAMAGED}."
            )


def _check_steps(file: Path, config: dict[str, Any]) -> None:
    """``horizon``/``lookback`` are integers in 1..MAX_STEPS, equal for estimator and network."""
    network = config.get("network", {}).get("params")
    for name in ("horizon", "lookback"):
        value = config["params"].get(name)
        if name == "lookback" and value is None and network is None:
            continue  # a statistical forecaster over the whole history
        _check_size(file, name, value, low=1)
        if network is not None and network.get(name) != value:
            raise ValueError(
                f"{file} gives {name}={value} for the forecaster but {name}="
                f"{network.get(name)!r} for its network; {_DAMAGED}."
            )
    for name, value in (network or {}).items():
        if is_int(value):
            _check_size(file, f"network {name}", value, low=0)


def _check_size(file: Path, name: str, value: Any, *, low: int) -> None:
    if not is_int(value) or not low <= value <= MAX_STEPS:
        raise ValueError(
            f"{file} gives {name}={value!r}; expected an integer from {low} to {MAX_STEPS}; "
            f"{_DAMAGED}."
        )


def _check_files(path: Path, config: dict[str, Any]) -> None:
    """Every tensor file is recorded with a sha256 (not optional) and matches it."""
    files = config.get("files")
    expected = sorted({HISTORY, *([WEIGHTS] if "network" in config else [])})
    if (
        not isinstance(files, dict)
        or sorted(files) != expected
        or not all(isinstance(d, str) and _SHA256.fullmatch(d) for d in files.values())
    ):
        found = "no 'files' entry" if files is None else f"files={reprlib.repr(files)}"
        raise ValueError(
            f"{path / CONFIG} must record the sha256 of {expected} under 'files' but has "
            f"{found}; {_DAMAGED}."
        )
    for name, digest in files.items():
        file = path / name
        if not file.is_file():
            raise FileNotFoundError(f"{file} is missing; the saved model is incomplete.")
        if _sha256(file) != digest:
            raise ValueError(
                f"{file} does not match the sha256 recorded in {CONFIG}: it was modified or "
                "truncated after saving. Restore it or save the model again."
            )


def read_history(path: Path, config: dict[str, Any]) -> Panel:
    """The saved tail of every series, as a :class:`Panel` (checksums already checked).

    Raises ``ValueError`` when the arrays do not fit together or do not fit the config (the
    number of series, of rows, the covariates and the dtypes).
    """
    from safetensors import SafetensorError
    from safetensors.numpy import load_file as load_numpy

    try:
        arrays = load_numpy(str(path / HISTORY))
    except SafetensorError as err:
        raise ValueError(f"{path} cannot be loaded: {err}") from err
    _check_history(path / HISTORY, arrays, config)
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


def _check_history(file: Path, arrays: dict[str, np.ndarray], config: dict[str, Any]) -> None:
    """One offset per series boundary, one value per row in every array, the dtypes save writes.

    ``arrays`` holds ``offsets`` ``(S + 1,)`` and ``time``, ``target``, ``covariate_k`` ``(N,)``.
    """
    history, roles = config["history"], config["columns"]
    roles = [*roles["past"], *roles["future"], *roles["static"]]
    unsaved = [c for c in roles if c not in history["covariates"]]
    if unsaved:
        raise ValueError(
            f"{file.parent / CONFIG} gives covariate column(s) {unsaved} that its history does "
            f"not keep; {_DAMAGED}."
        )
    kinds = {"offsets": "i", "time": "i", "target": "f"}
    kinds |= {f"covariate_{k}": "f" for k in range(len(history["covariates"]))}
    if sorted(arrays) != sorted(kinds):
        raise ValueError(
            f"{file} holds {sorted(arrays)} but {CONFIG}'s history needs {sorted(kinds)}; "
            f"{_MISMATCH}."
        )
    for name, array in arrays.items():
        if array.ndim != 1 or array.dtype.kind not in kinds[name]:
            raise ValueError(
                f"{file}: {name!r} is a {array.ndim}-d {array.dtype} array, expected a 1-d "
                f"{'integer' if kinds[name] == 'i' else 'float'} one; {_MISMATCH}."
            )
    offsets, n_rows, n_series = arrays["offsets"], len(arrays["target"]), len(history["ids"])
    lengths = np.diff(offsets)
    if (
        len(offsets) != n_series + 1
        or offsets[0] != 0
        or offsets[-1] != n_rows
        or (lengths < 1).any()
    ):
        raise ValueError(
            f"{file}'s offsets do not split its {n_rows} rows into the {n_series} series "
            f"{CONFIG} names; {_MISMATCH}."
        )
    short = [name for name, array in arrays.items() if name != "offsets" and len(array) != n_rows]
    if short:
        raise ValueError(f"{file}: {short} do not have one value per row ({n_rows}); {_MISMATCH}.")


def read_weights(path: Path, network: dict[str, Any]) -> dict[str, Any]:
    """The network's tensors, read with safetensors onto the CPU (checksums already checked).

    Their names and shapes are compared with those of the network ``config.json`` describes
    (``network``: its ``name`` and ``params``) before any tensor is read.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    check_weight_shapes(path, network)
    try:
        return load_file(str(path / WEIGHTS), device="cpu")
    except SafetensorError as err:
        raise ValueError(f"{path / WEIGHTS} does not fit the saved network: {err}") from err


def check_weight_shapes(path: Path, network: dict[str, Any]) -> None:
    """Raise unless ``weights.safetensors`` has exactly the tensors of the configured network.

    Reads only the file's header, and builds the network on PyTorch's ``meta`` device, which
    allocates no memory: a config naming a huge network fails here in milliseconds.

    Raises
    ------
    ValueError
        Naming the first tensor that is missing, extra, or of another shape, with both shapes.
    """
    saved, expected = _saved_shapes(path / WEIGHTS), _network_shapes(path / CONFIG, network)
    if saved == expected:
        return
    name = next(k for k in [*expected, *saved] if saved.get(k) != expected.get(k))
    in_weights = "absent" if name not in saved else f"{saved[name]}"
    in_config = "absent" if name not in expected else f"{expected[name]}"
    steps = ", ".join(f"{k}={network['params'].get(k)}" for k in ("lookback", "horizon"))
    raise ValueError(
        f"{path / CONFIG}'s network ({steps}) does not match {WEIGHTS}: {name!r} is {in_weights} "
        f"in the weights but {in_config} for the config; the files come from different models "
        "— save the model again."
    )


def _saved_shapes(file: Path) -> dict[str, tuple[int, ...]]:
    """Tensor names and shapes from a safetensors header (no tensor data is read)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(file), framework="pt") as f:
            return {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
    except SafetensorError as err:
        raise ValueError(f"{file} does not fit the saved network: {err}") from err


def _network_shapes(file: Path, network: dict[str, Any]) -> dict[str, tuple[int, ...]]:
    """Parameter names and shapes of the network ``network`` describes, built on ``meta``."""
    import torch

    from tsattn.models import build_model

    try:
        with torch.device("meta"):
            model = build_model(network["name"], **network["params"])
    except (TypeError, ValueError, RuntimeError, ArithmeticError) as err:
        raise ValueError(
            f"{file}'s network {network['name']!r} cannot be built ({err}); {_DAMAGED}."
        ) from err
    return {k: tuple(v.shape) for k, v in model.state_dict().items()}
