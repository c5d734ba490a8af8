from __future__ import annotations

import pytest
import torch

from tsattn.models._layers import (
    PositionEmbedding,
    QuantileHead,
    RevIN,
    SegmentEmbedding,
    expand_attention,
    monotone_quantiles,
    n_segments,
    to_segments,
)


@pytest.mark.parametrize("affine", [False, True])
def test_revin_normalises_each_window_and_inverts(affine: bool) -> None:
    torch.manual_seed(0)
    revin = RevIN(affine=affine)
    if affine:
        revin.log_gain.data.fill_(0.5)
        revin.bias.data.fill_(-2.0)
    x = 5.0 + 3.0 * torch.randn(6, 40, 1)
    loc, scale = revin(x)
    assert loc.shape == scale.shape == (6, 1, 1)
    assert (scale > 0).all()
    z = (x - loc) / scale
    torch.testing.assert_close(z * scale + loc, x)
    if not affine:
        torch.testing.assert_close(z.mean(1), torch.zeros(6, 1), atol=1e-5, rtol=0)
        torch.testing.assert_close(z.std(1, unbiased=False), torch.ones(6, 1), atol=1e-4, rtol=0)


def test_revin_on_a_flat_window_is_finite() -> None:
    loc, scale = RevIN()(torch.full((2, 10, 1), 3.0))
    assert torch.equal(loc, torch.full((2, 1, 1), 3.0))
    assert torch.isfinite(1.0 / scale).all()


def test_end_aligned_segments_pad_the_front_and_end_on_the_last_step() -> None:
    x = torch.arange(10.0).view(1, 10, 1)  # (B, L, F)
    segments = to_segments(x, segment_length=4, stride=4)  # (B, P, W * F)
    assert n_segments(10, 4, 4) == 3
    assert segments.tolist() == [[[0, 0, 0, 1], [2, 3, 4, 5], [6, 7, 8, 9]]]


def test_start_aligned_segments_pad_the_back() -> None:
    x = torch.arange(10.0).view(1, 10, 1)
    segments = to_segments(x, segment_length=4, stride=4, align="start")
    assert segments.tolist() == [[[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 9, 9]]]


def test_overlapping_segments_keep_channels_of_a_step_together() -> None:
    x = torch.arange(12.0).view(1, 6, 2)  # steps 0..5 with channels (2t, 2t + 1)
    segments = to_segments(x, segment_length=4, stride=2)
    assert segments.tolist() == [[[0, 1, 2, 3, 4, 5, 6, 7], [4, 5, 6, 7, 8, 9, 10, 11]]]


def test_segment_embedding_of_length_one_embeds_each_step() -> None:
    embed = SegmentEmbedding(n_channels=3, segment_length=1, d_model=8)
    assert embed(torch.randn(2, 7, 3)).shape == (2, 7, 8)


def test_monotone_quantiles() -> None:
    raw = torch.randn(4, 5, 7)
    out = monotone_quantiles(raw)
    assert (out.diff(dim=-1) > 0).all()
    torch.testing.assert_close(out[..., 0], raw[..., 0])
    single = torch.randn(4, 5, 1)
    assert torch.equal(monotone_quantiles(single), single)


def test_quantile_head_drops_the_padding_of_the_last_segment() -> None:
    head = QuantileHead(8, steps_per_token=4, horizon=10, n_quantiles=3)
    assert head(torch.randn(2, 3, 8)).shape == (2, 10, 3)


def test_expand_attention_repeats_each_segment_row() -> None:
    weights = torch.softmax(torch.randn(2, 3, 5), dim=-1)
    expanded = expand_attention(weights, segment_length=4, horizon=10)
    assert expanded.shape == (2, 10, 5)
    assert torch.equal(expanded[:, 4:8], weights[:, 1:2].expand(-1, 4, -1))
    assert torch.equal(expanded[:, 8:], weights[:, 2:].expand(-1, 2, -1))


def test_position_embedding_starts_distinct() -> None:
    table = PositionEmbedding(6, 9)()
    assert table.shape == (6, 9)
    assert torch.cdist(table, table).add(torch.eye(6)).min() > 0


def test_revin_last_value_centring_makes_zero_output_the_naive_forecast():
    from tsattn.models._layers import RevIN, make_revin

    x = torch.tensor([[[1.0], [2.0], [6.0]]])  # (B, L, 1)
    loc, scale = RevIN(center="last")(x)
    assert loc.item() == 6.0 and scale.item() > 0
    assert make_revin("last").center == "last" and make_revin(True).center == "mean"
    assert make_revin(False) is None
    with pytest.raises(ValueError, match="expected True, False, 'mean' or 'last'"):
        make_revin(3)
