"""Training throughput of each network: tsattn's Trainer against a minimal hand-written loop.

    python benchmarks/throughput.py [--csv ../shared/data/ett/ETTh1.csv] [--steps 60] [--device auto]

Both loops train the same network (same initial weights) on the same batches (the same
``WindowLoader`` of ETTh1 training windows, L=96, H=96, batch 256): the hand loop does forward,
MSE, backward and an AdamW step, nothing else; the Trainer adds its schedule, clipping, loss
book-keeping and bf16 autocast on CUDA (``--precision fp32`` for a like-for-like GPU figure).
Runs alternate (hand, engine, hand, engine) and the best of each is kept, so machine noise
hits both alike. Overhead = hand windows/s / engine windows/s - 1 (target: under 10%).
"""

from __future__ import annotations

import argparse
import copy
import time

import numpy as np
import pandas as pd
import torch

from tsattn.data import check_panel, make_windows, wide_to_long
from tsattn.data.loader import WindowLoader
from tsattn.models import MODELS, build_model
from tsattn.train import Trainer, resolve_device


def windows_from(csv: str | None, lookback: int, horizon: int):
    if csv:
        wide = pd.read_csv(csv).iloc[:8640]  # the ETTh1 training rows
        wide = wide.drop(columns=[wide.columns[0]]).reset_index(names="row")
        panel = check_panel(wide_to_long(wide, time_col="row"))
    else:  # shape-only fallback when no data folder is at hand (figures are for speed only)
        rng = np.random.default_rng(0)
        df = pd.DataFrame(
            {"unique_id": np.repeat(np.arange(7), 8640), "ds": np.tile(np.arange(8640), 7)}
        )
        df["y"] = rng.standard_normal(len(df)).cumsum()
        panel = check_panel(df)
    return make_windows(panel, lookback, horizon)


def hand_loop(model, loader, steps, device) -> float:
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    seen, start, it = 0, time.perf_counter(), iter(loader)
    for _ in range(steps):
        batch = next(it).to(device, non_blocking=True)
        pred = model(
            batch.past_target, batch.past_covariates, batch.future_covariates, batch.static
        )
        loss = torch.nn.functional.mse_loss(pred, batch.target)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(batch.series)
    if device.type == "cuda":
        torch.cuda.synchronize()
    return seen / (time.perf_counter() - start)


def engine(model, loader, steps, device, precision) -> float:
    trainer = Trainer(
        max_epochs=1,
        max_steps=steps,
        patience=None,
        verbose=0,
        device=str(device),
        precision=precision,
    )
    history = trainer.fit(model, loader, None)
    return history.windows_per_second


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", default=None)
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--lookback", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="fp32", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    device = resolve_device(args.device)
    windows = windows_from(args.csv, args.lookback, args.horizon)
    print(
        f"device {device}, precision {args.precision}, {args.steps} steps of {args.batch_size} windows, torch threads {torch.get_num_threads()}"
    )
    print(f"{'model':<16}{'hand win/s':>12}{'engine win/s':>14}{'overhead':>10}")
    for name in args.models.split(","):
        torch.manual_seed(0)
        base = build_model(name, lookback=args.lookback, horizon=args.horizon)
        hand, eng = [], []
        for r in range(args.repeats):
            loader = WindowLoader(windows, args.batch_size, shuffle=True, seed=r, device=device)
            hand.append(hand_loop(copy.deepcopy(base).to(device), loader, args.steps, device))
            loader = WindowLoader(windows, args.batch_size, shuffle=True, seed=r, device=device)
            eng.append(
                engine(copy.deepcopy(base).to(device), loader, args.steps, device, args.precision)
            )
        h, e = max(hand), max(eng)
        print(f"{name:<16}{h:>12.0f}{e:>14.0f}{100 * (h / e - 1):>9.1f}%", flush=True)


if __name__ == "__main__":
    main()
