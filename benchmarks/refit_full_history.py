"""Does refitting on the whole history after early stopping help? (``refit_with_val``)

    python benchmarks/refit_full_history.py [--datasets ETTh1,stock,weather,traffic]
        [--models LSTMForecaster,LinearForecaster] [--seeds 0,1,2] [--max-epochs 10] [--json OUT]

For every dataset and network: a backtest (:func:`tsattn.backtest`, fit once before the last
``n_windows`` origins, which are never used for selection) with ``refit_with_val=False`` (the
network early-stopped on the last ``val_size`` of every series) and with ``refit_with_val=True``
(then retrained from the same seed on the whole history, validation rows included, for the best
number of epochs found). Budgets are epochs (``--max-epochs``, patience 3), never seconds, so
the figures do not depend on the machine's load. MASE is scaled by the in-sample seasonal-naive
MAE at the dataset's season; the seasonal-naive forecast's own MASE is printed beside.

ETTh1 is read from ``$TSATTN_DATA`` (else ``../shared/data`` beside the repository) as
``ett/ETTh1.csv``, all seven channels as separate series, a day ahead (horizon 24) from the
last 20 days' origins. Lookback is the dataset's suggestion capped at 96. The whole run takes ~5-10 minutes on two cores.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

import tsattn
from tsattn.data import check_panel
from tsattn.datasets import load
from tsattn.demo import DEMO_SETTINGS

#: Horizon and backtest windows of the benchmark file (the domain sets take their own
#: horizon and the demo's windows): a day ahead, the last 20 days.
ETT = {"horizon": 24, "n_windows": 20}


def dataset(name: str, channels: str):
    """The dataset, its target-only frame, the horizon and the backtest windows."""
    beside = Path(__file__).resolve().parents[2] / "shared" / "data"  # ../shared/data
    data_dir = os.environ.get("TSATTN_DATA") or (str(beside) if beside.is_dir() else None)
    data = load(name, data_dir)
    # market holidays are gaps of the business-day grid: fill them, as a user would, so that
    # every backtest window is gap-free (a no-op for the gap-free sets)
    df = check_panel(data.df[["unique_id", "ds", "y"]], fill="ffill", reindex=True).to_pandas()
    if name == "ETTh1" and channels != "all":
        df = df[df["unique_id"].isin(channels.split(","))]
    if name == "ETTh1":
        return data, df, ETT["horizon"], ETT["n_windows"]
    return data, df, data.horizon, DEMO_SETTINGS.get(name, {"n_windows": 10})["n_windows"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="ETTh1,stock,weather,traffic")
    parser.add_argument("--models", default="LSTMForecaster,LinearForecaster")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--max-lookback", type=int, default=96)
    parser.add_argument("--ett-channels", default="all", help="'all' or comma-separated names")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)  # gaps in the stock data; printed elsewhere
    records = []
    header = (
        f"{'dataset':<8} {'model':<17} {'seed':>4} {'snaive':>7} {'MASE':>7} "
        f"{'refit':>7} {'change':>7} {'s':>5} {'s refit':>7}"
    )
    print(header, flush=True)
    for name in args.datasets.split(","):
        data, df, h, n_windows = dataset(name, args.ett_channels)
        m = data.season_length
        snaive = tsattn.backtest(
            tsattn.SeasonalNaiveForecaster(h, season_length=m),
            df,
            n_windows=n_windows,
            season_length=m,
        ).summary()["mase"]
        for model in args.models.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                row = {"dataset": name, "model": model, "seed": seed, "snaive_mase": snaive}
                for refit in (False, True):
                    est = getattr(tsattn, model)(
                        horizon=h,
                        lookback=min(data.lookback, args.max_lookback),
                        max_epochs=args.max_epochs,
                        patience=args.patience,
                        random_state=seed,
                        refit_with_val=refit,
                    )
                    start = time.perf_counter()
                    result = tsattn.backtest(est, df, n_windows=n_windows, season_length=m)
                    key = "refit" if refit else "early_stopped"
                    row[f"{key}_mase"] = float(result.summary()["mase"])
                    row[f"{key}_seconds"] = time.perf_counter() - start
                row["change"] = row["refit_mase"] / row["early_stopped_mase"] - 1
                records.append(row)
                print(
                    f"{name:<8} {model:<17} {seed:>4} {snaive:>7.3f} "
                    f"{row['early_stopped_mase']:>7.3f} {row['refit_mase']:>7.3f} "
                    f"{row['change']:>+7.1%} "
                    f"{row['early_stopped_seconds']:>5.0f} {row['refit_seconds']:>7.0f}",
                    flush=True,
                )
                if args.json:
                    Path(args.json).write_text(json.dumps(records, indent=1))
    better = sum(r["change"] < 0 for r in records)
    mean = sum(r["change"] for r in records) / max(len(records), 1)
    print(
        f"\nrefit_with_val=True better in {better} of {len(records)} cases; "
        f"mean MASE change {mean:+.1%}"
    )


if __name__ == "__main__":
    main()
