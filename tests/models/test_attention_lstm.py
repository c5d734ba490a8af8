from __future__ import annotations

import numpy as np
import pytest
import torch

import tsattn
from tsattn.models import AttentionLSTMNet
from tsattn.models._attention import ABLATIONS, ATTENTION_SCORES, LAG_BIAS_GAIN
from tsattn.plotting import attention_by_lag


@pytest.mark.parametrize("attention", ATTENTION_SCORES)
@pytest.mark.parametrize(("resolution", "columns"), [("step", 30), ("segment", 2)])
def test_every_score_gives_one_attention_row_per_horizon_step(attention, resolution, columns):
    torch.manual_seed(0)
    net = AttentionLSTMNet(
        lookback=30, horizon=20, n_quantiles=3, attention=attention, resolution=resolution
    )
    forecast, weights = net(torch.randn(4, 30, 1), return_attention=True)
    assert forecast.shape == (4, 20, 3)
    assert weights.shape == (4, 20, columns)  # 30 steps; or in segments of 24: 2 segments
    torch.testing.assert_close(weights.sum(-1), torch.ones(4, 20))
    forecast.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("attention", ["general", "dot", "additive"])
def test_step_weights_and_context_equal_those_of_the_explicit_queries_and_keys(attention):
    torch.manual_seed(0)
    net = AttentionLSTMNet(lookback=30, horizon=20, attention=attention, n_future_covariates=2)
    steps, W = net.steps, net.segment_length
    with torch.no_grad():
        steps.lag_bias.normal_()
    decoded, memory = torch.randn(3, 1, 128), torch.randn(3, 2, 128)  # 24-step segments
    x, z, future = torch.randn(3, 30, 3), torch.randn(3, 30, 1), torch.randn(3, 50, 2)
    weights, context, _ = steps(decoded, memory, x, z, future, net.score)
    # the textbook computation, with the (B, H, D) queries and (B, L, D) keys built in full
    queries = decoded.repeat_interleave(W, dim=1)[:, :20] + steps.positions()
    queries = queries + steps.future(future[:, -20:])
    keys = memory.repeat_interleave(W, dim=1)[:, -30:] + steps.inputs(x)
    bias = LAG_BIAS_GAIN * steps.lag_bias[steps.lag_index]
    expected = torch.softmax(net.score(queries, keys) + bias, dim=-1)
    torch.testing.assert_close(weights, expected)
    attended = torch.cat([expected @ keys, (expected @ keys)[:, -1:].expand(-1, 4, -1)], dim=1)
    torch.testing.assert_close(context, attended.mean(dim=1, keepdim=True))


def test_the_copy_gate_and_lag_bias_start_at_zero_so_an_untrained_net_is_the_naive_forecast():
    net = AttentionLSTMNet(lookback=48, horizon=12, revin="last")
    assert not net.steps.gate.any() and not net.steps.lag_bias.any()
    with torch.no_grad():
        for p in net.head.parameters():
            p.zero_()
    x = torch.randn(2, 48, 1)
    torch.testing.assert_close(net(x), x[:, -1:].expand(-1, 12, -1))


def test_ablations_uniform_weights_and_no_attention():
    uniform = AttentionLSTMNet(lookback=30, horizon=6, attention="uniform")
    _, weights = uniform(torch.randn(2, 30, 1), return_attention=True)
    torch.testing.assert_close(weights, torch.full((2, 6, 30), 1 / 30))
    plain = AttentionLSTMNet(lookback=30, horizon=6, attention="none")
    forecast, weights = plain(torch.randn(2, 30, 1), return_attention=True)
    assert weights is None and forecast.shape == (2, 6, 1)
    assert set(ABLATIONS) == {"uniform", "none"}


def test_segment_resolution_shares_a_row_per_horizon_segment() -> None:
    net = AttentionLSTMNet(lookback=24, horizon=12, segment_length=6, resolution="segment")
    _, weights = net(torch.randn(2, 24, 1), return_attention=True)
    assert weights.shape == (2, 12, 4)
    assert torch.equal(weights[:, 0], weights[:, 5])
    assert not torch.equal(weights[:, 5], weights[:, 6])


def test_unknown_attention_or_resolution_is_rejected() -> None:
    with pytest.raises(
        ValueError, match=r"Unknown attention 'luong'; expected one of \['additive', 'dot'"
    ):
        AttentionLSTMNet(lookback=24, horizon=12, attention="luong")
    with pytest.raises(ValueError, match="Unknown resolution 'hour'"):
        AttentionLSTMNet(lookback=24, horizon=12, resolution="hour")


def test_attention_learns_the_seasonal_lags_of_a_weekly_pattern(fit_weekly_pattern):
    est = fit_weekly_pattern(tsattn.AttentionLSTMForecaster)
    by_lag = np.nanmean(attention_by_lag(est.predict_attention()[0]), axis=0)  # lag 1, 2, ...
    seasonal = by_lag[[6, 13, 20, 27]].sum()  # lags 7, 14, 21, 28
    assert seasonal > 0.5, by_lag.round(3)  # evenly spread: 4 / 28 = 0.14
