"""Shared fixtures for the network tests: a real hourly series when one is on disk."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

# ETTh1 (Zhou et al. 2021): the repository's datasets folder first, then the shared data folder.
ETTH1_PATHS = (
    Path(__file__).resolve().parents[2] / "datasets" / "ett" / "ETTh1.csv",
    Path("/work/shared/data/ett/ETTh1.csv"),
)


@pytest.fixture(scope="session")
def hourly_series() -> torch.Tensor:
    """Oil temperature (OT) of ETTh1, first 2000 hours; a noisy daily sinusoid if it is absent."""
    for path in ETTH1_PATHS:
        if path.is_file():
            pd = pytest.importorskip("pandas")
            frame = pd.read_csv(path, usecols=["OT"], nrows=2000)
            return torch.tensor(frame["OT"].to_numpy(), dtype=torch.float32)
    generator = torch.Generator().manual_seed(0)
    t = torch.arange(2000, dtype=torch.float32)
    daily = 3.0 * torch.sin(2 * math.pi * t / 24) + 1.5 * torch.sin(2 * math.pi * t / 168)
    return 20.0 + 0.002 * t + daily + 0.5 * torch.randn(2000, generator=generator)


@pytest.fixture(autouse=True)
def one_thread():
    """Run each test on one thread: the tensors are small, and with two threads a busy machine
    (CI running other jobs) makes every parallel region wait for a descheduled worker."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
