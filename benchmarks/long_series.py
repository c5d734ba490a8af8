"""Fit time and peak memory of a short fit on one very long series.

    python benchmarks/long_series.py [--points 2000000] [--max-val-windows all] [--no-refit]

``LSTMForecaster(horizon=96, lookback=512, max_steps=3)`` on one synthetic hourly series (daily
and weekly seasons plus noise). Three optimiser steps take well under a second; what remains is
data preparation and the validation pass, whose cost ``max_val_windows`` bounds. Prints the wall
time of ``fit``, the process's peak RSS (``ru_maxrss``) and the validation windows per epoch.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np
import pandas as pd

import tsattn


def series(points: int, seed: int = 0) -> pd.DataFrame:
    t = np.arange(points)
    rng = np.random.default_rng(seed)
    y = (
        10
        + np.sin(2 * np.pi * t / 24)
        + 0.5 * np.sin(2 * np.pi * t / 168)
        + 0.3 * rng.standard_normal(points)
    )
    ds = pd.date_range("2000-01-01", periods=points, freq="h")
    return pd.DataFrame({"unique_id": "s", "ds": ds, "y": y.astype(np.float32)})


def peak_rss_mb() -> float:
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=2_000_000)
    parser.add_argument(
        "--max-val-windows", default="default", help="'default', 'all' or an integer"
    )
    parser.add_argument("--no-refit", action="store_true", help="refit_with_val=False")
    args = parser.parse_args()
    params = {"horizon": 96, "lookback": 512, "max_steps": 3}
    if args.no_refit:
        params["refit_with_val"] = False
    if args.max_val_windows != "default":
        cap = args.max_val_windows
        params["max_val_windows"] = None if cap == "all" else int(cap)
    df = series(args.points)
    before = peak_rss_mb()
    est = tsattn.LSTMForecaster(**params)
    start = time.perf_counter()
    est.fit(df)
    seconds = time.perf_counter() - start
    history = est.training_history_
    print(
        f"points {args.points:,}  max_val_windows {est.max_val_windows}  "
        f"refit_with_val {est.refit_with_val}"
    )
    print(
        f"fit {seconds:.1f} s  peak RSS {peak_rss_mb():.0f} MiB (frame built: {before:.0f} MiB)  "
        f"validation windows per epoch {history.val_windows:,} of "
        f"{int(est.validation_report_.counts['val_windows'].sum()):,}  "
        f"train windows {int(est.validation_report_.counts['train_windows'].sum()):,}  "
        f"steps {history.steps}"
    )


if __name__ == "__main__":
    main()
