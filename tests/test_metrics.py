"""Metrics and the vectorised baselines against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from tsattn import baselines
from tsattn.metrics import mae, mase, mse, rmse, seasonal_scale, smape


def test_point_metrics_by_hand():
    y, p = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0])
    assert mae(y, p) == pytest.approx(1.0)
    assert mse(y, p) == pytest.approx(5 / 3)
    assert rmse(y, p) == pytest.approx(np.sqrt(5 / 3))
    assert smape(y, p) == pytest.approx(100 * (2 / 3 + 0 + 4 / 6) / 3)
    assert smape(np.zeros(2), np.zeros(2)) == 0.0


def test_mase_scale_is_in_sample_seasonal_naive_mae():
    history = np.array([1.0, 5.0, 2.0, 7.0, 3.0, 9.0])  # season 2: diffs 1, 2, 1, 2
    assert seasonal_scale(history, 2) == pytest.approx(1.5)
    assert mase(
        np.array([10.0]), np.array([13.0]), history=history, season_length=2
    ) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="more than season_length=7 training values, got 5; pass"):
        seasonal_scale(np.arange(5.0), 7)


def test_mase_of_a_flat_history_is_undefined_and_says_what_to_do():
    assert np.isnan(seasonal_scale(np.ones(5), 1))
    assert np.isnan(seasonal_scale(np.zeros(5), 1))
    # a noiseless season repeats itself up to rounding: flat at its own lag, not at lag 1
    season = 3.0 + np.sin(2 * np.pi * np.arange(96) / 12)
    assert np.isnan(seasonal_scale(season, 12)) and np.isnan(seasonal_scale(season, 24))
    assert seasonal_scale(season, 1) > 0.3
    with pytest.raises(
        ValueError, match=r"constant at the seasonal lag season_length=1.*mae or smape"
    ):
        mase(np.ones(2), np.ones(2), history=np.full(5, 7.0))


def test_baselines_vectorised():
    past = np.array([[1.0, 2.0, 3.0, 4.0], [10.0, 20.0, 30.0, 40.0]])
    np.testing.assert_array_equal(baselines.naive(past, 3), [[4, 4, 4], [40, 40, 40]])
    np.testing.assert_array_equal(
        baselines.seasonal_naive(past, 5, 2), [[3, 4, 3, 4, 3], [30, 40, 30, 40, 30]]
    )
    np.testing.assert_allclose(baselines.drift(past, 2), [[5, 6], [50, 60]])
    np.testing.assert_allclose(baselines.mean(past, 1), [[2.5], [25.0]])
    with pytest.raises(ValueError, match="lookback >= season_length=7"):
        baselines.seasonal_naive(past, 2, 7)
