"""Shared fixtures for the network tests: a real hourly series (ETTh1), skipped when absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

# ETTh1 (Zhou et al. 2021): the folder named by TSATTN_DATA, else the shared data folder beside
# the repository (as in development and CI).
ETTH1_PATHS = tuple(
    Path(folder) / "ett" / "ETTh1.csv"
    for folder in (
        os.environ.get("TSATTN_DATA"),
        Path(__file__).resolve().parents[3] / "shared" / "data",
    )
    if folder
)


@pytest.fixture(scope="session")
def hourly_series() -> torch.Tensor:
    """Oil temperature (OT) of ETTh1, first 2000 hours."""
    for path in ETTH1_PATHS:
        if path.is_file():
            pd = pytest.importorskip("pandas")
            frame = pd.read_csv(path, usecols=["OT"], nrows=2000)
            return torch.tensor(frame["OT"].to_numpy(), dtype=torch.float32)
    pytest.skip(
        f"ETTh1.csv not found in {[str(p) for p in ETTH1_PATHS]}; set TSATTN_DATA to the folder "
        "holding ett/ETTh1.csv to run the tests on real data."
    )


@pytest.fixture(autouse=True)
def one_thread():
    """Run each test on one thread: the tensors are small, and with two threads a busy machine
    (CI running other jobs) makes every parallel region wait for a descheduled worker."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def fit_weekly_pattern():
    """Fit a forecaster class (H=7, L=28, small) on 1500 steps of a noisy period-7 pattern."""

    def fit(cls):
        import numpy as np
        import pandas as pd

        rng = np.random.default_rng(0)
        n = 1500
        y = 2 * rng.normal(size=7)[np.arange(n) % 7] + 0.3 * rng.normal(size=n)
        return cls(
            horizon=7,
            lookback=28,
            hidden_size=16,
            batch_size=64,
            max_epochs=10,
            refit_with_val=False,
            random_state=0,
            verbose=0,
        ).fit(pd.DataFrame({"ds": np.arange(n), "y": y}))

    return fit
