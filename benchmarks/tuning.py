"""Optuna tuning of the networks on the ETTh1 long-horizon protocol, with and without pruning.

    python benchmarks/tuning.py --csv ../shared/data/ett/ETTh1.csv [--models lstm]
        [--trials 20] [--max-epochs 10] [--threads 2] [--lookbacks 96] [--json out.json]

The protocol of ``benchmarks/long_horizon.py`` (ETT borders, every channel one series,
standard scaling fitted on the training rows, L=96, H=96, test windows of stride 1, MSE on
scaled values). Each trial trains on the training rows and is scored by its validation MSE,
reported after every epoch so Optuna's MedianPruner can stop it; the test rows are read once,
by the best trial's network, after the study. Every study uses Optuna's TPE sampler with a
fixed seed, and a study without pruning runs the same seeds for the comparison: the share of
trials pruned, the wall time saved and the tuned test MSE against the untuned default (the
network's own defaults and the estimators' training default, weight averaging included, as in
RESULTS.md). The study's first trial is that default network, as ``tsattn.tune`` queues the
model's defaults first: its recorded run (same seed and budget) is added, not trained again,
and when it stays the best the tuned figure is the default's (``--no-default-trial`` leaves it
out). Budgets are epochs, never seconds; the epochs column counts the default's too.

``--lookbacks 96,336,512,720`` adds the lookback to the searched space, as ``tsattn.tune``'s
default space does; ``--lookbacks default`` searches that space's own lookbacks for hourly
data (24 to 720). The ETT borders move back by the lookback, so every lookback is scored on
the same validation targets and tested on the same test targets; the default trial stays at
L=96.
"""

from __future__ import annotations

import argparse
import inspect
import json
import time

import numpy as np
import optuna
import torch
from long_horizon import load_panel, predict  # the protocol, from this folder

from tsattn.data import SeriesScaler, make_loaders, make_windows, standard_split
from tsattn.data.loader import WindowLoader
from tsattn.estimators import ESTIMATORS
from tsattn.models import MODELS, build_model
from tsattn.train import Trainer, resolve_device
from tsattn.tuning import default_search_space

LOOKBACK = HORIZON = 96


def space(trial: optuna.Trial, name: str, lookbacks=(LOOKBACK,)) -> tuple[dict, float]:
    """Network arguments (the lookback among them) and learning rate of one trial."""
    params = {"lookback": LOOKBACK}
    if len(lookbacks) > 1:
        params["lookback"] = trial.suggest_categorical("lookback", list(lookbacks))
    if name == "linear":  # DLinear: its moving-average kernel is its only shape option
        params["kernel_size"] = trial.suggest_categorical("kernel_size", [13, 25, 49])
    else:
        params |= {
            "dropout": trial.suggest_float("dropout", 0.0, 0.3),
            "hidden_size": trial.suggest_categorical("hidden_size", [32, 64, 128, 256]),
            "num_layers": trial.suggest_int("num_layers", 1, 3),
            "segment_length": trial.suggest_categorical("segment_length", [8, 12, 24, 48]),
        }
    if name == "attention_lstm":
        # not "additive": per step it builds a (batch, H, L, D) tensor (1.2 GB at L=H=96)
        params["attention"] = trial.suggest_categorical("attention", ["general", "dot"])
    return params, trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True)


def train(name, params, lr, data, args, callbacks=()):
    """Train one network; ``data`` maps each lookback to its (train, val, test) windows."""
    torch.manual_seed(args.seed)
    params = {"lookback": LOOKBACK} | params
    parts = data[params["lookback"]]
    model = build_model(name, horizon=HORIZON, **params)
    loaders = make_loaders(parts[0], parts[1], batch_size=256, seed=args.seed)
    trainer = Trainer(
        max_epochs=args.max_epochs,
        learning_rate=lr,
        patience=3,
        random_state=args.seed,
        callbacks=callbacks,
        device=args.device,
        verbose=0,
        # the estimators' training default, as in long_horizon.py: weight averaging over
        # ``default_ema_epochs`` (one epoch for the networks, none for DLinear)
        ema_epochs=ESTIMATORS[name].default_ema_epochs,
    )
    history = trainer.fit(model, *loaders)
    return model, history


def test_mse(model, test) -> float:
    pred, actual = predict(model, WindowLoader(test, 1024))
    return float(np.mean((pred - actual) ** 2))


def default_trial(name: str, history, lookbacks) -> optuna.trial.FrozenTrial:
    """The default network's run as a finished trial: what ``tsattn.tune`` queues first.

    Its parameters are the network's own defaults and a learning rate of 1e-3; its learning
    curve is that of the default run (same seed, same budget), so it is not trained again.
    """
    probe = optuna.create_study().ask()
    space(probe, name, lookbacks)  # the distributions the space draws from
    network = inspect.signature(MODELS[name]).parameters
    params = {k: network[k].default for k in probe.distributions if k != "learning_rate"}
    if "lookback" in params:
        params["lookback"] = LOOKBACK  # the protocol's lookback, the network's default aside
    return optuna.trial.create_trial(
        params=params | {"learning_rate": 1e-3},
        distributions=probe.distributions,
        value=min(e["val_loss"] for e in history.epochs),
        intermediate_values={k: e["val_loss"] for k, e in enumerate(history.epochs)},
        user_attrs={"defaults": True},
    )


