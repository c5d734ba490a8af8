"""Does the attention LSTM's attention do work? The network against its own ablations.

    python benchmarks/attention_ablation.py [--datasets traffic,trondheim_traffic,weather,ETTh1,stock]
        [--variants step,uniform,none,segment] [--seeds 0,1,2] [--epochs 10] [--data-dir DIR]
        [--model attention_lstm | transformer]

Variants of ``AttentionLSTMForecaster`` (``model_options``), everything else at its defaults
apart from the lookback and an epoch budget, same seeds (for ``--model transformer``:
``step``, its lag attention on top, the default; ``uniform``; and ``none``, the Transformer
with its patch cross-attention only, as before):

- ``step``: the default, per-step attention with the lag bias and the copy;
- ``uniform``: the same network with the weights replaced by ``1 / L`` (what attention adds
  over an average of the lookback);
- ``none``: no attention (a plain LSTM encoder-decoder);
- ``segment``: the earlier, per-segment attention (one row per horizon segment over the
  encoder's segment states).

Protocol as the demo's (``tsattn demo``): fit once on every series without its last
``n_windows * horizon`` rows, forecast every ``horizon`` steps over those rows
(``backtest(refit=None)``), MASE against the in-sample seasonal naive. For every variant with
attention, over the forecasts of the backtest's first origin: the entropy of the weights
relative to the uniform one's (1 = uniform) and the mass at the seasonal lags (±1 step, by lag
before each forecast step, normalised over the ``L + H - 1`` lags; uniform weights give
``3 / (L + H - 1)`` each). Training is limited by epochs,
so the MASE figures do not depend on the machine; seconds do.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
import torch

import tsattn
from tsattn.datasets import load
from tsattn.plotting import attention_by_lag

#: Per dataset: lookback, backtest windows, most recent rows per series used (None: all),
#: and the lags whose attention mass is reported.
SETTINGS = {
    "traffic": {"lookback": 168, "n_windows": 14, "history": 24 * 365, "lags": (24, 168)},
    "trondheim_traffic": {"lookback": 168, "n_windows": 14, "history": 24 * 91, "lags": (24, 168)},
    "weather": {"lookback": 60, "n_windows": 20, "history": None, "lags": (7, 28)},
    "ETTh1": {"lookback": 168, "n_windows": 14, "history": 24 * 182, "lags": (24, 168)},
    "stock": {"lookback": 60, "n_windows": 20, "history": 1500, "lags": (5, 20)},
    # Jena, 10-minute steps, 21 channels: two days of lookback, the last four weeks
    "weather_jena": {"lookback": 288, "n_windows": 7, "history": 144 * 28, "lags": (144, 288)},
}
VARIANTS = {
    "step": {},
    "uniform": {"attention": "uniform"},
    "none": {"attention": "none"},
    "segment": {"resolution": "segment"},
}
MODELS = {
    "attention_lstm": tsattn.AttentionLSTMForecaster,
    "transformer": tsattn.TransformerForecaster,
}


def run(name: str, variant: str, seed: int, epochs: int, data_dir: str | None, model: str) -> dict:
    settings = SETTINGS[name]
    data = load(name, data_dir=data_dir)
    df = data.df[["unique_id", "ds", "y"]]
    if settings["history"]:
        df = df.groupby("unique_id", sort=False).tail(settings["history"])
    held_out = settings["n_windows"] * data.horizon
    groups = df.groupby("unique_id", sort=False)
    train = df[groups.cumcount() < groups["y"].transform("size") - held_out]
    est = MODELS[model](
        horizon=data.horizon,
        lookback=settings["lookback"],
        max_epochs=epochs,
        random_state=seed,
        verbose=0,
        model_options=VARIANTS[variant],
    )
    start = time.perf_counter()
    est.fit(train)
    seconds = time.perf_counter() - start
    result = tsattn.backtest(
        est, df, n_windows=settings["n_windows"], refit=None, season_length=data.season_length
    )
    row = {"dataset": name, "variant": variant, "seed": seed, "fit_s": seconds}
    row["mase"] = float(result.summary()["mase"])
    if variant != "none" or model == "transformer":  # its "none" keeps the patch attention
        weights = est.predict_attention(train)  # (S, H, P)
        p = weights.shape[-1]
        entropy = -(weights * np.log(np.clip(weights, 1e-12, None))).sum(-1)  # (S, H)
        row["entropy"] = float(entropy.mean() / np.log(p))
        if p == settings["lookback"]:  # per-step weights: mass by lag before each step
            by_lag = np.nanmean(attention_by_lag(weights), axis=(0, 1))  # (L + H - 1,)
            by_lag = np.nan_to_num(by_lag) / np.nansum(by_lag)
            for lag in settings["lags"]:
                row[f"lag{lag}"] = float(by_lag[max(lag - 2, 0) : lag + 1].sum())
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="attention_lstm")
    parser.add_argument("--datasets", default=",".join(SETTINGS))
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--csv", default=None, help="also write every run's row here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore")
    rows = []
    for name in args.datasets.split(","):
        for variant in args.variants.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                row = run(name, variant, seed, args.epochs, args.data_dir, args.model)
                rows.append(row)
                extra = " ".join(
                    f"{k} {v:.3f}" for k, v in row.items() if k.startswith(("entropy", "lag"))
                )
                print(
                    f"{name:<18} {variant:<8} seed {seed}  MASE {row['mase']:.3f}  "
                    f"fit {row['fit_s']:5.1f}s  {extra}",
                    flush=True,
                )
    table = pd.DataFrame(rows)
    if args.csv:
        table.to_csv(args.csv, index=False)
    stats = table.drop(columns="seed").groupby(["dataset", "variant"], sort=False)
    summary = stats.mean().join(stats["mase"].std().rename("mase_sd"))
    print("\nmean over seeds (mase_sd: standard deviation over seeds)")
    print(summary.to_string(float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
