"""Shared data for the data-layer tests: hourly series of different levels, with a covariate."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from tsattn.data import check_panel
from tsattn.data.panel import Panel


def _make_frame(lengths=(40, 25, 33), seed=0) -> pd.DataFrame:
    """Hourly series of different levels and spreads, with one covariate."""
    rng = np.random.default_rng(seed)
    parts = [
        pd.DataFrame(
            {
                "unique_id": f"s{k}",
                "ds": pd.date_range("2024-02-27", periods=n, freq="h"),
                "y": 10.0**k * (5 + rng.standard_normal(n)),
                "temp": rng.uniform(-5, 30, n),
            }
        )
        for k, n in enumerate(lengths)
    ]
    return pd.concat(parts, ignore_index=True)


def _with_target(panel: Panel, target: np.ndarray) -> Panel:
    return dataclasses.replace(panel, target=np.ascontiguousarray(target, dtype=np.float64))


@pytest.fixture
def make_frame():
    """``make_frame(lengths=(40, 25, 33), seed=0)``: the frame behind ``panel``."""
    return _make_frame


@pytest.fixture
def with_target():
    """``with_target(panel, target)``: the panel with another target column."""
    return _with_target


@pytest.fixture
def panel() -> Panel:
    return check_panel(_make_frame())
