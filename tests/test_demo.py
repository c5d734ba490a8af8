"""The demo, end to end with its real epoch budgets, on the two datasets where networks must win."""

from __future__ import annotations

import pytest
import torch

from tsattn.demo import run_demo


@pytest.mark.slow
def test_the_demos_networks_beat_seasonal_naive_on_weather_and_traffic(tmp_path, capsys):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:  # CI-sized: two of the four networks, no pictures; the same budgets and seeds
        table = run_demo(
            ("weather", "traffic"), output=tmp_path, networks=("lstm", "linear"), plots=False
        )
    finally:
        torch.set_num_threads(threads)
    mase = table.pivot(index="model", columns="dataset", values="MASE")
    for dataset in ("weather", "traffic"):
        for network in ("lstm", "linear"):
            assert mase.loc[network, dataset] < mase.loc["seasonal_naive", dataset], (
                f"{network} on {dataset}: MASE {mase.loc[network, dataset]:.3f} vs seasonal "
                f"naive {mase.loc['seasonal_naive', dataset]:.3f}"
            )
    out = capsys.readouterr().out
    assert "MASE" in out and (tmp_path / "backtest.csv").is_file()
