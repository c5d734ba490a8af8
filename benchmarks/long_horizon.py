"""The long-horizon benchmark protocol on a multivariate CSV (ETTh1, weather, exchange rate).

    python benchmarks/long_horizon.py --csv ../shared/data/ett/ETTh1.csv --split ett \
        --lookback 96 --horizon 96 --models lstm,attention_lstm,transformer,linear,seasonal_naive \
        [--budget-minutes 10] [--json results.json]
    python benchmarks/long_horizon.py --csv ../shared/data/ett/ETTh1.csv --split ett --sweep \
        [--lookbacks 96,336] [--horizons 96,192,336,720] [--max-steps 2000]

Protocol (as in the Informer/Autoformer/PatchTST line of work): every channel of the file is one
series of one shared model (channel independence); rows are taken in file order (the row number
is the time index, so the file is used as is); a StandardScaler per channel is fit on the
training rows only; test windows have stride 1; MSE and MAE are averaged over all channels,
forecast steps and test windows, on scaled values. Training: 10 epochs at most, patience 3,
the estimators' moving average of the weights (over 1 epoch for the three networks, none for
DLinear; ``--trainer-options '{"ema_epochs": null}'`` turns it off).

``--sweep`` runs every (lookback, horizon) cell of ``--lookbacks`` x ``--horizons`` with the
models given, bounded by epochs and ``--max-steps`` (never by seconds, so figures reproduce),
and prints each cell beside the published DLinear, PatchTST and iTransformer figures at the same
(dataset, H, L) from ``benchmarks/published.py``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import pandas as pd
import torch

from tsattn import baselines
from tsattn.data import (
    SeriesScaler,
    check_panel,
    make_loaders,
    make_windows,
    standard_split,
    wide_to_long,
)
from tsattn.data.loader import WindowLoader
from tsattn.estimators import ESTIMATORS
from tsattn.models import MODELS, build_model
from tsattn.train import Trainer

STATISTICAL = {"naive", "seasonal_naive", "mean", "drift"}


def load_panel(csv: str, target_cols: list[str] | None):
    wide = pd.read_csv(csv)
    time_col = wide.columns[0]
    wide = wide.drop(columns=[time_col]).reset_index(names="row")
    long = wide_to_long(wide, time_col="row", value_cols=target_cols)
    return check_panel(long)


@torch.no_grad()
def predict(model: torch.nn.Module, loader: WindowLoader) -> tuple[np.ndarray, np.ndarray]:
    model.eval()
    device = next(model.parameters()).device  # where the Trainer left it (cuda on a GPU)
    preds, actual = [], []
    with torch.inference_mode():
        for batch in loader:
            batch = batch.to(device)
            out = model(
                batch.past_target, batch.past_covariates, batch.future_covariates, batch.static
            )
            preds.append(out[..., out.shape[-1] // 2].float().cpu())  # (B, H): the median output
            actual.append(batch.target[..., 0].cpu())  # (B, H)
    return torch.cat(preds).numpy(), torch.cat(actual).numpy()


def baseline_windows(panel, split, target, args):
    """Test windows with a lookback of at least one season, forecasting the same test steps."""
    longer = max(args.lookback, args.season_length)
    bounds = split.test.copy()
    bounds[:, 0] = np.maximum(bounds[:, 0] - (longer - args.lookback), panel.offsets[:-1])
    return make_windows(panel, longer, args.horizon, bounds=bounds, target=target)


def run_model(name: str, train, val, test, args) -> dict:
    lookback, horizon = args.lookback, args.horizon
    if name in STATISTICAL:
        batch = test.gather(np.arange(len(test)))
        past = batch.past_target[..., 0].numpy()  # (B, L)
        if name == "seasonal_naive":
            pred = baselines.seasonal_naive(past, horizon, args.season_length)
        else:
            pred = getattr(baselines, name)(past, horizon)
        actual = batch.target[..., 0].numpy()
        return {
            "model": name,
            "mse": float(np.mean((pred - actual) ** 2)),
            "mae": float(np.mean(np.abs(pred - actual))),
            "train_seconds": 0.0,
            "train_windows_per_s": float("nan"),
            "epochs": 0,
        }
    torch.manual_seed(args.seed)
    model = build_model(name, lookback=lookback, horizon=horizon, **args.model_options)
    train_loader, val_loader = make_loaders(train, val, batch_size=args.batch_size, seed=args.seed)
    trainer = Trainer(
        max_epochs=args.max_epochs,
        max_steps=args.max_steps,
        time_budget=args.budget_minutes * 60 if args.budget_minutes else None,
        random_state=args.seed,
        verbose=args.verbose,
        **({"learning_rate": args.learning_rate} if args.learning_rate else {}),
        **({"patience": args.patience} if args.patience else {}),
        # the estimators' training default (``NeuralForecaster.default_ema_epochs``), then the user's
        **{"ema_epochs": ESTIMATORS[name].default_ema_epochs, **args.trainer_options},
    )
    history = trainer.fit(model, train_loader, val_loader)
    pred, actual = predict(model, WindowLoader(test, 1024))
    return {
        "model": name,
        "mse": float(np.mean((pred - actual) ** 2)),
        "mae": float(np.mean(np.abs(pred - actual))),
        "train_seconds": history.train_seconds,
        "train_windows_per_s": history.windows_per_second,
        "epochs": len(history.epochs),
        "best_epoch": history.best_epoch,
        "best_val_mse": history.best_val_loss,  # what a default is chosen on
        "stop": history.stop_reason,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", required=True)
    parser.add_argument(
        "--target-cols", default=None, help="comma-separated channels (default: all)"
    )
    parser.add_argument("--split", choices=["ett", "70-10-20"], default="ett")
    parser.add_argument("--lookback", type=int, default=96)
    parser.add_argument("--horizon", type=int, default=96)
    parser.add_argument("--models", default="lstm,attention_lstm,transformer,linear,seasonal_naive")
    parser.add_argument("--season-length", type=int, default=24)
    parser.add_argument(
        "--budget-minutes", type=float, default=10.0, help="training wall-time cap per model"
    )
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--max-steps", type=int, default=None, help="optimiser steps per model")
    parser.add_argument("--sweep", action="store_true", help="every --lookbacks x --horizons cell")
    parser.add_argument("--lookbacks", default="96,336")
    parser.add_argument("--horizons", default="96,192,336,720")
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument(
        "--model-options",
        type=json.loads,
        default={},
        help='network arguments as JSON, e.g. \'{"revin": "last"}\'',
    )
    parser.add_argument(
        "--trainer-options",
        type=json.loads,
        default={},
        help="Trainer arguments as JSON, e.g. '{\"ema_epochs\": null}'",
    )
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--verbose", type=int, default=1)
    parser.add_argument("--json", default=None, help="write the records here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in MODELS and m not in STATISTICAL]
    if unknown:
        parser.error(
            f"unknown model(s) {unknown}; choose from {sorted(MODELS) + sorted(STATISTICAL)}"
        )
    panel = load_panel(args.csv, args.target_cols.split(",") if args.target_cols else None)
    if not args.sweep:
        records = run_cell(panel, models, args)
        print(f"\n{'model':<16}{'MSE':>8}{'MAE':>8}{'train s':>9}{'windows/s':>11}{'epochs':>8}")
        for r in records:
            print(
                f"{r['model']:<16}{r['mse']:>8.4f}{r['mae']:>8.4f}{r['train_seconds']:>9.0f}{r['train_windows_per_s']:>11.0f}{r['epochs']:>8}"
            )
        return
    args.budget_minutes = None  # a sweep is bounded by epochs and steps only
    records = []
    for lookback in [int(v) for v in args.lookbacks.split(",")]:
        for horizon in [int(v) for v in args.horizons.split(",")]:
            cell = argparse.Namespace(**{**vars(args), "lookback": lookback, "horizon": horizon})
            records += run_cell(panel, models, cell, previous=records)
    print_sweep(records, args.csv)


def run_cell(panel, models: list[str], args, previous=()) -> list[dict]:
    """Every model at one (lookback, horizon): train on the train rows, score the test windows."""
    split = standard_split(panel, args.split, args.lookback)
    scaled = SeriesScaler("standard").fit(panel, bounds=split.train).transform(panel)
    parts = [
        make_windows(panel, args.lookback, args.horizon, bounds=b, target=scaled.target)
        for b in (split.train, split.val, split.test)
    ]
    print(
        f"{args.csv}: {panel.n_series} channels, split {args.split}, L={args.lookback} H={args.horizon}; "
        f"windows train {len(parts[0])}, val {len(parts[1])}, test {len(parts[2])}; torch threads {torch.get_num_threads()}",
        flush=True,
    )
    records = []
    for name in models:
        t0 = time.perf_counter()
        test = (
            baseline_windows(panel, split, scaled.target, args) if name in STATISTICAL else parts[2]
        )
        record = run_model(name, parts[0], parts[1], test, args)
        record.update(
            dataset=args.csv.rsplit("/", 1)[-1],
            lookback=args.lookback,
            horizon=args.horizon,
            split=args.split,
            model_options=args.model_options,
            trainer_options=args.trainer_options,
            wall_seconds=time.perf_counter() - t0,
        )
        records.append(record)
        print(
            f"  {name:<16} mse {record['mse']:.4f}  mae {record['mae']:.4f}"
            f"  val {record.get('best_val_mse', float('nan')):.4f}  train {record['train_seconds']:.0f}s"
            f"  wall {record['wall_seconds']:.0f}s",
            flush=True,
        )
        if args.json:
            with open(args.json, "w") as f:
                json.dump([*previous, *records], f, indent=1)
    return records


def print_sweep(records: list[dict], csv: str) -> None:
    """One line per cell: each model's MSE, the best network against the best published figure
    and against DLinear (ours), and the cell's wall time."""
    from published import PUBLISHED, dataset_key  # this folder's table of cited figures

    key = dataset_key(csv)
    names = list(dict.fromkeys(r["model"] for r in records))
    networks = [n for n in names if n in MODELS and n != "linear"]
    print(f"\n{key}: test MSE per (L, H); best network vs the best published figure and DLinear")
    head = "".join(f"{n[:14]:>15}" for n in names)
    print(
        f"{'L':>4}{'H':>5}{head}  {'best net':>8} {'published (source)':<34}{'vs pub':>7}"
        f"{'vs DLin':>8}{'cell s':>7}"
    )
    for lookback, horizon in sorted({(r["lookback"], r["horizon"]) for r in records}):
        row = {
            r["model"]: r for r in records if (r["lookback"], r["horizon"]) == (lookback, horizon)
        }
        line = "".join(f"{row[n]['mse']:>15.4f}" if n in row else f"{'':>15}" for n in names)
        cited = PUBLISHED.get((key, lookback, horizon), {})
        model, (mse, _, source) = (
            min(cited.items(), key=lambda kv: kv[1][0]) if cited else ("", (float("nan"), 0, ""))
        )
        nets = [row[n]["mse"] for n in networks if n in row]
        best = min(nets) if nets else float("nan")
        dlinear = row["linear"]["mse"] if "linear" in row else float("nan")
        seconds = sum(r["wall_seconds"] for r in row.values())
        published = f"{model} {mse:.3f} ({source})" if cited else "-"
        print(
            f"{lookback:>4}{horizon:>5}{line}  {best:>8.4f} {published:<34}"
            f"{100 * (best / mse - 1):>+6.1f}%{100 * (best / dlinear - 1):>+7.1f}%{seconds:>7.0f}"
        )


if __name__ == "__main__":
    main()
