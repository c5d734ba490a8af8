"""``tsattn.tune`` on the built-in domain datasets (stock, weather, traffic), against defaults.

    python benchmarks/tuning_domains.py [--datasets stock,weather,traffic] [--model lstm]
        [--trials 8] [--test-windows 3] [--json out.json]

For each dataset the last ``--test-windows`` forecast windows of every series are the test
part: ``tsattn.tune`` sees only the data before them (it selects on the last ``n_windows``
backtest windows of that data, MASE), and the tuned best estimator and the untuned default are
then backtested on the test windows, beside seasonal naive. Budgets are epochs (the tuning
default of ``tsattn.tuning``) and the sampler is seeded, so a rerun gives the same trials.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import warnings

import torch

import tsattn
from tsattn.datasets import load
from tsattn.estimators import get_estimator


def test_mase(estimator, df, data, windows: int) -> float:
    result = tsattn.backtest(estimator, df, n_windows=windows, season_length=data.season_length)
    return float(result.summary()["mase"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="stock,weather,traffic")
    parser.add_argument("--model", default="lstm")
    parser.add_argument("--trials", type=int, default=8)
    parser.add_argument("--test-windows", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.simplefilter("ignore")
    records = []
    for name in [d.strip() for d in args.datasets.split(",") if d.strip()]:
        data = load(name)
        df = data.df[["unique_id", "ds", "y"]]
        cut = args.test_windows * data.horizon
        # tune never sees the test windows: the last `cut` rows of every series
        seen = df[df.groupby("unique_id").cumcount(ascending=False) >= cut]
        cls = get_estimator(args.model)
        default = cls(horizon=data.horizon, random_state=0)
        start = time.perf_counter()
        with tempfile.TemporaryDirectory() as folder:
            result = tsattn.tune(
                cls(horizon=data.horizon, random_state=0),
                seen,
                n_trials=args.trials,
                storage=f"sqlite:///{folder}/study.db",
                verbose=0,
                refit=False,
            )
        seconds = time.perf_counter() - start
        pruned = int((result.trials_["state"] == "PRUNED").sum())
        best = cls(**{**default.get_params(), **result.best_params_})
        record = {
            "dataset": name,
            "model": args.model,
            "trials": len(result.trials_),
            "pruned": pruned,
            "tuning_seconds": seconds,
            "best_params": {k: str(v) for k, v in result.best_params_.items()},
            # tune's first trial is the defaults (when the space holds them): did it stay best?
            "best_is_default": bool(result.study.best_trial.user_attrs.get("defaults")),
            "tuned_test_mase": test_mase(best, df, data, args.test_windows),
            "default_test_mase": test_mase(default, df, data, args.test_windows),
            "seasonal_naive_test_mase": test_mase(
                tsattn.SeasonalNaiveForecaster(data.horizon, season_length=data.season_length),
                df,
                data,
                args.test_windows,
            ),
        }
        records.append(record)
        print(
            f"{name:<8} {args.model}: {record['trials']} trials ({pruned} pruned) in "
            f"{seconds:.0f} s, best is the default: {record['best_is_default']}; test MASE tuned {record['tuned_test_mase']:.3f}, default "
            f"{record['default_test_mase']:.3f}, seasonal naive "
            f"{record['seasonal_naive_test_mase']:.3f}",
            flush=True,
        )
        if args.json:
            with open(args.json, "w") as f:
                json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
