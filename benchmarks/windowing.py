"""Memory and speed of window preparation: tsattn's index arithmetic against materialised windows.

    python benchmarks/windowing.py [--points 10000000] [--lookback 512] [--horizon 96]

Each measurement runs in a fresh subprocess. Peak memory is the growth of the process's peak
resident set (VmHWM, reset through /proc/self/clear_refs) while preparing the training windows
and loader of one series, relative to the series' own float32 bytes. Gather time is 1,000
shuffled batches of 256 windows. The naive version stacks every window into one array
(``np.stack`` of all ``lookback + horizon`` windows), which at 10M points would need ~24 GB, so
it is measured at smaller sizes in the same run and its 10M figure is extrapolated (linear in
the number of windows) and marked so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def _rss_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _series(points: int) -> np.ndarray:
    """A float32 random walk built in chunks so that making it leaves no larger peak behind."""
    series = np.empty(points, dtype=np.float32)
    rng = np.random.default_rng(0)
    level, chunk = 0.0, 1_000_000
    for i in range(0, points, chunk):
        steps = rng.standard_normal(min(chunk, points - i))
        series[i : i + len(steps)] = level + np.cumsum(steps)
        level = float(series[i + len(steps) - 1])
    return series


def child(variant: str, points: int, lookback: int, horizon: int, batches: int, batch: int) -> dict:
    import pandas as pd
    import torch

    from tsattn.data import Panel, ValidationReport, make_windows
    from tsattn.data.loader import WindowLoader

    torch.set_num_threads(1)
    series = _series(points)
    # the validated panel (its int64 time column included) exists before preparation starts
    panel = Panel(
        ids=np.array(["s"], dtype=object),
        offsets=np.array([0, points], dtype=np.int64),
        time=np.arange(points, dtype=np.int64),
        target=series,
        covariates={},
        freq=1,
        tz=None,
        report=ValidationReport(counts=pd.DataFrame()),
    )
    _reset_peak()
    before = _rss_kib("VmRSS")
    t0 = time.perf_counter()
    if variant == "tsattn":
        windows = make_windows(panel, lookback, horizon)
        loader = WindowLoader(windows, batch, shuffle=True, seed=0)
        order = loader.order()  # the epoch's shuffled window numbers (int32)
        n_windows = len(windows)
        prepare_s = time.perf_counter() - t0
        peak_prepare = _rss_kib("VmHWM") - before
        t0 = time.perf_counter()
        full_batches = n_windows // batch  # small series: cycle through the epoch
        for i in range(batches):
            j = i % full_batches
            b = windows.gather(order[j * batch : (j + 1) * batch].numpy())
            assert b.past_target.shape == (batch, lookback, 1)
        gather_s = time.perf_counter() - t0
    else:  # naive: materialise every window, then index batches out of it
        length = lookback + horizon
        n_windows = points - length + 1
        x = np.stack([series[s : s + lookback] for s in range(n_windows)])[:, :, None]
        y = np.stack([series[s + lookback : s + length] for s in range(n_windows)])[:, :, None]
        order = np.random.default_rng(0).permutation(n_windows)
        prepare_s = time.perf_counter() - t0
        peak_prepare = _rss_kib("VmHWM") - before
        t0 = time.perf_counter()
        full_batches = n_windows // batch
        for i in range(batches):
            j = i % full_batches
            idx = order[j * batch : (j + 1) * batch]
            b = (torch.from_numpy(x[idx]), torch.from_numpy(y[idx]))
            assert b[0].shape == (batch, lookback, 1)
        gather_s = time.perf_counter() - t0
    return {
        "variant": variant,
        "points": points,
        "windows": n_windows,
        "series_mb": series.nbytes / 2**20,
        "peak_mb": peak_prepare / 1024,
        "peak_over_series": peak_prepare * 1024 / series.nbytes,
        "prepare_s": prepare_s,
        "gather_1000_s": gather_s * 1000 / batches,
    }


def run(variant: str, points: int, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", variant, "--points", str(points)]
    cmd += ["--lookback", str(args.lookback), "--horizon", str(args.horizon)]
    cmd += ["--batches", str(args.batches), "--batch-size", str(args.batch_size)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--lookback", type=int, default=512)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--batches", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--naive-points", type=str, default="100000,1000000")
    parser.add_argument("--child", choices=["tsattn", "naive"])
    args = parser.parse_args()
    if args.child:
        result = child(
            args.child, args.points, args.lookback, args.horizon, args.batches, args.batch_size
        )
        print(json.dumps(result))
        return
    naive_sizes = [int(p) for p in args.naive_points.split(",")]
    rows = []
    for points in [*naive_sizes, args.points]:
        rows.append(run("tsattn", points, args))
    for points in naive_sizes:
        rows.append(run("naive", points, args))
    largest = max((r for r in rows if r["variant"] == "naive"), key=lambda r: r["points"])
    scale = (args.points - args.lookback - args.horizon + 1) / largest["windows"]
    print(
        f"lookback={args.lookback} horizon={args.horizon}, {args.batches} batches of {args.batch_size}"
    )
    header = f"{'variant':<22}{'points':>12}{'windows':>12}{'series MB':>11}{'peak MB':>10}{'peak/series':>13}{'prepare s':>11}{'1000 batches s':>16}"
    print(header)
    for r in rows:
        print(
            f"{r['variant']:<22}{r['points']:>12,}{r['windows']:>12,}{r['series_mb']:>11.1f}"
            f"{r['peak_mb']:>10.1f}{r['peak_over_series']:>13.2f}{r['prepare_s']:>11.3f}{r['gather_1000_s']:>16.3f}"
        )
    est_peak = largest["peak_mb"] * scale
    print(
        f"{'naive (extrapolated)':<22}{args.points:>12,}{'':>12}{args.points * 4 / 2**20:>11.1f}"
        f"{est_peak:>10.0f}{est_peak * 2**20 / (args.points * 4):>13.0f}{largest['prepare_s'] * scale:>11.1f}{'':>16}"
    )
    ours = next(r for r in rows if r["variant"] == "tsattn" and r["points"] == args.points)
    same = next(r for r in rows if r["variant"] == "tsattn" and r["points"] == largest["points"])
    print(
        f"\n{args.points:,} points: peak {ours['peak_mb']:.1f} MB = {ours['peak_over_series']:.2f}x the "
        f"series' {ours['series_mb']:.0f} MB (target < 2x); "
        f"at {largest['points']:,} points the naive gather takes "
        f"{largest['gather_1000_s'] / same['gather_1000_s']:.2f}x tsattn's time and "
        f"{largest['peak_mb'] / max(same['peak_mb'], 0.1):.0f}x its memory."
    )


if __name__ == "__main__":
    main()
