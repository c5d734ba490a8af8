"""Fit cost on many series: preparation against one training epoch, and peak memory.

    python benchmarks/many_series.py [--series 10000] [--length 1000] [--threads 2]

Fits ``LinearForecaster(lookback=24, horizon=12, max_epochs=1)`` on ``--series`` synthetic
hourly series of ``--length`` points, timing the steps of ``fit`` one by one with the library's
own functions (validation, scaling + features, windows, one training epoch), then the same
network for the same number of training windows on ONE long series, in the same run. Prints
the figures and the three targets:

* preparation (validation + features + windows) <= 20 % of the epoch;
* training windows/s on many series >= 0.8 x the one-series figure;
* peak memory added by the fit <= 3 x the input frame's bytes.

Budgets are in epochs, so the work done is the same on any machine; only the seconds vary.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd
import torch

import tsattn
from tsattn.data import make_windows
from tsattn.data.loader import make_loaders
from tsattn.data.splits import split_by_fraction
from tsattn.models import build_model
from tsattn.neural import _network_params, _trainer

LOOKBACK, HORIZON = 24, 12


def frame(n_series: int, length: int, seed: int = 0) -> pd.DataFrame:
    """Daily-cycle series with noise, one row per (series, hour)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    level = rng.uniform(10, 100, n_series)[:, None]
    y = level * (1 + 0.3 * np.sin(2 * np.pi * t / 24)) + rng.normal(0, 1, (n_series, length))
    return pd.DataFrame(
        {
            "unique_id": np.repeat([f"s{k:05d}" for k in range(n_series)], length),
            "ds": np.tile(pd.date_range("2024-01-01", periods=length, freq="h").values, n_series),
            "y": y.ravel(),
        }
    )


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def reset_peak() -> None:
    """Start the peak-RSS counter (VmHWM) afresh, so it measures the fit alone."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def prepare(df: pd.DataFrame, est: tsattn.LinearForecaster) -> dict:
    """The steps of NeuralForecaster._fit, each timed."""
    est._check_params()
    panel, t_validate = timed(lambda: est.check_frame(df, roles=tsattn.data.ColumnRoles()))
    est.columns_, est.freq_ = tsattn.data.ColumnRoles(), panel.freq

    def features():
        split = split_by_fraction(panel, LOOKBACK, (1 - est.val_size, est.val_size, 0.0))
        est.scaler_ = tsattn.data.SeriesScaler(est.scaler).fit(panel, bounds=split.train)
        return split, est._features(panel, est.scaler_)

    (split, (target, past, future)), t_features = timed(features)

    def windows():
        kw = {"target": target, "past_covariates": past, "future_covariates": future}
        parts = [split.train] + ([split.val] if est.val_size else [])
        return [make_windows(panel, LOOKBACK, HORIZON, bounds=b, **kw) for b in parts] + [None]

    (train, val, *_), t_windows = timed(windows)
    return {
        "panel": panel,
        "train": train,
        "val": val,
        "past": past,
        "future": future,
        "validation_s": t_validate,
        "features_s": t_features,
        "windows_s": t_windows,
    }


def one_epoch(est, past, future, train, val=None) -> tuple[float, int]:
    """Seconds and windows of one training epoch (plus its validation pass, timed apart)."""
    params = _network_params(est, past, future, None, est._model_options())
    torch.manual_seed(0)
    model = build_model(est.model_name, **params)
    trainer = _trainer(est)
    loader, _ = make_loaders(train, None, batch_size=est.batch_size, seed=0)
    _, seconds = timed(lambda: trainer.fit(model, loader, None))
    steps = len(loader) if est.max_steps is None else min(est.max_steps, len(loader))
    return seconds, min(steps * est.batch_size, len(train))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--length", type=int, default=1_000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="train this many steps instead of a whole epoch; the epoch's time is then "
        "estimated as its windows / the measured windows per second",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    # warm up first (torch.optim's first import, thread pools) so neither timing pays for it
    warm = tsattn.LinearForecaster(lookback=LOOKBACK, horizon=HORIZON, max_steps=5, val_size=0.0)
    warm_prep = prepare(frame(2, 500, seed=2), warm)
    one_epoch(warm, warm_prep["past"], warm_prep["future"], warm_prep["train"])

    df = frame(args.series, args.length)
    frame_mib = df.memory_usage(deep=True).sum() / 2**20
    base = rss_mib()
    reset_peak()
    kw = {"lookback": LOOKBACK, "horizon": HORIZON, "max_epochs": 1, "max_steps": args.steps}
    est = tsattn.LinearForecaster(**kw, patience=None)
    prep = prepare(df, est)
    n_train = len(prep["train"])
    seconds, trained = one_epoch(est, prep["past"], prep["future"], prep["train"])
    many_rate = trained / seconds
    epoch_s = n_train / many_rate
    peak = peak_mib() - base

    # the same network on one long series giving as many training windows as were trained
    # (at most 2,000,000: hourly timestamps end in 2262, and a rate needs no more)
    n_one = min(trained, 2_000_000)
    long = frame(1, n_one + LOOKBACK + HORIZON - 1, seed=1).assign(unique_id="one")
    one = tsattn.LinearForecaster(**kw, val_size=0.0, patience=None)
    one_prep = prepare(long, one)
    one_s, one_n = one_epoch(one, one_prep["past"], one_prep["future"], one_prep["train"])

    prep_s = prep["validation_s"] + prep["features_s"] + prep["windows_s"]
    one_rate = one_n / one_s
    print(
        f"{args.series} series x {args.length} points ({len(df):,} rows, frame {frame_mib:.0f} MiB)"
    )
    print(f"  validation      {prep['validation_s']:8.2f} s")
    print(f"  features        {prep['features_s']:8.2f} s")
    print(f"  windows         {prep['windows_s']:8.2f} s")
    how = "measured" if args.steps is None else f"from {args.steps} steps"
    print(
        f"  one epoch       {epoch_s:8.2f} s  ({n_train:,} windows, {many_rate:,.0f} windows/s, {how})"
    )
    print(f"  one series      {one_s:8.2f} s  ({one_n:,} windows, {one_rate:,.0f} windows/s)")
    print(f"  peak memory     {peak:8.0f} MiB above the {base:.0f} MiB before fit")
    print("targets:")
    print(f"  preparation / epoch      {prep_s / epoch_s:6.1%}  (<= 20%)")
    print(f"  windows/s many / one     {many_rate / one_rate:6.2f}x (>= 0.8x)")
    print(f"  peak memory / frame      {peak / frame_mib:6.2f}x (<= 3x)")


if __name__ == "__main__":
    main()
