"""Batch job throughput and peak memory: chunk sizes, 10k vs 100k series, and plain ``predict``.

    python benchmarks/batch.py [--series 10000,100000] [--chunks 1000,10000] [--length 200]
        [--threads 2] [--workdir DIR]

The series are slices of real data: windows of ``--length`` hours cut from the I-94 traffic
volume (a PyPI dependency), one every 7 hours, and from the seven ETTh1 channels when
``$TSATTN_DATA`` (or ``../shared/data``) has them, each slice a series of its own. A DLinear
forecaster (lookback 96, horizon 24, 2 epochs) is fitted on the first 200 series and saved.
Then, each in a fresh process so that its peak resident memory is its own:

* ``tsattn batch run`` on a Parquet file of N series, for every chunk size (``history_rows``
  = the lookback: each chunk reads only its series' last 96 rows, a streaming polars query);
* ``est.predict(df)`` on the same N series at once (the whole frame in memory).

Prints series per second and peak RSS of each; bounded memory means the job's peak grows far
less than the 10x of the series count, and is set by the chunk size.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def slices(n_series: int, length: int) -> pd.DataFrame:
    """``n_series`` windows of real hourly data as a long frame."""
    from tsattn.datasets import load

    sources = [load("traffic").df["y"].to_numpy()]
    beside = Path(__file__).resolve().parents[2] / "shared" / "data"
    data_dir = os.environ.get("TSATTN_DATA") or (str(beside) if beside.is_dir() else None)
    try:
        ett = load("ETTh1", data_dir).df
        sources += [g["y"].to_numpy() for _, g in ett.groupby("unique_id")]
    except (FileNotFoundError, ValueError, OSError):
        pass
    starts = [(k, s) for k, v in enumerate(sources) for s in range(0, len(v) - length, 7)]
    if n_series > len(starts):  # more series than windows: reuse them, shifted in level
        starts = starts * (n_series // len(starts) + 1)
    values = np.stack([sources[k][s : s + length] for k, s in starts[:n_series]])
    values = values + np.arange(n_series)[:, None] % 97  # distinct series
    ds = pd.date_range("2024-01-01", periods=length, freq="h")
    return pd.DataFrame(
        {
            "unique_id": np.repeat([f"s{i:06d}" for i in range(n_series)], length),
            "ds": np.tile(ds, n_series),
            "y": values.ravel().astype(np.float64),
        }
    )


def peak_rss_mib() -> float:
    """This process's peak resident memory: VmHWM, which (unlike getrusage's ru_maxrss, kept
    across exec) does not include the parent's memory at fork."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux


def child(args: argparse.Namespace) -> None:
    """One measurement in this process: a batch job, or predict on everything at once."""
    import torch

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    if args.mode == "predict":
        import tsattn

        df = pd.read_parquet(args.data)
        est = tsattn.load(args.model)
        rows = len(est.predict(df))
    else:
        from tsattn.batch import run_job

        rows = run_job(args.config, quiet=True).rows_out
    seconds = time.perf_counter() - start
    peak_mib = peak_rss_mib()
    print(json.dumps({"seconds": seconds, "peak_mib": peak_mib, "rows": rows}))


def measure(mode: str, threads: int, **paths: str) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--threads", str(threads)]
    for key, value in paths.items():
        command += [f"--{key}", value]
    out = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", default="10000,100000")
    parser.add_argument("--chunks", default="1000,10000")
    parser.add_argument("--length", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--child", dest="mode", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        child(args)
        return
    import tsattn

    work = Path(args.workdir or tempfile.mkdtemp(prefix="tsattn-batch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    counts = [int(n) for n in args.series.split(",")]
    chunks = [int(c) for c in args.chunks.split(",")]
    model = work / "model"
    est = tsattn.LinearForecaster(horizon=24, lookback=96, max_epochs=2, random_state=0)
    est.fit(slices(200, args.length)).save(model)
    print(f"DLinear L=96 H=24; series of {args.length} hourly rows sliced from real data")
    print(f"{'series':>8} {'how':<22} {'seconds':>8} {'series/s':>9} {'peak MiB':>9}")
    for n in counts:
        data = work / f"series_{n}.parquet"
        frame = slices(n, args.length)
        frame.to_parquet(data, index=False)
        del frame
        for chunk in chunks:
            config = work / f"job_{n}_{chunk}.toml"
            config.write_text(
                f'[job]\nname = "bench"\nchunk_size = {chunk}\nhistory_rows = 96\n'
                f'run_log = "runs.jsonl"\n[input]\npath = "{data}"\n[model]\nuri = "{model}"\n'
                f'[output]\npath = "out_{n}_{chunk}"\n'
            )
            r = measure("job", args.threads, config=str(config))
            how = f"batch, chunk {chunk}"
            print(
                f"{n:>8} {how:<22} {r['seconds']:8.1f} {n / r['seconds']:9.0f} {r['peak_mib']:9.0f}"
            )
        r = measure("predict", args.threads, data=str(data), model=str(model))
        how = "predict(all at once)"
        print(f"{n:>8} {how:<22} {r['seconds']:8.1f} {n / r['seconds']:9.0f} {r['peak_mib']:9.0f}")


if __name__ == "__main__":
    main()
