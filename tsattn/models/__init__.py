"""The networks: plain ``nn.Module`` classes that map a past window to ``(B, H, Q)`` forecasts.

Every network takes the same keyword arguments (``lookback``, ``horizon``, covariate counts,
``n_quantiles``, ``hidden_size``, ``num_layers``, ``dropout``, ``revin``) plus its own options, and
``forward(past_target, past_covariates=None, future_covariates=None, static=None, *,
return_attention=False)``. A new model is one module here plus one entry in ``MODELS``.

Shape letters, used in the shape comments and docstrings of every module here:

==========  ===============================================================================
``B``       batch (windows)
``L``       lookback: past steps seen per window
``H``       horizon: future steps predicted per window
``T``       a run of steps of either kind (``L`` or ``H``), where a function takes both
``F``       input channels per step: the target plus covariates, ``1 + Cp + Cf``
``Q``       quantile outputs per step (1 for a point forecast)
``D``       model width (``hidden_size``)
``P``       lookback segments: the encoder's tokens
``M``       horizon segments: the decoder's queries
``W``       steps per segment, its width (``segment_length``)
``Cp``      past covariates, known over the lookback only
``Cf``      known-future covariates, known over lookback and horizon
``Cs``      static features per series
==========  ===============================================================================

Outside this package (``tsattn.data``) ``S`` is the number of series and ``N`` the number of
rows; those letters are not used here.
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
