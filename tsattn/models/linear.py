"""DLinear (Zeng et al., AAAI 2023): trend and remainder, each mapped to the horizon linearly.

The baseline that many deep forecasters fail to beat on long horizons. The normalised lookback
is split into a moving-average trend and the remainder; one linear map ``L -> H`` each, summed.
With RevIN (Kim et al. 2022) this is close to RLinear. Covariates, when given, enter through one
more linear map of everything they hold (lookback and horizon, flattened), so the network stays
a linear model of its inputs.

Shape letters as in :mod:`tsattn.models`.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from tsattn.models._layers import check_inputs, make_revin, monotone_quantiles

__all__ = ["LinearNet"]


def moving_average(x: Tensor, kernel_size: int) -> Tensor:
    """Centred moving average of ``(B, L)`` with the ends padded by repetition: ``(B, L)``."""
    front, back = (kernel_size - 1) // 2, kernel_size // 2
    padded = torch.cat(
        [x[:, :1].expand(-1, front), x, x[:, -1:].expand(-1, back)], dim=1
    )  # (B, L + kernel_size - 1)
    return F.avg_pool1d(padded[:, None], kernel_size, stride=1)[:, 0]  # (B, L)


class LinearNet(nn.Module):
    """DLinear: moving-average decomposition and two linear maps from lookback to horizon.

    Parameters
    ----------
    lookback, horizon : int
        Past steps seen (``L``) and future steps predicted (``H``) per window.
    n_past_covariates, n_future_covariates, n_static : int
        Covariates known over the lookback only (``Cp``), known over lookback and horizon
        (``Cf``), and static features per series (``Cs``).
    n_quantiles : int
        Outputs per step (``Q``), non-decreasing; 1 is a point forecast.
    hidden_size, num_layers : int or None
        Ignored: DLinear has no hidden layer. Accepted so that every network in ``MODELS``
        takes the same core arguments.
    dropout : float
        Dropout on the normalised lookback.
    revin : bool or {'mean', 'last'}
        Normalise the target per window and de-normalise the forecast: 'last' (default, as the
        estimators') centres on the window's last value, so zero output is the naive forecast;
        True or 'mean' is RevIN. 'last' won on validation in every long-horizon cell tried
        (``benchmarks/RESULTS.md``).
    kernel_size : int
        Width of the moving average that extracts the trend.

    Examples
    --------
    >>> import torch
    >>> net = LinearNet(lookback=96, horizon=24)
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
        hidden_size: int | None = None,
        num_layers: int | None = None,
        dropout: float = 0.0,
        revin: bool | str = "last",
        kernel_size: int = 25,
    ) -> None:
        super().__init__()
        self.lookback, self.horizon, self.n_quantiles = lookback, horizon, n_quantiles
        self.n_past_covariates, self.n_future_covariates = n_past_covariates, n_future_covariates
        self.n_static, self.kernel_size = n_static, kernel_size
        self.revin = make_revin(revin)
        self.dropout = nn.Dropout(dropout)
        self.seasonal = nn.Linear(lookback, horizon * n_quantiles)
        self.trend = nn.Linear(lookback, horizon * n_quantiles)
        n_covariate_inputs = (
            lookback * n_past_covariates + (lookback + horizon) * n_future_covariates + n_static
        )
        self.covariates = (
            nn.Linear(n_covariate_inputs, horizon * n_quantiles) if n_covariate_inputs else None
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
        x = self.dropout(((past_target - loc) / scale)[..., 0])  # (B, L)
        trend = moving_average(x, self.kernel_size)  # (B, L)
        raw = self.seasonal(x - trend) + self.trend(trend)  # (B, H * Q)
        if self.covariates is not None:
            given = (past_covariates, future_covariates, static)
            # Every covariate value, flattened: (B, L * Cp + (L + H) * Cf + Cs).
            flat = torch.cat([c.flatten(1) for c in given if c is not None], dim=1)
            raw = raw + self.covariates(flat)  # (B, H * Q)
        raw = raw.view(-1, self.horizon, self.n_quantiles)  # (B, H, Q)
        forecast = monotone_quantiles(raw) * scale + loc  # (B, H, Q)
        return (forecast, None) if return_attention else forecast
