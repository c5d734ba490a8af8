"""Default settings against the naive forecast on the built-in domain datasets.

    python benchmarks/robust_defaults.py [--datasets stock,weather,traffic] [--json OUT]

Every network is built with its constructor defaults, only ``horizon`` taken from the dataset
(and ``lookback`` too with ``--dataset-lookback``), and backtested like the demo: fit once
before the last ``n_windows`` origins of every series, MASE against the in-sample seasonal
naive MAE. The acceptance bar: no network's MASE more than 5% above the naive forecast's.
"""

from __future__ import annotations

import argparse
import json
import time

import tsattn
from tsattn.datasets import load
from tsattn.demo import DEMO_SETTINGS

NETWORKS = (
    "LSTMForecaster",
    "AttentionLSTMForecaster",
    "TransformerForecaster",
    "LinearForecaster",
)


def run(df, data, n_windows: int, estimator) -> tsattn.BacktestResult:
    return tsattn.backtest(estimator, df, n_windows=n_windows, season_length=data.season_length)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="stock,weather,traffic")
    parser.add_argument("--models", default=",".join(NETWORKS))
    parser.add_argument(
        "--dataset-lookback", action="store_true", help="use the dataset's suggested lookback"
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    records = []
    for name in args.datasets.split(","):
        data = load(name)
        df = data.df[["unique_id", "ds", "y"]]
        n_windows = DEMO_SETTINGS.get(name, {"n_windows": 10})["n_windows"]
        naive = run(df, data, n_windows, tsattn.NaiveForecaster(data.horizon)).summary()["mase"]
        snaive = run(
            df,
            data,
            n_windows,
            tsattn.SeasonalNaiveForecaster(data.horizon, season_length=data.season_length),
        ).summary()["mase"]
        print(f"{name}: naive MASE {naive:.3f}, seasonal naive {snaive:.3f}", flush=True)
        for model in args.models.split(","):
            params = {"horizon": data.horizon}
            if args.dataset_lookback:
                params["lookback"] = data.lookback
            start = time.perf_counter()
            mase = run(df, data, n_windows, getattr(tsattn, model)(**params)).summary()["mase"]
            seconds = time.perf_counter() - start
            ratio = mase / naive
            verdict = "ok" if ratio <= 1.05 else "WORSE THAN NAIVE + 5%"
            print(
                f"  {model:<26} MASE {mase:.3f}  ({ratio:.3f} x naive)  {seconds:.0f}s  {verdict}",
                flush=True,
            )
            records.append(
                {
                    "dataset": name,
                    "model": model,
                    "mase": mase,
                    "naive_mase": naive,
                    "seasonal_naive_mase": snaive,
                    "ratio_to_naive": ratio,
                    "seconds": seconds,
                }
            )
            if args.json:
                with open(args.json, "w") as f:
                    json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
