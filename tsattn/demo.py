"""The main job on the built-in data: summaries of the three domain datasets and a backtest.

At this stage the backtest holds the statistical baselines; the neural forecasters join it with
the estimator facade.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from tsattn import baselines
from tsattn.data import check_panel, make_windows, split_by_fraction
from tsattn.metrics import mae, seasonal_scale

__all__ = ["DOMAIN_DATASETS", "baseline_backtest", "run_demo"]

log = logging.getLogger(__name__)

DOMAIN_DATASETS = ("stock", "weather", "traffic")


def baseline_backtest(
    df: pd.DataFrame, *, season_length: int, horizon: int, test_fraction: float = 0.2
) -> pd.DataFrame:
    """Backtest naive and seasonal naive on the last ``test_fraction`` of every series.

    Forecast origins step by ``horizon`` through the test part (non-overlapping windows); MASE
    divides each series' test MAE by the in-sample seasonal-naive MAE of its training part.

    Returns
    -------
    pandas.DataFrame
        One row per (model, series): ``model, unique_id, windows, mae, mase``.
    """
    panel = check_panel(df, covariates=[])
    lookback = max(season_length, 1)
    split = split_by_fraction(panel, lookback, (1 - test_fraction, 0.0, test_fraction))
    windows = make_windows(panel, lookback, horizon, stride=horizon, bounds=split.test)
    batch = windows.gather(np.arange(len(windows)))
    past = batch.past_target[..., 0].numpy().astype(np.float64)  # (B, L)
    actual = batch.target[..., 0].numpy().astype(np.float64)  # (B, H)
    forecasts = {
        "naive": baselines.naive(past, horizon),
        "seasonal_naive": baselines.seasonal_naive(past, horizon, lookback),
    }
    series = batch.series.numpy()
    rows = []
    for s in np.unique(series):
        train = panel.target[split.train[s, 0] : split.train[s, 1]]
        scale = seasonal_scale(train, season_length)
        mine = series == s
        for model, forecast in forecasts.items():
            err = mae(actual[mine], forecast[mine])
            rows.append((model, panel.ids[s], int(mine.sum()), err, err / scale))
    return pd.DataFrame(rows, columns=["model", "unique_id", "windows", "mae", "mase"])


def run_demo(names: tuple[str, ...] = DOMAIN_DATASETS, data_dir: str | None = None) -> pd.DataFrame:
    """Print a summary of each dataset and the baseline backtest table; return the table."""
    from tsattn.datasets import load

    tables = []
    for name in names:
        dataset = load(name, data_dir=data_dir)
        print(f"\n== {dataset}")
        lengths = {k: int(v) for k, v in dataset.df.groupby("unique_id", sort=False).size().items()}
        print(
            f"   series lengths: {dict(lengths)}; season {dataset.season_length}, horizon {dataset.horizon}"
        )
        if dataset.report is not None:
            for line in str(dataset.report).splitlines()[1:]:
                print("   " + line.strip())
        table = baseline_backtest(
            dataset.df, season_length=dataset.season_length, horizon=dataset.horizon
        )
        tables.append(table.assign(dataset=name))
    table = pd.concat(tables, ignore_index=True)
    summary = (
        table.groupby(["dataset", "model"], sort=False)
        .agg(
            series=("unique_id", "nunique"),
            windows=("windows", "sum"),
            MAE=("mae", "mean"),
            MASE=("mase", "mean"),
        )
        .reset_index()
    )
    print(
        "\nBacktest on the last 20% of each series (origins every `horizon` steps; MASE vs in-sample seasonal naive, mean over series):"
    )
    print(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return summary
