"""Choose an estimator default on validation windows: the demo's protocol, one setting at a time.

    python benchmarks/estimator_defaults.py --params '{}' '{"ema_epochs": null}'
        [--datasets stock,weather,traffic] [--models lstm,attention_lstm,transformer,linear]
        [--on validation|test] [--threads 2] [--json out.json]

Per dataset, the demo's settings (``tsattn.demo.DEMO_SETTINGS``: the most recent rows used,
lookback, epoch budget, bounds, number of backtest windows ``n``): every network at its
defaults apart from those and the JSON ``--params`` under test, ``random_state=0``, fit once
and backtested from ``n`` origins every ``horizon`` steps (``tsattn.backtest``), MASE against
the in-sample seasonal naive. ``--on validation`` (the default) first drops the last
``n * horizon`` rows of every series, so the windows scored are the ``n`` before the demo's:
defaults are chosen there, and the demo's own windows (``--on test``) are read only for the
reported figure. Budgets are epochs, so the MASE figures do not depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from tsattn.datasets import load
from tsattn.demo import DEMO_SETTINGS, demo_frame, demo_network
from tsattn.evaluation import backtest


def frame(name: str, on: str):
    """The dataset's frame as the demo uses it, without the demo's windows on validation."""
    data, settings = load(name), DEMO_SETTINGS[name]
    df = demo_frame(data, settings)
    if on == "validation":
        held = settings["n_windows"] * data.horizon
        df = df[df.groupby("unique_id", sort=False).cumcount(ascending=False) >= held]
    return data, settings, df


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--params", nargs="+", type=json.loads, default=[{}])
    parser.add_argument("--datasets", default="stock,weather,traffic")
    parser.add_argument("--models", default="lstm,attention_lstm,transformer,linear")
    parser.add_argument("--on", choices=["validation", "test"], default="validation")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    records = []
    for name in args.datasets.split(","):
        data, settings, df = frame(name, args.on)
        print(f"{name} ({args.on}): {len(df)} rows, {settings['n_windows']} windows", flush=True)
        for model in args.models.split(","):
            for params in args.params:
                estimator = demo_network(model, data, settings, **params)
                start = time.perf_counter()
                result = backtest(
                    estimator, df, n_windows=settings["n_windows"], season_length=data.season_length
                )
                seconds = time.perf_counter() - start
                mase = float(np.ravel(result.summary()["mase"])[0])
                print(f"  {model:<16} {json.dumps(params):<28} MASE {mase:.3f}  {seconds:.0f}s")
                records.append(
                    {"dataset": name, "on": args.on, "model": model, "params": params,
                     "mase": mase, "seconds": seconds}
                )  # fmt: skip
                if args.json:
                    with open(args.json, "w") as f:
                        json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
