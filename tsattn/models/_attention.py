"""Attention blocks shared by the networks: score functions and the per-step lag attention.

Shape letters as in :mod:`tsattn.models` (``P`` lookback segments, ``M`` horizon segments,
``W`` steps per segment).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from tsattn.models._layers import PositionEmbedding, n_segments

__all__ = [
    "ABLATIONS",
    "ATTENTION_SCORES",
    "GATE_GAIN",
    "LAG_BIAS_GAIN",
    "AttentionScore",
    "StepAttention",
]

ATTENTION_SCORES = ("additive", "dot", "general")
#: Stand-ins for the ablation benchmark: equal weights over the lookback, or no attention at all.
ABLATIONS = ("uniform", "none")
AttentionScoreName = Literal["additive", "dot", "general", "uniform", "none"]
#: The lag bias and the copy gate are single numbers each moved by a few hundred steps of
#: AdamW at ~1e-3; these gains let them move as far as the weights they steer (a softmax
#: needs logits ~ln(L) apart to concentrate).
LAG_BIAS_GAIN, GATE_GAIN = 20.0, 10.0


class AttentionScore(nn.Module):
    """Score decoder states ``(B, M, D)`` against encoder states ``(B, P, D)``: ``(B, M, P)``."""

    def __init__(self, kind: AttentionScoreName, d_model: int) -> None:
        super().__init__()
        if kind not in ATTENTION_SCORES:
            raise ValueError(
                f"Unknown attention {kind!r}; expected one of {sorted(ATTENTION_SCORES)}."
            )
        self.kind, self.temperature = kind, math.sqrt(d_model)
        self.query = nn.Linear(d_model, d_model, bias=False) if kind != "dot" else None
        self.key = nn.Linear(d_model, d_model) if kind == "additive" else None
        self.energy = nn.Linear(d_model, 1, bias=False) if kind == "additive" else None

    def forward(self, queries: Tensor, keys: Tensor) -> Tensor:
        if self.kind == "additive":
            hidden = torch.tanh(self.query(queries)[:, :, None] + self.key(keys)[:, None])
            return self.energy(hidden).squeeze(-1)  # (B, M, P)
        if self.query is not None:
            queries = self.query(queries)  # (B, M, D)
        return queries @ keys.transpose(1, 2) / self.temperature  # (B, M, P)


class StepAttention(nn.Module):
    """Attention of every horizon step over every lookback step, with a lag bias and a copy.

    Queries: the decoder state of the step's segment, a learned position per horizon step and
    the step's embedded known-future covariates. Keys (and values): the encoder state of the
    lookback step's segment (the last one holding it when segments overlap, ``stride < W``)
    plus the step's own embedded inputs. Scores get a learned bias per
    lag ``h + L - j`` (``L + H - 1`` values, initially 0). Returns the weights ``(B, H, L)``,
    the context averaged per horizon segment ``(B, M, D)`` and the gated copy of the
    normalised target ``(B, H, 1)`` (gate per horizon step, initially 0).
    """

    def __init__(
        self,
        lookback: int,
        horizon: int,
        n_channels: int,
        n_future: int,
        d: int,
        segment_length: int,
        stride: int | None = None,
    ):
        super().__init__()
        self.lookback, self.horizon, self.segment_length = lookback, horizon, segment_length
        stride = stride or segment_length
        # the (last) encoder segment each lookback step lies in: segments of W steps every
        # stride, end-aligned with the front padded (SegmentEmbedding); as a one-hot (L, P)
        n_seg = n_segments(lookback, segment_length, stride)
        pad = (n_seg - 1) * stride + segment_length - lookback
        segment = torch.clamp((torch.arange(lookback) + pad) // stride, max=n_seg - 1)  # (L,)
        self.register_buffer("segment_of", segment, persistent=False)
        onehot = nn.functional.one_hot(segment, n_seg).float()  # (L, P)
        self.register_buffer("segment_onehot", onehot, persistent=False)
        self.inputs = nn.Linear(n_channels, d)
        self.future = nn.Linear(n_future, d) if n_future else None
        self.positions = PositionEmbedding(horizon, d)
        self.lag_bias = nn.Parameter(torch.zeros(lookback + horizon - 1))
        lag = torch.arange(horizon)[:, None] + lookback - torch.arange(lookback)[None]  # 1..
        self.register_buffer("lag_index", lag - 1, persistent=False)  # (H, L)
        self.gate = nn.Parameter(torch.zeros(horizon, 1))

    def forward(
        self,
        decoded: Tensor,
        memory: Tensor,
        x: Tensor,
        z: Tensor,
        future_covariates: Tensor | None,
        score: AttentionScore | None,
    ) -> tuple[Tensor, Tensor, Tensor]:
        L, H, W = self.lookback, self.horizon, self.segment_length
        if score is None:  # uniform
            weights = torch.full_like(x[:, :1, :1], 1 / L).expand(-1, H, L)  # (B, H, L)
        else:
            bias = LAG_BIAS_GAIN * self.lag_bias[self.lag_index]  # (H, L)
            queries = self._queries(decoded, future_covariates, W, score)  # (B, H, D)
            weights = torch.softmax(self._scores(score, queries, memory, x) + bias, dim=-1)
        # the keys are memory[segment of j] + inputs(x_j), and each row of weights sums to 1:
        # weights @ keys = (weights per segment) @ memory + inputs(weights @ x), without ever
        # building the (B, L, D) keys
        per_segment = weights @ self.segment_onehot  # (B, H, P)
        attended = per_segment @ memory + self.inputs(weights @ x)  # (B, H, D)
        pad = decoded.shape[1] * W - H  # the last horizon segment's steps beyond H
        if pad:
            attended = torch.cat([attended, attended[:, -1:].expand(-1, pad, -1)], dim=1)
        context = attended.unflatten(1, (decoded.shape[1], W)).mean(dim=2)  # (B, M, D)
        return weights, context, GATE_GAIN * self.gate * (weights @ z)  # ..., (B, H, 1)

    def _queries(
        self, decoded: Tensor, future_covariates: Tensor | None, W: int, score: AttentionScore
    ) -> Tensor:
        """``(B, H, D)`` queries: decoder state of the step's segment + step position + the
        step's embedded known-future covariates; for the bilinear score already multiplied by
        its matrix, each part on its own (``M`` segments, ``H`` positions), never ``B * H`` rows.
        """
        H = self.horizon
        project = score.query if score.kind == "general" else None
        positions = self.positions()  # (H, D)
        if project is not None:
            decoded, positions = project(decoded), project(positions)  # (B, M, D), (H, D)
        queries = decoded.repeat_interleave(W, dim=1)[:, :H] + positions  # (B, H, D)
        if self.future is not None:
            weight, bias = self.future.weight, self.future.bias  # (D, Cf), (D,)
            if project is not None:
                weight, bias = project.weight @ weight, project.weight @ bias
            queries = queries + nn.functional.linear(future_covariates[:, -H:], weight, bias)
        return queries

    def _scores(self, score: AttentionScore, queries: Tensor, memory: Tensor, x: Tensor) -> Tensor:
        """``(B, H, L)`` scores of the queries against the keys ``memory[seg(j)] + inputs(x_j)``.

        Bilinear scores split over the sum (``q.k = q.memory + (q A).x + q.b``), which costs
        ``(B, H, P + F)`` products instead of ``(B, H, L, D)``; the additive score needs the keys.
        ``queries`` are those of :meth:`_queries` (projected for the ``general`` score).
        """
        if score.kind == "additive":
            keys = memory[:, self.segment_of] + self.inputs(x)  # (B, L, D)
            return score(queries, keys)
        q = queries  # (B, H, D)
        by_segment = (q @ memory.transpose(1, 2))[..., self.segment_of]  # (B, H, L)
        by_input = (q @ self.inputs.weight) @ x.transpose(1, 2) + (q @ self.inputs.bias)[..., None]
        return (by_segment + by_input) / score.temperature  # (B, H, L)
