"""The contract every entry of ``MODELS`` keeps; a new model is picked up automatically."""

from __future__ import annotations

import pytest
import torch

from tsattn.models import MODELS, build_model

# Small windows whose lengths no default segment or patch length divides, to exercise padding.
B, L, H = 4, 40, 30
N_PAST, N_FUTURE, N_STATIC = 2, 3, 4

names = pytest.mark.parametrize("name", sorted(MODELS))


def make_net(name: str, *, covariates: bool = True, **options: object) -> torch.nn.Module:
    counts = (
        {"n_past_covariates": N_PAST, "n_future_covariates": N_FUTURE, "n_static": N_STATIC}
        if covariates
        else {}
    )
    return build_model(name, lookback=L, horizon=H, **counts, **options)


def make_inputs(*, covariates: bool = True, seed: int = 0) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    inputs = {"past_target": 10.0 + 3.0 * torch.randn(B, L, 1, generator=generator).cumsum(1)}
    if covariates:
        inputs["past_covariates"] = torch.randn(B, L, N_PAST, generator=generator)
        inputs["future_covariates"] = torch.randn(B, L + H, N_FUTURE, generator=generator)
        inputs["static"] = torch.randn(B, N_STATIC, generator=generator)
    return inputs


@names
@pytest.mark.parametrize("n_quantiles", [1, 3])
@pytest.mark.parametrize("covariates", [False, True])
def test_forecast_shape(name: str, n_quantiles: int, covariates: bool) -> None:
    net = make_net(name, covariates=covariates, n_quantiles=n_quantiles).eval()
    forecast = net(**make_inputs(covariates=covariates))
    assert forecast.shape == (B, H, n_quantiles)
    assert torch.isfinite(forecast).all()


@names
def test_gradients_reach_every_parameter(name: str) -> None:
    torch.manual_seed(0)
    net = make_net(name, n_quantiles=3, num_layers=2).train()
    forecast = net(**make_inputs())
    (forecast - 10.0).square().mean().backward()
    for param_name, param in net.named_parameters():
        assert param.grad is not None, f"{name}: no gradient reaches {param_name}"
        assert torch.isfinite(param.grad).all(), f"{name}: non-finite gradient in {param_name}"


@names
def test_quantiles_never_cross(name: str) -> None:
    torch.manual_seed(0)
    net = make_net(name, n_quantiles=5).eval()
    with torch.no_grad():
        for param in net.parameters():  # move away from the initial weights
            param.add_(0.3 * torch.randn_like(param))
        forecast = net(**make_inputs(seed=1))
    assert (forecast.diff(dim=-1) >= 0).all()


@names
def test_attention_rows_sum_to_one(name: str) -> None:
    net = make_net(name).eval()
    forecast, attention = net(**make_inputs(), return_attention=True)
    assert forecast.shape == (B, H, 1)
    if attention is None:
        return
    assert attention.shape[:2] == (B, H)
    assert (attention >= 0).all()
    torch.testing.assert_close(attention.sum(-1), torch.ones(B, H))


@names
def test_covariates_change_the_forecast(name: str) -> None:
    net = make_net(name).eval()
    inputs = make_inputs()
    with torch.no_grad():
        base = net(**inputs)
        for key, part in [
            ("past_covariates", slice(None)),
            ("future_covariates", slice(L, None)),  # the horizon part alone
            ("static", slice(None)),
        ]:
            changed = dict(inputs)
            changed[key] = inputs[key].clone()
            changed[key][:, part] += 1.0
            assert not torch.allclose(net(**changed), base), f"{name} ignores {key}"


@names
def test_revin_makes_the_forecast_follow_the_scale_of_the_target(name: str) -> None:
    net = make_net(name, covariates=False).eval()
    past = make_inputs(covariates=False)["past_target"]
    with torch.no_grad():
        torch.testing.assert_close(
            net(100.0 * past - 7.0), 100.0 * net(past) - 7.0, rtol=1e-4, atol=1e-2
        )


@names
def test_without_revin(name: str) -> None:
    net = make_net(name, revin=False).eval()
    assert torch.isfinite(net(**make_inputs())).all()


@names
def test_same_seed_gives_the_same_output(name: str) -> None:
    outputs = []
    for seed in (0, 0, 1):
        torch.manual_seed(seed)
        net = make_net(name).train()  # dropout on: the seed must fix it as well
        outputs.append(net(**make_inputs()))
    assert torch.equal(outputs[0], outputs[1])
    assert not torch.equal(outputs[0], outputs[2])


@names
def test_overfits_a_small_batch(name: str, hourly_series: torch.Tensor) -> None:
    # 32 windows of ETTh1 oil temperature (lookback 96, horizon 48), in its own units.
    lookback, horizon = 96, 48
    windows = hourly_series.unfold(0, lookback + horizon, 53)[:32, :, None]  # (B, L + H, 1)
    past, future = windows[:, :lookback], windows[:, lookback:]
    torch.manual_seed(0)
    net = build_model(name, lookback=lookback, horizon=horizon, dropout=0.0)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    losses = []
    for _ in range(50):
        loss = (net(past) - future).square().mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    assert losses[-1] < 0.2 * losses[0], f"{name}: loss {losses[0]:.3f} -> {losses[-1]:.3f}"


def test_build_model_rejects_an_unknown_name() -> None:
    with pytest.raises(
        ValueError,
        match=r"Unknown model 'lstn'; expected one of \['attention_lstm', 'linear', 'lstm', "
        r"'transformer'\]",
    ):
        build_model("lstn", lookback=L, horizon=H)


@names
def test_a_missing_or_unexpected_covariate_is_named(name: str) -> None:
    inputs = make_inputs()
    del inputs["future_covariates"]
    with pytest.raises(
        ValueError, match="built with n_future_covariates=3 but future_covariates has None"
    ):
        make_net(name)(**inputs)
    with pytest.raises(ValueError, match="built with n_static=0 but static has 2 channels"):
        make_net(name, covariates=False)(make_inputs()["past_target"], static=torch.ones(B, 2))
    empty = torch.zeros(B, L, 0)  # zero channels count as absent
    assert make_net(name, covariates=False)(inputs["past_target"], empty).shape == (B, H, 1)
