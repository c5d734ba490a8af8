"""Wall-time overhead of MLflow tracking on a 10-epoch ETTh1 fit (target: <= 5 %).

    python benchmarks/tracking_overhead.py [--model LSTMForecaster] [--epochs 10] [--repeats 3]
        [--store DIR] [--threads 2]

The same fit (ETTh1, all seven channels, horizon 96, lookback 96, exactly ``--epochs`` epochs:
patience off, no refit) runs untracked and tracked (``fit(df, tracking=...)`` into a local
SQLite store: params, dataset hash, per-epoch losses, versions, the validation report and the
forecast plot), alternating, ``--repeats`` times each in one process; the store is created and
migrated once before timing, as it is on every use after the first. The forecasts of the two
are compared bit for bit. Reports the median of each and their ratio, and (less noisy on a
shared machine) the median time of the tracking work alone, replayed on the fitted model.

ETTh1 is read from ``$TSATTN_DATA`` (else ``../shared/data`` beside the repository).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import tsattn
from tsattn.datasets import load
from tsattn.tracking import Tracker
from tsattn.tracking.runs import estimator_params, log_fitted


def etth1():
    beside = Path(__file__).resolve().parents[2] / "shared" / "data"
    data_dir = os.environ.get("TSATTN_DATA") or (str(beside) if beside.is_dir() else None)
    return load("ETTh1", data_dir).df[["unique_id", "ds", "y"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="LSTMForecaster")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--store", default=None, help="tracking folder (default: a temp dir)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    df = etth1()
    store = args.store or tempfile.mkdtemp(prefix="tsattn-overhead-")
    tracker = Tracker(store, experiment="tracking-overhead")
    tracker.connect()  # create and migrate the store once, as any later use finds it

    def make():
        return getattr(tsattn, args.model)(
            horizon=96,
            lookback=96,
            max_epochs=args.epochs,
            patience=None,
            refit_with_val=False,
            random_state=0,
        )

    times = {"untracked": [], "tracked": []}
    forecasts = {}
    for _ in range(args.repeats):
        for mode in ("untracked", "tracked"):
            est = make()
            start = time.perf_counter()
            est.fit(df, tracking=tracker if mode == "tracked" else None)
            times[mode].append(time.perf_counter() - start)
            forecasts[mode] = est.predict()["y_pred"].to_numpy()
    plain, tracked = (statistics.median(times[m]) for m in ("untracked", "tracked"))
    print(f"{args.model} on ETTh1 ({len(df)} rows, 7 series), {args.epochs} epochs, H=L=96")
    for mode in times:
        print(f"  {mode:<10} " + "  ".join(f"{t:6.1f}s" for t in times[mode]))
    print(f"median untracked {plain:.1f}s, tracked {tracked:.1f}s")
    print(f"overhead {100 * (tracked / plain - 1):+.1f}% (target <= 5%)")
    same = np.array_equal(forecasts["untracked"], forecasts["tracked"])
    print(f"forecasts bit-identical: {same}")
    # the tracking work alone, without the fit's noise: what a tracked fit adds around training
    work = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        with tracker.start("overhead probe") as run:
            run.params(estimator_params(est))
            run.dataset(est.check_frame(df), "ETTh1", "training")
            for epoch, metrics in enumerate(est.training_history_.epochs):
                run.epoch_callback(epoch, metrics)
            log_fitted(run, est)
        work.append(time.perf_counter() - start)
    alone = statistics.median(work)
    print(f"tracking work alone (run, params, data hash, epochs, report, plots): {alone:.2f}s")
    print(f"  = {100 * alone / plain:.1f}% of the untracked fit (target <= 5%)")


if __name__ == "__main__":
    main()
