"""Default training budget: fit time and accuracy at several ``max_epochs`` per network.

    python benchmarks/quickstart_defaults.py [--models AttentionLSTMForecaster,LSTMForecaster]
        [--datasets stock,weather,traffic] [--epochs 50,20] [--threads 2]

(``--epochs default`` is ``max_epochs=None``: the network's own budget.)

For every domain dataset and network, all other settings at their defaults (horizon and
lookback from the dataset, ``random_state=0``): the time of one ``fit`` on the whole dataset
(the README's Quick Start on traffic: 17,520 hourly points, lookback 168), and the MASE of a
backtest like the demo's (fit once before the last ``n_windows`` origins of every series),
next to seasonal naive. Budgets are epochs, so the MASE figures do not depend on the machine.
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch

import tsattn
from tsattn.datasets import load
from tsattn.demo import DEMO_SETTINGS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="AttentionLSTMForecaster,LSTMForecaster")
    parser.add_argument("--datasets", default="stock,weather,traffic")
    parser.add_argument("--epochs", default="50,20")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    print(f"{'dataset':<8} {'model':<24} {'epochs':>6} {'fit s':>7} {'MASE':>7}  (seasonal naive)")
    for name in args.datasets.split(","):
        data = load(name)
        df = data.df[["unique_id", "ds", "y"]]
        n_windows = DEMO_SETTINGS[name]["n_windows"]
        snaive = tsattn.backtest(
            tsattn.SeasonalNaiveForecaster(data.horizon, season_length=data.season_length),
            df,
            n_windows=n_windows,
        ).summary()["mase"]
        for model in args.models.split(","):
            for epochs in (None if e == "default" else int(e) for e in args.epochs.split(",")):

                def make(model=model, epochs=epochs, data=data):
                    cls = getattr(tsattn, model)
                    return cls(
                        horizon=data.horizon,
                        lookback=data.lookback,
                        max_epochs=epochs,
                        random_state=0,
                        verbose=0,
                    )

                start = time.perf_counter()
                make().fit(df)
                fit_seconds = time.perf_counter() - start
                mase = tsattn.backtest(make(), df, n_windows=n_windows).summary()["mase"]
                print(
                    f"{name:<8} {model:<24} {epochs or 'default':>6} {fit_seconds:7.1f} {mase:7.3f}  "
                    f"({snaive:.3f})",
                    flush=True,
                )


if __name__ == "__main__":
    main()
