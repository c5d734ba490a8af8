from __future__ import annotations

import torch

from tsattn.models import LSTMNet


def test_per_step_lstm() -> None:
    net = LSTMNet(lookback=20, horizon=7, segment_length=1, hidden_size=8, n_quantiles=2)
    assert net(torch.randn(3, 20, 1)).shape == (3, 7, 2)


def test_segments_make_the_lstm_run_fewer_steps() -> None:
    seen = []
    net = LSTMNet(lookback=96, horizon=24)  # segments of 24 steps
    net.lstm.register_forward_hook(lambda module, args, out: seen.append(args[0].shape))
    net(torch.randn(2, 96, 1))
    assert seen == [torch.Size([2, 4, 128])]  # (B, L / S, D)
