"""Blocks shared by the networks: RevIN, segments, positions and the monotone quantile head.

Shape letters as in :mod:`tsattn.models` (``P`` lookback segments, ``M`` horizon segments,
``W`` steps per segment, ``T`` either ``L`` or ``H``).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

__all__ = [
    "PositionEmbedding",
    "QuantileHead",
    "RevIN",
    "SegmentEmbedding",
    "check_inputs",
    "expand_attention",
    "lookback_inputs",
    "make_revin",
    "monotone_quantiles",
    "n_segments",
    "to_segments",
]


class RevIN(nn.Module):
    """Reversible instance normalisation of the target, per window (Kim et al., ICLR 2022).

    ``forward`` returns ``loc`` and ``scale`` such that the window is ``z * scale + loc`` with
    ``z`` of zero mean and unit variance; a network normalises its input with them and maps its
    output back with ``y * scale + loc``. The optional affine map is folded into ``loc`` and
    ``scale``, and its gain is kept positive (``exp``), so de-normalising never reorders
    quantiles.

    Parameters
    ----------
    center : {'mean', 'last'}
        Subtract the window mean (RevIN), or the window's last value (as SegRNN does): then a
        zero output is the naive forecast, the safe start for random-walk-like series.
    affine : bool
        Learn a gain and a bias applied after normalising (undone when de-normalising).
    eps : float
        Added to the variance so that a flat window does not divide by zero.
    """

    def __init__(self, *, center: str = "mean", affine: bool = False, eps: float = 1e-5) -> None:
        super().__init__()
        if center not in ("mean", "last"):
            raise ValueError(f"center={center!r} is invalid; expected 'mean' or 'last'.")
        self.center = center
        self.eps = eps
        self.log_gain = nn.Parameter(torch.zeros(1)) if affine else None
        self.bias = nn.Parameter(torch.zeros(1)) if affine else None

    def forward(self, target: Tensor) -> tuple[Tensor, Tensor]:
        # The statistics are constants of the window (as in PatchTST): no gradient through them.
        mean = target.mean(dim=1, keepdim=True).detach()  # (B, 1, 1)
        var = target.var(dim=1, keepdim=True, unbiased=False).detach()  # (B, 1, 1)
        std = torch.sqrt(var + self.eps)  # (B, 1, 1)
        if self.center == "last":
            mean = target[:, -1:].detach()  # (B, 1, 1)
        if self.log_gain is None:
            return mean, std
        # z = (x - mean) / std * gain + bias  <=>  x = z * (std / gain) + (mean - bias * std / gain)
        scale = std * torch.exp(-self.log_gain)  # (B, 1, 1)
        return mean - self.bias * scale, scale


def n_segments(length: int, segment_length: int, stride: int) -> int:
    """Number of segments that cover ``length`` steps (the first one padded if needed)."""
    return math.ceil(max(length - segment_length, 0) / stride) + 1


def to_segments(
    x: Tensor, segment_length: int, stride: int, *, align: Literal["end", "start"] = "end"
) -> Tensor:
    """Cut ``(B, T, F)`` into ``(B, P, W * F)`` segments of ``W`` steps taken every ``stride``.

    ``P`` is :func:`n_segments` of ``T`` (``M`` when ``T`` is the horizon). ``align="end"`` pads
    the front by repeating the first step so that the last segment ends on the last step (the
    lookback: the most recent steps are never padding); ``align="start"`` pads the back by
    repeating the last step (the horizon: segment ``m`` covers steps ``m * W`` onwards).
    """
    length = x.shape[1]
    pad = (n_segments(length, segment_length, stride) - 1) * stride + segment_length - length
    if pad and align == "end":
        x = torch.cat([x[:, :1].expand(-1, pad, -1), x], dim=1)  # (B, T + pad, F)
    elif pad:
        x = torch.cat([x, x[:, -1:].expand(-1, pad, -1)], dim=1)  # (B, T + pad, F)
    segments = x.unfold(1, segment_length, stride)  # (B, P, F, W)
    return segments.transpose(2, 3).flatten(2)  # (B, P, W * F)


class SegmentEmbedding(nn.Module):
    """Embed each segment (patch) of ``W`` steps of ``F`` channels linearly into ``D``.

    ``segment_length=1`` embeds every timestep on its own (a per-step model).

    Parameters
    ----------
    n_channels : int
        Channels per timestep, ``F``.
    segment_length : int
        Steps per segment, ``W``.
    d_model : int
        Width of the embedding, ``D``.
    stride : int or None
        Steps between segment starts; ``None`` means ``segment_length`` (no overlap).
    align : {"end", "start"}
        Where the segments line up when ``W`` does not tile the window, see :func:`to_segments`.
    """

    def __init__(
        self,
        *,
        n_channels: int,
        segment_length: int,
        d_model: int,
        stride: int | None = None,
        align: Literal["end", "start"] = "end",
    ) -> None:
        super().__init__()
        self.segment_length, self.stride = segment_length, stride or segment_length
        self.align = align
        self.proj = nn.Linear(segment_length * n_channels, d_model)

    def forward(self, x: Tensor) -> Tensor:
        segments = to_segments(x, self.segment_length, self.stride, align=self.align)
        return self.proj(segments)  # (B, P, D), or (B, M, D) over the horizon


class PositionEmbedding(nn.Module):
    """Learned position table, initialised with the sinusoids of Vaswani et al. (2017).

    The sinusoids give distinct, smoothly varying positions from the first step; learning lets
    each position also carry what it means for the forecast (e.g. "3rd horizon segment").

    Parameters
    ----------
    n_positions, d_model : int
        Rows and width of the table.
    scale : float
        Multiplies the initial sinusoids, so that positions start small next to the data.
    """

    def __init__(self, n_positions: int, d_model: int, *, scale: float = 0.1) -> None:
        super().__init__()
        position = torch.arange(n_positions, dtype=torch.float32)[:, None]  # (n_positions, 1)
        freq = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10_000.0) / d_model))
        table = torch.zeros(n_positions, d_model)
        table[:, 0::2] = torch.sin(position * freq)
        table[:, 1::2] = torch.cos(position * freq[: d_model // 2])
        self.table = nn.Parameter(table * scale)

    def forward(self) -> Tensor:
        return self.table  # (n_positions, D): (P, D) or (M, D)


def monotone_quantiles(raw: Tensor) -> Tensor:
    """Map raw outputs ``(..., Q)`` to non-decreasing quantiles along the last axis.

    The first output is the lowest quantile; every next one adds a softplus (positive)
    increment, so quantiles never cross. With ``Q = 1`` this is the identity.
    """
    base, steps = raw[..., :1], raw[..., 1:]
    return torch.cat([base, base + F.softplus(steps).cumsum(dim=-1)], dim=-1)  # (..., Q)


class QuantileHead(nn.Module):
    """Linear map from ``M`` tokens of width ``D`` to the horizon, ``W`` steps per token.

    A direct head uses one token and ``steps_per_token = horizon`` (``M = 1``, ``W = H``); a
    segment decoder uses one token per horizon segment. Steps beyond ``horizon`` (padding of the
    last segment) are dropped and quantiles are made monotone, see :func:`monotone_quantiles`.

    Parameters
    ----------
    in_features : int
        Width of each token, ``D``.
    steps_per_token, horizon, n_quantiles : int
        ``W``, ``H`` and ``Q``.
    """

    def __init__(
        self, in_features: int, *, steps_per_token: int, horizon: int, n_quantiles: int
    ) -> None:
        super().__init__()
        self.horizon, self.n_quantiles = horizon, n_quantiles
        self.proj = nn.Linear(in_features, steps_per_token * n_quantiles)

    def forward(self, tokens: Tensor) -> Tensor:
        raw = self.proj(tokens)  # (B, M, W * Q)
        raw = raw.reshape(raw.shape[0], -1, self.n_quantiles)  # (B, M * W, Q)
        return monotone_quantiles(raw[:, : self.horizon])  # (B, H, Q)


def expand_attention(weights: Tensor, segment_length: int, horizon: int) -> Tensor:
    """Give each horizon step the attention row of its segment: ``(B, M, P) -> (B, H, P)``."""
    return weights.repeat_interleave(segment_length, dim=1)[:, :horizon]  # (B, H, P)


def check_inputs(
    net: nn.Module,
    past_covariates: Tensor | None,
    future_covariates: Tensor | None,
    static: Tensor | None,
) -> None:
    """Raise ``ValueError`` when an input does not match the covariate counts the net was built with.

    Without this a missing or mis-sized tensor surfaces as a matrix-shape error deep inside
    ``nn.Linear``. A tensor with zero channels counts as absent.
    """
    for name, arg, tensor in (
        ("past_covariates", "n_past_covariates", past_covariates),
        ("future_covariates", "n_future_covariates", future_covariates),
        ("static", "n_static", static),
    ):
        count = getattr(net, arg)
        width = 0 if tensor is None else tensor.shape[-1]
        if width == count:
            continue
        got = "None" if tensor is None else f"{width} channels"
        raise ValueError(
            f"{type(net).__name__} was built with {arg}={count} but {name} has {got}; "
            f"pass {name} with {count} channels or build the network with {arg}={width}."
        )


def lookback_inputs(
    target: Tensor, past_covariates: Tensor | None, future_covariates: Tensor | None
) -> Tensor:
    """Stack the (normalised) target with the covariates known over the lookback: ``(B, L, F)``.

    ``F = 1 + Cp + Cf``; known-future covariates contribute their first ``L`` steps.
    """
    parts = [target]
    if past_covariates is not None:
        parts.append(past_covariates)
    if future_covariates is not None:
        parts.append(future_covariates[:, : target.shape[1]])
    return torch.cat(parts, dim=-1)  # (B, L, F)


def make_revin(revin: bool | str) -> RevIN | None:
    """``True`` or ``'mean'``: RevIN; ``'last'``: last-value centring; ``False``: none."""
    if revin is False or revin is None:
        return None
    if revin is True:
        return RevIN()
    if isinstance(revin, str):
        return RevIN(center=revin)
    raise ValueError(f"revin={revin!r} is invalid; expected True, False, 'mean' or 'last'.")
