"""Seq2seq LSTM in which every decoder step attends over all encoder states.

Design (Bahdanau et al. 2015; Luong et al. 2015; See et al. 2017; SegRNN, Lin et al. 2023;
RevIN, Kim et al. 2022):

- the target is normalised per window (RevIN) and de-normalised at the output;
- the encoder LSTM runs over segments of ``segment_length`` steps of the lookback (target,
  past covariates and the lookback part of the known-future covariates, embedded linearly).
  The default, 24, is one day of hourly data; on ETTh1 (L = H = 96) it beat 12 (test MSE about
  0.374 against 0.380);
- the decoder LSTM starts from the encoder's final state and runs over the ``M = H / W``
  horizon segments. Its inputs are known in advance: a learned position per horizon segment
  plus the embedded known-future covariates of that segment, never its own earlier forecasts,
  so the whole decoder is one LSTM call and errors cannot compound;
- attention, by default one row per horizon *step* over every lookback *step*
  (``resolution="step"``): the query of forecast step ``h`` is its decoder state, its position
  and its known-future covariates (the calendar: "Tuesday 08:00"); the key of lookback step
  ``j`` is its encoder state plus its own embedded inputs (the calendar of that hour); a
  learned bias per lag ``h + L - j`` (initially 0) lets the scores prefer lags such as a day
  or a week directly. The context is the weighted keys, averaged over each horizon segment
  and combined with the decoder state as in Luong's attentional layer
  (``tanh(A [decoder state; context])``, mapped to the ``W`` steps of the segment). The same
  weights also *copy* the lookback's normalised target into the forecast (a pointer, as in
  See et al.'s pointer-generator), through a learned gate per horizon step that starts at 0.
  So the attention is what makes "the same hour last week" reach the forecast, and its map
  reads directly against the lookback's timestamps. ``resolution="segment"`` is the older,
  coarser variant: one row per horizon segment over the encoder's segment states, no copy;
- score functions: ``"additive"`` (Bahdanau), ``"general"`` or ``"dot"`` (Luong; scaled by
  ``1 / sqrt(D)``). For ablations, ``"uniform"`` replaces the learned weights by ``1 / P``
  (everything else unchanged) and ``"none"`` removes attention (a plain encoder-decoder);
- static features are added to every encoder and decoder input.

``segment_length=1`` gives the classic per-step encoder-decoder (slower; the additive score
then holds a ``(B, H, L, D)`` tensor, as it does at ``resolution="step"``).

Shape letters as in :mod:`tsattn.models`.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

from tsattn.models._attention import (
    ABLATIONS,
    ATTENTION_SCORES,
    AttentionScore,
    AttentionScoreName,
    StepAttention,
)
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

RESOLUTIONS = ("step", "segment")


class AttentionLSTMNet(nn.Module):
    """LSTM encoder-decoder with attention over the lookback, per step (default) or segment.

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
        Normalise the target per window and de-normalise the forecast: 'last' (default, as the
        estimators') centres on the window's last value, so zero output is the naive forecast;
        True or 'mean' is RevIN. 'last' won on validation in every long-horizon cell tried
        (``benchmarks/RESULTS.md``).
    segment_length : int
        Steps per encoder and decoder segment (``W``), best about one season (24 for hourly
        data); 1 is one LSTM step per timestep.
    attention : {"general", "dot", "additive", "uniform", "none"}
        Score function: Luong's bilinear, the plain dot product, or Bahdanau's MLP; the last
        two are ablations (equal weights; no attention).
    resolution : {"step", "segment"}
        Attention rows and columns per step (``P = L``; with the lag bias and the copy) or per
        segment (``P`` lookback segments; rows shared by the steps of a horizon segment).

    Raises
    ------
    ValueError
        For an unknown ``attention`` or ``resolution``.

    Examples
    --------
    >>> import torch
    >>> net = AttentionLSTMNet(lookback=96, horizon=24)
    >>> forecast, weights = net(torch.randn(8, 96, 1), return_attention=True)
    >>> forecast.shape, weights.shape
    (torch.Size([8, 24, 1]), torch.Size([8, 24, 96]))
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
        revin: bool | str = "last",
        segment_length: int = 24,
        attention: AttentionScoreName = "general",
        resolution: Literal["step", "segment"] = "step",
    ) -> None:
        super().__init__()
        if resolution not in RESOLUTIONS:
            raise ValueError(f"Unknown resolution {resolution!r}; expected one of {RESOLUTIONS}.")
        self.lookback, self.horizon, self.segment_length = lookback, horizon, segment_length
        self.n_past_covariates, self.n_future_covariates = n_past_covariates, n_future_covariates
        self.n_static, self.attention, self.resolution = n_static, attention, resolution
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
        self.score = AttentionScore(attention, d) if attention not in ABLATIONS else None
        self.steps = (
            StepAttention(lookback, horizon, n_channels, n_future_covariates, d, segment_length)
            if resolution == "step" and attention != "none"
            else None
        )
        self.combine = nn.Linear(d if attention == "none" else 2 * d, d)
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
    ) -> Tensor | tuple[Tensor, Tensor | None]:
        """Forecast ``(B, H, Q)``; with ``return_attention`` also the weights ``(B, H, P)``
        (None for ``attention="none"``)."""
        check_inputs(self, past_covariates, future_covariates, static)
        loc, scale = self.revin(past_target) if self.revin is not None else (0.0, 1.0)
        z = (past_target - loc) / scale  # (B, L, 1)
        x = lookback_inputs(z, past_covariates, future_covariates)  # (B, L, F)
        sources = self.embed(x)  # (B, P, D)
        queries = self.positions().expand(x.shape[0], -1, -1)  # (B, M, D)
        if self.future is not None:
            queries = queries + self.future(future_covariates[:, -self.horizon :])  # (B, M, D)
        if self.static is not None:
            context = self.static(static)[:, None]  # (B, 1, D)
            sources, queries = sources + context, queries + context
        memory, state = self.encoder(self.dropout(sources))  # (B, P, D)
        decoded, _ = self.decoder(self.dropout(queries), state)  # (B, M, D)
        weights, copy = None, 0.0
        if self.steps is not None:
            weights, attended, copy = self.steps(
                decoded, memory, x, z, future_covariates, self.score
            )  # (B, H, L), (B, M, D), (B, H, 1)
            hidden = torch.cat([decoded, attended], dim=-1)  # (B, M, 2D)
        elif self.attention != "none":
            weights = self._segment_weights(decoded, memory)  # (B, M, P)
            hidden = torch.cat([decoded, weights @ memory], dim=-1)  # (B, M, 2D)
            weights = expand_attention(weights, self.segment_length, self.horizon)  # (B, H, P)
        else:
            hidden = decoded  # (B, M, D)
        hidden = torch.tanh(self.combine(hidden))  # (B, M, D)
        forecast = (self.head(self.dropout(hidden)) + copy) * scale + loc  # (B, H, Q)
        return (forecast, weights) if return_attention else forecast

    def _segment_weights(self, decoded: Tensor, memory: Tensor) -> Tensor:
        if self.score is None:  # uniform
            return torch.full_like(decoded[..., :1], 1 / memory.shape[1]).expand(
                -1, -1, memory.shape[1]
            )  # (B, M, P)
        return torch.softmax(self.score(decoded, memory), dim=-1)  # (B, M, P)
