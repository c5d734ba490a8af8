from __future__ import annotations

import torch

import tsattn
from tsattn.models import LSTMNet
from tsattn.models._lags import LagMixture


def test_per_step_lstm() -> None:
    net = LSTMNet(lookback=20, horizon=7, segment_length=1, hidden_size=8, n_quantiles=2)
    assert net(torch.randn(3, 20, 1)).shape == (3, 7, 2)


def test_segments_make_the_lstm_run_fewer_steps() -> None:
    seen = []
    net = LSTMNet(lookback=96, horizon=24)  # segments of 24 steps
    net.lstm.register_forward_hook(lambda module, args, out: seen.append(args[0].shape))
    net(torch.randn(2, 96, 1))
    assert seen == [torch.Size([2, 4, 128])]  # (B, L / S, D)


def test_the_lag_mixture_copies_the_lookback_value_at_the_chosen_lag() -> None:
    lookback, horizon = 48, 30
    mixture = LagMixture(lookback, horizon, d_model=8)
    with torch.no_grad():  # every step: all weight on lag 24, gate 1
        mixture.out.weight.zero_()
        mixture.out.bias.fill_(-30.0)
        mixture.out.bias[0] = 1.0  # the gate
        mixture.out.bias[1 + 23] = 30.0  # lag 24 (logits start at lag 1)
    z = torch.randn(2, lookback, 1)
    copy, weights = mixture(torch.randn(2, 8), z)
    assert weights.shape == (2, horizon, lookback)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, horizon))
    # forecast step h at lag 24 is lookback step L - 24 + h (for h < 24; later steps would
    # need a value from the horizon, so their logit for lag 24 is not among theirs)
    torch.testing.assert_close(copy[:, :24, 0], z[:, lookback - 24 :, 0])


def test_lag_mixture_is_on_by_default_and_can_be_switched_off() -> None:
    assert isinstance(LSTMNet(lookback=48, horizon=24).lags, LagMixture)
    plain = LSTMNet(lookback=48, horizon=24, lag_mixture=False)
    assert plain.lags is None
    assert plain(torch.randn(2, 48, 1)).shape == (2, 24, 1)


def test_the_lag_mixture_uses_the_calendar_of_each_forecast_step() -> None:
    mixture = LagMixture(24, 12, d_model=8, n_future_covariates=2)
    future = torch.randn(1, 36, 2)
    z, state = torch.randn(1, 24, 1), torch.randn(1, 8)
    _, weights = mixture(state, z, future)
    future[:, -12:] += 1.0  # another calendar over the horizon: other weights
    _, moved = mixture(state, z, future)
    assert not torch.allclose(weights, moved)


def test_the_lstm_learns_to_copy_the_seasonal_lags_of_a_weekly_pattern(fit_weekly_pattern):
    est = fit_weekly_pattern(tsattn.LSTMForecaster)  # period 7, H=7, L=28
    seen = []
    est.model_.lags.register_forward_hook(lambda module, args, out: seen.append(out[1]))
    est.predict()
    weights = seen[0][0]  # (H, L): forecast step h, lookback step j at lag h + L - j
    lags = torch.arange(7)[:, None] + 28 - torch.arange(28)[None]
    seasonal = weights[lags % 7 == 0].sum() / 7  # mean mass per step on lags 7, 14, 21, 28
    # evenly spread: 4 / 28 = 0.14; the LSTM's own head also fits this pattern, so the
    # mixture need not be sharp (0.30 after 10 epochs), only clearly seasonal
    assert seasonal > 0.25, weights.round(decimals=3)


def test_the_lag_logits_equal_those_of_the_whole_output_layer() -> None:
    torch.manual_seed(0)
    lookback, horizon = 20, 9
    mixture = LagMixture(lookback, horizon, d_model=8, n_future_covariates=2)
    state, z, future = torch.randn(3, 8), torch.randn(3, lookback, 1), torch.randn(3, 29, 2)
    copy, weights = mixture(state, z, future)
    # textbook: every lag's logit for every step, then pick lag h + L - j for lookback step j
    hidden = mixture.state(state)[:, None] + mixture.positions() + mixture.calendar(future[:, -9:])
    out = mixture.out(torch.nn.functional.gelu(hidden))  # (B, H, 1 + L + H - 1)
    lags = torch.arange(horizon)[:, None] + lookback - torch.arange(lookback)[None]  # (H, L)
    expected = torch.softmax(out[:, torch.arange(horizon)[:, None], lags], dim=-1)
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close(copy, out[..., :1] * (expected @ z))
