"""Export a fitted neural forecaster to ONNX, with the target scaling inside the graph.

The exported graph is as global as the network: it holds no per-series statistics. Each row of
a batch brings its series' :class:`~tsattn.data.scaling.SeriesScaler` statistics as inputs, so
a serving system feeds raw values and reads forecasts in the original units:

- ``past_target`` ``(B, L, 1)``: the last ``lookback`` raw target values;
- ``center`` and ``scale`` ``(B, 1)``: the series' target statistics, ``scaler_.center_[s, :1]``
  and ``scaler_.scale_[s, :1]`` (a new series uses those of its own history, as ``predict``);
- ``past_covariates`` ``(B, L, Cp)``: only if the model has past-only covariates;
- ``future_covariates`` ``(B, L + H, Cf)``: only if it has known-future or calendar features;
- ``static`` ``(B, Cs)``: only if it has static covariates.

The output ``forecast`` is ``(B, H, Q)`` in raw units; ``Q`` follows the model's quantile levels
(stored with the model as metadata ``tsattn.quantiles``; ``[]`` means one point forecast).
Covariates enter the graph already prepared, exactly as the network sees them: scaled with the
series' covariate statistics, calendar features appended, static features standardised.
:func:`onnx_inputs` builds all inputs for the final window of every series the way ``predict``
does, and is the reference for that layout.

Needs the ``onnx`` extra (``onnx``, ``onnxruntime``, ``onnxscript``); the export uses the
``torch.export``-based exporter (``torch.onnx.export(..., dynamo=True)``), which handles the
LSTM and the unfolded patches of every network with a dynamic batch axis.
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from tsattn.neural import NeuralForecaster

__all__ = ["ONNX_INPUTS", "export_onnx", "onnx_inputs"]

#: Graph inputs in order; the covariate ones appear only when the model uses them.
ONNX_INPUTS = ("past_target", "center", "scale", "past_covariates", "future_covariates", "static")
_MIN_OPSET = 18  # the torch.export-based exporter emits opset 18 or later


class _ScaledNet(nn.Module):
    """A network with the target scaling around it: raw window in, raw forecast out."""

    def __init__(self, net: nn.Module, covariates: tuple[str, ...]) -> None:
        super().__init__()
        self.net, self.covariates = net, covariates

    def forward(self, past_target: Tensor, center: Tensor, scale: Tensor, *covariates: Tensor):
        center, scale = center[:, :, None], scale[:, :, None]  # (B, 1, 1)
        given = dict(zip(self.covariates, covariates, strict=True))
        forecast = self.net(
            (past_target - center) / scale,  # (B, L, 1)
            given.get("past_covariates"),
            given.get("future_covariates"),
            given.get("static"),
        )  # (B, H, Q)
        return forecast * scale + center  # (B, H, Q)


def _check_forecaster(forecaster: Any) -> None:
    if not isinstance(forecaster, NeuralForecaster):
        raise TypeError(
            f"ONNX export needs a neural forecaster (LSTMForecaster, AttentionLSTMForecaster, "
            f"TransformerForecaster or LinearForecaster), got {type(forecaster).__name__}."
        )
    forecaster.check_fitted()


def _covariate_inputs(forecaster: Any) -> tuple[str, ...]:
    """Covariate inputs the fitted network takes, in ``ONNX_INPUTS`` order."""
    params = forecaster.network_params_
    counts = {
        "past_covariates": params["n_past_covariates"],
        "future_covariates": params["n_future_covariates"],
        "static": params["n_static"],
    }
    return tuple(name for name, count in counts.items() if count)


# Loggers whose warnings are notes about the exporter itself, not about the model:
# "torchvision is not installed. Skipping ..." and "Skipping constant folding for op Split ...".
_NOISY_LOGGERS = (
    "torch.onnx._internal.exporter._registration",
    "onnxscript.optimizer._constant_folding",
)


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Hide the exporter's notes about torch internals, which say nothing about the model."""
    loggers = [logging.getLogger(name) for name in _NOISY_LOGGERS]
    levels = [log.level for log in loggers]
    for log in loggers:
        log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            for message in (r".*were assigned during export", r"# The axis name"):
                warnings.filterwarnings("ignore", message=message, category=UserWarning)
            yield
    finally:
        for log, level in zip(loggers, levels, strict=True):
            log.setLevel(level)


