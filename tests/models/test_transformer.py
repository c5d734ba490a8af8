from __future__ import annotations

import pytest
import torch

from tsattn.models import TransformerNet
from tsattn.models._attention import StepAttention


def test_the_lag_attention_has_one_column_per_lookback_step() -> None:
    net = TransformerNet(lookback=96, horizon=24).eval()
    forecast, weights = net(torch.randn(3, 96, 1), return_attention=True)
    assert forecast.shape == (3, 24, 1)
    assert weights.shape == (3, 24, 96)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 24))


def test_without_it_the_cross_attention_has_one_column_per_lookback_segment() -> None:
    net = TransformerNet(lookback=96, horizon=24, attention="none").eval()  # 24 every 12: 7
    _, weights = net(torch.randn(3, 96, 1), return_attention=True)
    assert weights.shape == (3, 24, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 24))
    uniform = TransformerNet(lookback=96, horizon=24, attention="uniform").eval()
    _, weights = uniform(torch.randn(3, 96, 1), return_attention=True)
    torch.testing.assert_close(weights, torch.full((3, 24, 96), 1 / 96))
    with pytest.raises(ValueError, match="Unknown attention 'cross'"):
        TransformerNet(lookback=96, horizon=24, attention="cross")


def test_each_step_keys_on_the_last_overlapping_patch_that_holds_it() -> None:
    # 33 steps in patches of 12 every 6: 5 patches over 36 padded steps (3 padded in front);
    # patch p holds padded steps 6p ... 6p + 11, so step j is last held by (j + 3) // 6
    steps = StepAttention(33, 5, n_channels=1, n_future=0, d=8, segment_length=12, stride=6)
    assert steps.segment_of.tolist() == [0] * 3 + [1] * 6 + [2] * 6 + [3] * 6 + [4] * 12
    assert steps.segment_onehot.sum(0).tolist() == [3, 6, 6, 6, 12]


def test_per_step_tokens() -> None:
    net = TransformerNet(lookback=12, horizon=5, segment_length=1, stride=1, hidden_size=8).eval()
    _, weights = net(torch.randn(2, 12, 1), return_attention=True)
    assert weights.shape == (2, 5, 12)


def test_attention_is_returned_in_training_mode_too() -> None:
    net = TransformerNet(lookback=32, horizon=16, dropout=0.5).train()
    _, weights = net(torch.randn(2, 32, 1), return_attention=True)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 16))


def test_segments_overlap_by_half_a_segment_and_never_leave_steps_out() -> None:
    # one week of daily steps per segment: every 3 steps (the default stride of 12 skipped 5
    # of every 12 lookback steps before); 60 steps -> ceil((60 - 7) / 3) + 1 = 19 segments
    net = TransformerNet(lookback=60, horizon=7, segment_length=7)
    assert net.source_positions.table.shape[0] == 19
    assert TransformerNet(lookback=96, horizon=24).source_positions.table.shape[0] == 7
    with pytest.raises(ValueError, match="stride=12 with segment_length=7"):
        TransformerNet(lookback=60, horizon=7, segment_length=7, stride=12)
