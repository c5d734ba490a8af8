from __future__ import annotations

import torch

from tsattn.models import LinearNet
from tsattn.models.linear import moving_average


def test_moving_average_keeps_length_and_a_straight_line() -> None:
    line = torch.arange(30.0)[None]  # (B, L)
    trend = moving_average(line, kernel_size=5)
    assert trend.shape == (1, 30)
    torch.testing.assert_close(trend[:, 2:-2], line[:, 2:-2])  # exact away from the padded ends
    assert torch.equal(moving_average(torch.ones(2, 9), kernel_size=4), torch.ones(2, 9))


def test_trend_and_remainder_maps_add_up() -> None:
    net = LinearNet(lookback=8, horizon=3, revin=False)
    with torch.no_grad():
        for layer in (net.seasonal, net.trend):
            layer.weight.fill_(1.0)
            layer.bias.zero_()
    x = torch.randn(2, 8, 1)
    # seasonal + trend = x, so equal weights make the forecast the sum over the lookback
    torch.testing.assert_close(net(x), x.sum(1, keepdim=True).expand(-1, 3, -1))
