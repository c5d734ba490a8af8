from __future__ import annotations

import pytest
import torch

from tsattn.models import AttentionLSTMNet
from tsattn.models.attention_lstm import ATTENTION_SCORES


@pytest.mark.parametrize("attention", ATTENTION_SCORES)
def test_every_score_gives_one_attention_row_per_horizon_step(attention: str) -> None:
    torch.manual_seed(0)
    net = AttentionLSTMNet(lookback=30, horizon=20, n_quantiles=3, attention=attention)
    forecast, weights = net(torch.randn(4, 30, 1), return_attention=True)
    assert forecast.shape == (4, 20, 3)
    assert weights.shape == (4, 20, 2)  # 30 steps in segments of 24: 2 segments
    torch.testing.assert_close(weights.sum(-1), torch.ones(4, 20))
    forecast.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_per_step_model_attends_over_every_lookback_step() -> None:
    net = AttentionLSTMNet(lookback=16, horizon=5, segment_length=1, hidden_size=8)
    _, weights = net(torch.randn(2, 16, 1), return_attention=True)
    assert weights.shape == (2, 5, 16)


def test_steps_of_one_horizon_segment_share_their_attention_row() -> None:
    net = AttentionLSTMNet(lookback=24, horizon=12, segment_length=6)
    _, weights = net(torch.randn(2, 24, 1), return_attention=True)
    assert torch.equal(weights[:, 0], weights[:, 5])
    assert not torch.equal(weights[:, 5], weights[:, 6])


def test_unknown_attention_is_rejected() -> None:
    with pytest.raises(
        ValueError, match=r"Unknown attention 'luong'; expected one of \['additive', 'dot'"
    ):
        AttentionLSTMNet(lookback=24, horizon=12, attention="luong")