def study(name, data, args, prune: bool, default_history) -> dict:
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
    s = optuna.create_study(
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=pruner if prune else optuna.pruners.NopPruner(),
    )
    if default_history is not None:
        s.add_trial(default_trial(name, default_history, args.lookbacks))

    def objective(trial: optuna.Trial) -> float:
        params, lr = space(trial, name, args.lookbacks)

        def report(epoch: int, metrics: dict) -> None:
            trial.report(metrics["val_loss"], epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"epoch {epoch}: val_loss {metrics['val_loss']:.4f}")

        _, history = train(name, params, lr, data, args, [report])
        return min(e["val_loss"] for e in history.epochs)

    def progress(_: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        print(
            f"  {name} pruning={prune} trial {trial.number:>2} {trial.state.name:<8} epochs "
            f"{len(trial.intermediate_values):>2} value {trial.value if trial.value is not None else float('nan'):.4f}"
            f" {trial.params}",
            flush=True,
        )

    start = time.perf_counter()
    s.optimize(
        objective, n_trials=args.trials - len(s.trials), timeout=args.timeout, callbacks=[progress]
    )
    seconds = time.perf_counter() - start
    states = [t.state for t in s.trials]
    tuned = None
    if not s.best_trial.user_attrs.get("defaults"):  # else the default network is the answer
        params, lr = space(optuna.trial.FixedTrial(s.best_params), name, args.lookbacks)
        tuned = test_mse(train(name, params, lr, data, args)[0], data[params["lookback"]][2])
    best_other = min(
        (
            t.value
            for t in s.trials
            if t.state == optuna.trial.TrialState.COMPLETE and not t.user_attrs.get("defaults")
        ),
        default=float("nan"),
    )
    return {
        "model": name,
        "pruning": prune,
        "trials": len(states),
        "pruned": sum(st == optuna.trial.TrialState.PRUNED for st in states),
        # training epochs run over the whole study: the device-independent cost of a study
        "epochs": sum(len(t.intermediate_values) for t in s.trials),
        "seconds": seconds,
        "best_val_mse": s.best_value,
        "best_params": s.best_params,
        "best_is_default": tuned is None,
        "best_val_mse_other_than_default": best_other,
        "test_mse": tuned,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--csv", required=True)
    parser.add_argument("--models", default="lstm,attention_lstm,transformer,linear")
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--pruning", choices=["both", "on", "off"], default="both")
    parser.add_argument("--device", default="auto", help="Trainer device (bf16 autocast on CUDA)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="safety net for a lent machine: stop starting trials after this many seconds "
        "(the record's trial count says how many ran); figures to reproduce use --trials only",
    )
    parser.add_argument(
        "--no-default-trial",
        action="store_true",
        help="leave the default network out of the study (tsattn.tune puts it in as trial 0)",
    )
    parser.add_argument(
        "--lookbacks",
        default=str(LOOKBACK),
        help="comma-separated lookbacks to search (default: the protocol's 96 only), or "
        "'default': those of tsattn.tune's default space for hourly data",
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.lookbacks == "default":  # ETTh1 is hourly: season 24, as tsattn.tune infers it
        space = default_search_space("lstm", season_length=24, horizon=HORIZON)
        args.lookbacks = ",".join(str(v) for v in space.distributions["lookback"].choices)
    args.lookbacks = tuple(sorted({int(v) for v in args.lookbacks.split(",")} | {LOOKBACK}))
    print(f"lookbacks searched: {args.lookbacks}", flush=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    device = resolve_device(args.device)
    print(
        f"device {device}, torch {torch.__version__}, threads {torch.get_num_threads()}", flush=True
    )
    panel = load_panel(args.csv, None)
    # the scaler's training rows do not depend on the lookback (the ETT borders do not move)
    train_rows = standard_split(panel, "ett", LOOKBACK).train
    scaled = SeriesScaler("standard").fit(panel, bounds=train_rows).transform(panel)
    data = {
        lookback: [
            make_windows(panel, lookback, HORIZON, bounds=b, target=scaled.target)
            for b in standard_split(panel, "ett", lookback)
        ]
        for lookback in args.lookbacks
    }
    records = []
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        default, history = train(name, {}, 1e-3, data, args)
        base = test_mse(default, data[LOOKBACK][2])
        first = None if args.no_default_trial else history
        for prune in {"both": (True, False), "on": (True,), "off": (False,)}[args.pruning]:
            record = study(name, data, args, prune, first) | {"default_test_mse": base}
            if record["test_mse"] is None:
                record["test_mse"] = base  # the best trial is the default network itself
            records.append(record)
            print(
                f"{name:<15} pruning={prune!s:<5} trials {record['trials']:>3} pruned "
                f"{record['pruned']:>3} epochs {record['epochs']:>4} {record['seconds']:7.0f} s  best val {record['best_val_mse']:.4f}"
                f"  test {record['test_mse']:.4f} (default {base:.4f})",
                flush=True,
            )
            if args.json:
                with open(args.json, "w") as f:
                    json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
