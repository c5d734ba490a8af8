"""Real domain data, one protocol for every model: the issue-13 traffic protocol.

    python benchmarks/domain.py [--datasets trondheim_traffic:Elgeseter,traffic]
        [--models lstm,attention_lstm,transformer,linear,seasonal_naive] [--max-epochs N]
        [--seed 0] [--threads 1] [--data-dir DIR] [--on test|validation] [--lookback 168]
        [--model-options '{"segment_length": 12}'] [--params '{"loss": "mae"}']

Per series (a dataset name, or ``name:series_id`` for one series of it), hourly, L=168 (or
``--lookback``: the split and the test origins do not move with it), H=24:

- train = the first 70 % of the rows, validation = the next 10 %, test = the rest; the test
  part starts at the first row after 80 % from which forecast origins every 24 hours end
  exactly on the last row;
- networks: ``fit`` on train + validation with ``val_size`` = the validation share (early
  stopping on the validation rows, best weights, no refit), scaler fitted on the train rows
  (the estimators' ``scaler="standard"``), every other setting at its default (``max_epochs``:
  the network's own budget unless ``--max-epochs`` is given); then one
  forecast from every origin (``backtest(refit=None)``, no refit, the history up to the
  origin as input);
- MASE = test MAE / in-sample MAE of the 24-hour seasonal naive over the rows before the
  test part; mean over series.

``--on validation`` runs the same protocol on the rows before each series' test part (so its
"test" is rows 64-80 %): that is where defaults are chosen; the test rows are read only for
the reported figures.

Training is limited by epochs and seeded, so the MASE figures do not depend on the machine;
the fit seconds do (1 torch thread by default, as the issue's reference measurements).
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
import torch

import tsattn
from tsattn.datasets import load
from tsattn.estimators import ESTIMATORS

LOOKBACK, HORIZON, SEASON = 168, 24, 24


def split_rows(n: int) -> tuple[int, int, int]:
    """Rows of train, validation, and the first test row (origins every HORIZON to the end)."""
    n_train = int(0.7 * n)
    n_windows = (n - HORIZON - int(np.ceil(0.8 * n))) // HORIZON + 1
    first_test = n - HORIZON * n_windows
    return n_train, first_test - n_train, first_test


def series_of(spec: str, data_dir: str | None) -> pd.DataFrame:
    name, _, series = spec.partition(":")
    df = load(name, data_dir=data_dir).df[["unique_id", "ds", "y"]]
    return df[df["unique_id"] == series] if series else df


def evaluate(model: str, df: pd.DataFrame, args: argparse.Namespace) -> tuple[float, float]:
    """Mean MASE over the series of ``df`` and the total fit seconds."""
    mases, seconds = [], 0.0
    for _, one in df.groupby("unique_id", sort=False):
        if args.on == "validation":  # never the test rows: the protocol on the rows before them
            one = one.iloc[: split_rows(len(one))[2]]
        n_train, n_val, first_test = split_rows(len(one))
        if model == "seasonal_naive":
            est = ESTIMATORS[model](HORIZON, season_length=SEASON)
        else:
            est = ESTIMATORS[model](
                horizon=HORIZON,
                lookback=args.lookback,
                val_size=n_val / (n_train + n_val),
                refit_with_val=False,
                max_epochs=args.max_epochs,
                random_state=args.seed,
                verbose=0,
                model_options=args.model_options,
                **(args.params or {}),
            )
        start = time.perf_counter()
        est.fit(one.iloc[:first_test])
        seconds += time.perf_counter() - start
        n_windows = (len(one) - first_test) // HORIZON
        forecasts = tsattn.backtest(
            est, one, n_windows=n_windows, step=HORIZON, refit=None
        ).forecasts
        assert forecasts["cutoff"].min() == one["ds"].iloc[first_test - 1]
        y = one["y"].to_numpy()[:first_test]
        scale = np.abs(y[SEASON:] - y[:-SEASON]).mean()
        mases.append(np.abs(forecasts["y"] - forecasts["y_pred"]).mean() / scale)
    return float(np.mean(mases)), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default="trondheim_traffic:Elgeseter")
    parser.add_argument("--models", default="lstm,attention_lstm,transformer,linear,seasonal_naive")
    parser.add_argument("--max-epochs", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--on", choices=["test", "validation"], default="test")
    parser.add_argument("--lookback", type=int, default=LOOKBACK)
    parser.add_argument("--model-options", type=json.loads, default=None)
    parser.add_argument("--params", type=json.loads, default=None, help="estimator arguments")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    print(f"L={args.lookback} H={HORIZON} on {args.on}")
    print(f"{'data':<30} {'model':<16} {'MASE':>7} {'fit s':>7}")
    for spec in args.datasets.split(","):
        df = series_of(spec, args.data_dir)
        for model in args.models.split(","):
            mase, seconds = evaluate(model, df, args)
            print(f"{spec:<30} {model:<16} {mase:7.3f} {seconds:7.1f}", flush=True)


if __name__ == "__main__":
    main()
