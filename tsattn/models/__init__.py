"""The networks: plain ``nn.Module`` classes that map a past window to ``(B, H, Q)`` forecasts.

Every network takes the same keyword arguments (``lookback``, ``horizon``, covariate counts,
``n_quantiles``, ``hidden_size``, ``num_layers``, ``dropout``, ``revin``) plus its own options, and
``forward(past_target, past_covariates=None, future_covariates=None, static=None, *,
return_attention=False)``. A new model is one module here plus one entry in ``MODELS``.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from tsattn.models.attention_lstm import AttentionLSTMNet
from tsattn.models.linear import LinearNet
from tsattn.models.lstm import LSTMNet
from tsattn.models.transformer import TransformerNet

__all__ = [
    "MODELS",
    "AttentionLSTMNet",
    "LSTMNet",
    "LinearNet",
    "TransformerNet",
    "build_model",
]

MODELS: dict[str, type[nn.Module]] = {
    "lstm": LSTMNet,
    "attention_lstm": AttentionLSTMNet,
    "transformer": TransformerNet,
    "linear": LinearNet,
}


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """Instantiate the network registered as ``name`` in ``MODELS`` with its keyword arguments.

    Parameters
    ----------
    name : str
        A key of ``MODELS``.
    **kwargs
        The network's keyword arguments (``lookback``, ``horizon``, ``hidden_size``, ...).

    Raises
    ------
    ValueError
        For a name that is not in ``MODELS``.

    Examples
    --------
    >>> net = build_model("lstm", lookback=96, horizon=24, hidden_size=64)
    >>> type(net).__name__
    'LSTMNet'
    """
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}; expected one of {sorted(MODELS)}.")
    return MODELS[name](**kwargs)
