from __future__ import annotations

import torch

from tsattn.models import TransformerNet


def test_attention_has_one_column_per_lookback_segment() -> None:
    net = TransformerNet(lookback=96, horizon=24).eval()  # segments of 24 every 12 steps: 7
    forecast, weights = net(torch.randn(3, 96, 1), return_attention=True)
    assert forecast.shape == (3, 24, 1)
    assert weights.shape == (3, 24, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 24))


def test_per_step_tokens() -> None:
    net = TransformerNet(lookback=12, horizon=5, segment_length=1, stride=1, hidden_size=8).eval()
    _, weights = net(torch.randn(2, 12, 1), return_attention=True)
    assert weights.shape == (2, 5, 12)


def test_attention_is_returned_in_training_mode_too() -> None:
    net = TransformerNet(lookback=32, horizon=16, dropout=0.5).train()
    _, weights = net(torch.randn(2, 32, 1), return_attention=True)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 16))