def export_onnx(forecaster: Any, path: str | Path, *, opset: int | None = None) -> Path:
    """Write the fitted network, with the target scaling inside the graph, as one ONNX file.

    The graph maps raw past values and each series' scaling statistics to raw forecasts (inputs
    and output are listed in :mod:`tsattn.export`); the batch axis is dynamic. Metadata
    ``tsattn.quantiles``, ``tsattn.lookback``, ``tsattn.horizon``, ``tsattn.model`` and
    ``tsattn.inputs`` (JSON) describe the model to a serving system.

    Parameters
    ----------
    forecaster : NeuralForecaster
        A fitted ``LSTMForecaster``, ``AttentionLSTMForecaster``, ``TransformerForecaster`` or
        ``LinearForecaster``.
    path : str or pathlib.Path
        File to write (parent folders are created; an existing file is replaced).
    opset : int, optional
        ONNX opset version, at least 18; default: the exporter's own.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    TypeError
        For a forecaster without a network (e.g. ``NaiveForecaster``).
    sklearn.exceptions.NotFittedError
        Before ``fit``.
    ModuleNotFoundError
        When ``onnxscript`` (the exporter's dependency) is not installed.

    Examples
    --------
    >>> import onnxruntime as ort  # doctest: +SKIP
    >>> path = export_onnx(forecaster, "model.onnx")  # doctest: +SKIP
    >>> session = ort.InferenceSession(str(path))  # doctest: +SKIP
    >>> forecast = session.run(None, onnx_inputs(forecaster))[0]  # doctest: +SKIP
    """
    _check_forecaster(forecaster)
    if opset is not None and (
        not isinstance(opset, int) or isinstance(opset, bool) or opset < _MIN_OPSET
    ):
        raise ValueError(
            f"opset={opset!r} is invalid; expected an integer >= {_MIN_OPSET} (the exporter's "
            "minimum) or None for its default."
        )
    try:
        import onnxscript  # noqa: F401  (the exporter imports it; fail here with a clear message)
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            "ONNX export needs onnx, onnxruntime and onnxscript; install them with "
            "`pip install 'tsattn[onnx]'`."
        ) from err

    covariates = _covariate_inputs(forecaster)
    names = ["past_target", "center", "scale", *covariates]
    program = _export_program(forecaster, covariates, names, opset)
    program.model.metadata_props.update(
        {
            "tsattn.model": type(forecaster).__name__,
            "tsattn.lookback": str(forecaster.lookback),
            "tsattn.horizon": str(forecaster.horizon),
            "tsattn.quantiles": json.dumps(forecaster.quantile_levels),
            "tsattn.inputs": json.dumps(names),
        }
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    program.save(path, external_data=False)
    return path


def _export_program(
    forecaster: NeuralForecaster, covariates: tuple[str, ...], names: list[str], opset: int | None
) -> Any:
    """The ONNX program of the network with scaling around it, batch axis dynamic."""
    # A copy on the CPU in eval mode, so the forecaster's own network is left as it was.
    net = copy.deepcopy(forecaster.model_).to("cpu").eval()
    module = _ScaledNet(net, covariates).eval()
    example = _example_inputs(forecaster, covariates)
    batch = {0: "batch"}
    # torch.export wants the varargs as one nested entry, and none when they are empty.
    dynamic = (batch, batch, batch) + ((tuple(batch for _ in covariates),) if covariates else ())
    with _quiet_exporter(), torch.no_grad():
        program = torch.onnx.export(
            module,
            example,
            input_names=names,
            output_names=["forecast"],
            opset_version=opset,
            dynamic_shapes=dynamic,
            dynamo=True,
            verbose=False,
        )
    return program


def _example_inputs(forecaster: Any, covariates: tuple[str, ...]) -> tuple[Tensor, ...]:
    """Two rows of inputs of the right shapes for tracing; their values do not matter."""
    params = forecaster.network_params_
    lookback, horizon = forecaster.lookback, forecaster.horizon
    shapes = {
        "past_target": (lookback, 1),
        "center": (1,),
        "scale": (1,),
        "past_covariates": (lookback, params["n_past_covariates"]),
        "future_covariates": (lookback + horizon, params["n_future_covariates"]),
        "static": (params["n_static"],),
    }
    generator = torch.Generator().manual_seed(0)
    names = ("past_target", "center", "scale", *covariates)
    example = {name: torch.randn(2, *shapes[name], generator=generator) for name in names}
    example["scale"] = example["scale"].abs() + 1
    return tuple(example.values())


def onnx_inputs(forecaster: Any, df: Any = None, *, X_future: Any = None) -> dict[str, np.ndarray]:
    """Inputs of the exported graph for the final window of every series, as ``predict`` sees it.

    ``session.run(None, onnx_inputs(forecaster, df))[0]`` then equals the ``(S, H, Q)`` forecast
    behind ``forecaster.predict(df)``, row ``s`` for the ``s``-th series of ``predict``'s output.

    Parameters
    ----------
    forecaster : NeuralForecaster
        The fitted forecaster that was exported.
    df, X_future : DataFrame, optional
        History and known-future covariates, as for ``forecaster.predict``; default: the data
        given to ``fit``.

    Returns
    -------
    dict of str to numpy.ndarray
        float32 arrays keyed by input name (see :mod:`tsattn.export`), each with ``S`` rows.
    """
    _check_forecaster(forecaster)
    panel, future = forecaster.predict_inputs(df, X_future)
    windows, scaler = forecaster.last_windows(panel, future)
    batch = windows.gather(np.arange(len(windows)))
    rows = scaler.series_numbers(panel.ids)  # (S,)
    last = panel.offsets[1:, None] - forecaster.lookback + np.arange(forecaster.lookback)  # (S, L)
    inputs = {
        "past_target": panel.target[last][..., None],  # (S, L, 1)
        "center": scaler.center_[rows, :1],  # (S, 1)
        "scale": scaler.scale_[rows, :1],  # (S, 1)
    }
    for name in _covariate_inputs(forecaster):
        inputs[name] = getattr(batch, name).numpy()
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in inputs.items()}
