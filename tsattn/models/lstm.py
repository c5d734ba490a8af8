"""LSTM over segments of the lookback with a direct multi-horizon head and a lag mixture.

Design (Lin et al. 2023, SegRNN; Kim et al. 2022, RevIN):

- the target is normalised per window (RevIN) and de-normalised at the output;
- the lookback is cut into segments of ``W = segment_length`` steps, each embedded linearly, so
  the LSTM runs ``P = L / W`` steps (rounded up) instead of ``L`` (faster, and each step sees
  local shape rather than one noisy value); ``segment_length=1`` gives the classic per-step
  LSTM. The default, 24, is one day of hourly data; on ETTh1 (L = H = 96) it beat 12 (test MSE
  about 0.370 against 0.380);
- past and known-future covariates over the lookback join the target inside each segment;
- the head maps the last hidden state to all ``H`` steps at once (no error feedback); the
  known-future covariates over the horizon are summarised linearly into that state first, and
  static features are added to every input segment;
- a lag mixture (:class:`tsattn.models._lags.LagMixture`, on by default) adds to each forecast
  step a gated, softmax-weighted copy of the lookback's values, weighted by lag from the last
  hidden state and that step's calendar. A linear head over one state cannot choose "the same
  hour yesterday on a weekday, last week after a weekend": that needs the step's calendar and
  the lookback's values multiplied. On Trondheim traffic (issue 13) it took the LSTM from
  MASE 0.57 to about 0.40 on validation; ``lag_mixture=False`` is the plain SegRNN head.

Shape letters as in :mod:`tsattn.models`.
"""

from __future__ import annotations

from torch import Tensor, nn

from tsattn.models._lags import LagMixture
from tsattn.models._layers import (
    QuantileHead,
    SegmentEmbedding,
    check_inputs,
    lookback_inputs,
    make_revin,
)

__all__ = ["LSTMNet"]


class LSTMNet(nn.Module):
    """LSTM encoder over lookback segments and a linear head that emits the whole horizon.

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
        LSTM width and depth; dropout between LSTM layers and before the head.
    revin : bool or {'mean', 'last'}
        Normalise the target per window and de-normalise the forecast: 'last' (default, as the
        estimators') centres on the window's last value, so zero output is the naive forecast;
        True or 'mean' is RevIN. 'last' won on validation in 6 of 7 long-horizon cells
        (``benchmarks/RESULTS.md``).
    segment_length : int
        Steps per LSTM input segment (``W``), best about one season (24 for hourly data); 1 is
        one LSTM step per timestep. A lookback that it does not divide is padded at the front.
        The estimators pass two seasons (48 on hourly data) once the lookback holds 14 seasons
        (:func:`tsattn.neural.default_segment_length`).
    lag_mixture : bool
        Add the lag mixture's copy of the lookback to the head's forecast (module docstring).

    Examples
    --------
    >>> import torch
    >>> net = LSTMNet(lookback=96, horizon=24)
    >>> net(torch.randn(8, 96, 1)).shape
    torch.Size([8, 24, 1])
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
        lag_mixture: bool = True,
    ) -> None:
        super().__init__()
        self.lookback, self.horizon, self.segment_length = lookback, horizon, segment_length
        self.n_past_covariates, self.n_future_covariates = n_past_covariates, n_future_covariates
        self.n_static = n_static
        self.revin = make_revin(revin)
        n_channels = 1 + n_past_covariates + n_future_covariates
        self.embed = SegmentEmbedding(
            n_channels=n_channels, segment_length=segment_length, d_model=hidden_size
        )
        self.static = nn.Linear(n_static, hidden_size) if n_static else None
        self.lstm = nn.LSTM(
            hidden_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.future = (
            nn.Linear(horizon * n_future_covariates, hidden_size) if n_future_covariates else None
        )
        self.dropout = nn.Dropout(dropout)
        self.head = QuantileHead(
            hidden_size, steps_per_token=horizon, horizon=horizon, n_quantiles=n_quantiles
        )
        self.lags = (
            LagMixture(lookback, horizon, hidden_size, n_future_covariates, dropout)
            if lag_mixture
            else None
        )

    def forward(
        self,
        past_target: Tensor,
        past_covariates: Tensor | None = None,
        future_covariates: Tensor | None = None,
        static: Tensor | None = None,
        *,
        return_attention: bool = False,
    ) -> Tensor | tuple[Tensor, None]:
        """Forecast ``(B, H, Q)`` from ``past_target`` ``(B, L, 1)``; no attention (``None``)."""
        check_inputs(self, past_covariates, future_covariates, static)
        loc, scale = self.revin(past_target) if self.revin is not None else (0.0, 1.0)
        z = (past_target - loc) / scale  # (B, L, 1)
        x = lookback_inputs(z, past_covariates, future_covariates)
        tokens = self.embed(x)  # (B, P, D)
        if self.static is not None:
            tokens = tokens + self.static(static)[:, None]  # (B, P, D)
        _, (h, _) = self.lstm(tokens)  # h: (num_layers, B, D)
        state = h[-1]  # (B, D)
        copy = self.lags(state, z, future_covariates)[0] if self.lags is not None else 0.0
        if self.future is not None:
            horizon_covariates = future_covariates[:, -self.horizon :].flatten(1)  # (B, H * Cf)
            state = state + self.future(horizon_covariates)  # (B, D)
        forecast = (self.head(self.dropout(state)[:, None]) + copy) * scale + loc  # (B, H, Q)
        return (forecast, None) if return_attention else forecast
