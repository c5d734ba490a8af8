"""MLflow runs for ``fit``, ``backtest`` and ``tune``: what they log, and the :class:`Tracker`.

A run is written through an explicit ``MlflowClient`` for the tracker's store, never through
MLflow's module-level active run, so tracking neither needs nor disturbs a user's own
``mlflow.start_run()`` (a run started inside one is nested under it when both use the same
store). Logging only reads the fitted forecaster: results are the same with or without it.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import math
import os
import platform
import warnings
from collections.abc import Iterator, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tsattn.data.panel import Panel
from tsattn.plotting import plot_attention, plot_forecast, pyplot
from tsattn.tracking.store import check_reachable, ensure_experiment, redact, resolve_uri

__all__ = [
    "RunLog",
    "Tracker",
    "as_tracker",
    "content_hash",
    "log_backtest",
    "ready_tracker",
    "tracked_fit",
]

#: Packages whose versions every run records as ``version.<name>`` tags.
VERSIONED = ("tsattn", "torch", "numpy", "pandas", "scikit-learn", "statsmodels", "mlflow")
#: Estimator parameters that are not settings (callables) and are not logged.
UNLOGGED = {"callbacks"}


class Tracker:
    """Where and how ``fit(tracking=...)``, ``backtest`` and ``tune`` log to MLflow.

    Parameters
    ----------
    uri : str or path, optional
        Tracking URI (``http://host:5000``, ``postgresql://...``, ``sqlite:///file.db``) or a
        folder for a local SQLite store (created on first use); default ``MLFLOW_TRACKING_URI``, else the checkout's
        ``mlflow/`` folder, else ``./mlruns`` (:func:`tsattn.tracking.store.default_uri`).
    experiment : str, optional
        Experiment name, created when missing; default ``MLFLOW_EXPERIMENT_NAME`` or
        ``"tsattn"``.
    run_name : str, optional
        Name of the run; default e.g. ``"fit LSTMForecaster"``.
    tags : dict, optional
        Extra tags on every run.
    dataset_name : str, optional
        Name of the data in the run's dataset input; default ``df.attrs["name"]`` or ``"data"``.
    on_error : {'raise', 'warn'}
        An unreachable store raises ``ConnectionError`` naming the URI before any work
        (``'raise'``), or warns and the work goes on untracked (``'warn'``; also for errors
        while logging).
    timeout : float
        Seconds the reachability check waits for a server or database.
    plots : bool
        Log the forecast plot (and attention plot) of a fit and a backtest as artifacts.
    """

    def __init__(
        self,
        uri: str | os.PathLike | None = None,
        *,
        experiment: str | None = None,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        dataset_name: str | None = None,
        on_error: str = "raise",
        timeout: float = 5.0,
        plots: bool = True,
    ) -> None:
        if on_error not in ("raise", "warn"):
            raise ValueError(f"on_error={on_error!r} is invalid; expected 'raise' or 'warn'.")
        self.uri = resolve_uri(uri)
        is_folder = uri is not None and "://" not in os.fspath(uri)
        self._folder = Path(uri).resolve() if is_folder else None  # made on first use
        self.experiment = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or "tsattn"
        self.run_name = run_name
        self.tags = dict(tags or {})
        self.dataset_name = dataset_name
        self.on_error = on_error
        self.timeout = timeout
        self.plots = plots
        self._client: Any = None
        self._experiment_id: str | None = None

    def __repr__(self) -> str:
        return f"Tracker({redact(self.uri)!r}, experiment={self.experiment!r})"

    def connect(self) -> Any:
        """The ``MlflowClient`` of this store (checked reachable and the experiment made once)."""
        if self._client is None:
            if self._folder is not None:
                self._folder.mkdir(parents=True, exist_ok=True)
            check_reachable(self.uri, self.timeout)
            from mlflow import MlflowClient

            client = MlflowClient(tracking_uri=self.uri, registry_uri=self.uri)
            self._experiment_id = ensure_experiment(client, self.uri, self.experiment)
            self._client = client
        return self._client

    @property
    def experiment_id(self) -> str:
        self.connect()
        assert self._experiment_id is not None
        return self._experiment_id

    @contextlib.contextmanager
    def start(
        self,
        name: str,
        *,
        parent_run_id: str | None = None,
        tags: Mapping[str, Any] | None = None,
        run_id: str | None = None,
    ) -> Iterator[RunLog | None]:
        """A run for the block: FINISHED after it, FAILED if it raises (and re-raises).

        Yields None (after a warning) when the store is unreachable and ``on_error='warn'``.
        ``run_id`` continues an existing run; ``parent_run_id`` nests the new run under one
        (default: the caller's active MLflow run, when it lives in the same store).
        """
        try:
            client = self.connect()
            if run_id is None:
                parent_run_id = parent_run_id or _active_run_in(self.uri)
                all_tags = {**self.tags, **(tags or {}), **_version_tags()}
                if parent_run_id:
                    all_tags["mlflow.parentRunId"] = parent_run_id
                run_id = client.create_run(
                    self.experiment_id, run_name=self.run_name or name, tags=all_tags
                ).info.run_id
        except Exception as err:
            if self.on_error == "raise":
                raise
            warnings.warn(f"not tracking: {err}", UserWarning, stacklevel=4)
            yield None
            return
        run = RunLog(client, run_id, self.on_error)
        try:
            yield run
        except BaseException as err:
            run.end("KILLED" if isinstance(err, KeyboardInterrupt) else "FAILED")
            raise
        run.end("FINISHED")


class RunLog:
    """One MLflow run and the ways tsattn writes to it (params, metrics, tables, figures)."""

    def __init__(self, client: Any, run_id: str, on_error: str = "raise") -> None:
        self.client, self.run_id, self.on_error = client, run_id, on_error
        self._failed = False

    def _do(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> None:
        if self._failed:
            return
        try:
            fn(*args, **kwargs)
        except Exception as err:
            if self.on_error == "raise":
                raise
            self._failed = True
            warnings.warn(f"tracking stopped logging ({what}): {err}", UserWarning, stacklevel=3)

    def params(self, params: Mapping[str, Any]) -> None:
        from mlflow.entities import Param

        items = [Param(k, _param_text(v)) for k, v in params.items()]
        for i in range(0, len(items), 100):  # MLflow takes at most 100 params per batch
            self._do("params", self.client.log_batch, self.run_id, params=items[i : i + 100])

    def metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        from mlflow.entities import Metric
        from mlflow.utils.time import get_current_time_millis

        now = get_current_time_millis()
        items = [
            Metric(k, float(v), now, step or 0)
            for k, v in metrics.items()
            if isinstance(v, int | float | np.number) and math.isfinite(float(v))
        ]
        if items:
            self._do("metrics", self.client.log_batch, self.run_id, metrics=items)

    def tags(self, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(k, str(v)) for k, v in tags.items()]
        self._do("tags", self.client.log_batch, self.run_id, tags=items)

    def text(self, text: str, file: str) -> None:
        self._do(file, self.client.log_text, self.run_id, text, file)

    def table(self, frame: pd.DataFrame, file: str) -> None:
        self.text(frame.to_csv(index=False), file)

    def figure(self, figure: Any, file: str) -> None:
        self._do(file, self.client.log_figure, self.run_id, figure, file)
        pyplot().close(figure)

    def folder(self, folder: str | Path, artifact_path: str | None = None) -> None:
        self._do(str(folder), self.client.log_artifacts, self.run_id, str(folder), artifact_path)

    def dataset(self, panel: Panel, name: str, context: str) -> None:
        """The data as an MLflow dataset input: name, content hash, rows, series, columns."""
        from mlflow.entities import Dataset, DatasetInput, InputTag

        digest = content_hash(panel)
        profile = {"rows": panel.n_rows, "series": panel.n_series, "freq": str(panel.freq)}
        columns = [panel.id_col, panel.time_col, panel.target_col, *panel.covariates]
        entity = Dataset(
            name=name,
            digest=digest[:32],
            source_type="code",
            source=json.dumps({"tsattn": "in-memory frame", "columns": columns}),
            profile=json.dumps(profile),
        )
        tag = InputTag("mlflow.data.context", context)
        self._do("dataset", self.client.log_inputs, self.run_id, [DatasetInput(entity, [tag])])
        self.params({"data.name": name, "data.sha256": digest, **_prefixed("data", profile)})

    def epoch_callback(self, epoch: int, metrics: dict[str, float]) -> None:
        """``callback(epoch, metrics)`` for a forecaster's ``callbacks``: step metrics per epoch."""
        self.metrics(metrics, step=epoch)

    def end(self, status: str, end_time: int | None = None) -> None:
        """Mark the run ``status`` (FINISHED, FAILED, KILLED) at ``end_time`` ms (default now)."""
        self._do("end", self.client.set_terminated, self.run_id, status, end_time)


def as_tracker(tracking: bool | str | os.PathLike | Tracker | None) -> Tracker | None:
    """``tracking`` of ``fit`` / ``backtest`` / ``tune`` as a :class:`Tracker` (None: off)."""
    if tracking is None or tracking is False:
        return None
    if tracking is True:
        return Tracker()
    if isinstance(tracking, Tracker):
        return tracking
    if isinstance(tracking, str | os.PathLike):
        return Tracker(tracking)
    raise TypeError(
        f"tracking={tracking!r} is invalid; expected True, a tracking URI or a "
        "tsattn.tracking.Tracker."
    )


def ready_tracker(tracking: bool | str | os.PathLike | Tracker | None) -> Tracker | None:
    """``tracking`` as a connected :class:`Tracker`, checked before any work: an unreachable
    store raises (``on_error='raise'``) or warns and gives None (``'warn'``)."""
    tracker = as_tracker(tracking)
    if tracker is None:
        return None
    try:
        tracker.connect()
    except Exception as err:
        if tracker.on_error == "raise":
            raise
        warnings.warn(f"not tracking: {err}", UserWarning, stacklevel=3)
        return None
    return tracker


def content_hash(panel: Panel) -> str:
    """SHA-256 of the validated data's ids, timestamps, target and covariates."""
    import hashlib

    rows = pd.util.hash_pandas_object(panel.to_pandas(), index=False).to_numpy()
    return hashlib.sha256(rows.tobytes()).hexdigest()


def estimator_params(est: Any) -> dict[str, Any]:
    """The estimator's settings as loggable params, with its class name."""
    params = {k: v for k, v in est.get_params().items() if k not in UNLOGGED}
    return {"estimator": type(est).__name__, **params}


@contextlib.contextmanager
def tracked_fit(
    est: Any, panel: Panel, tracking: Any, data_name: str | None = None
) -> Iterator[None]:
    """Track the ``fit`` inside the block: params and data first, losses per epoch during it,
    the outcome after (see :func:`log_fitted`). Does nothing when ``tracking`` is off."""
    tracker = as_tracker(tracking)
    if tracker is None:
        yield
        return
    name = f"fit {type(est).__name__}"
    with tracker.start(name, tags={"tsattn.kind": "fit"}) as run:
        if run is None:
            yield
            return
        run.params(estimator_params(est))
        run.dataset(panel, tracker.dataset_name or data_name or "data", "training")
        with _epoch_logging(est, run):
            yield
        log_fitted(run, est, plots=tracker.plots)


@contextlib.contextmanager
def _epoch_logging(est: Any, run: RunLog) -> Iterator[None]:
    """Add the run's epoch callback to a neural forecaster's ``callbacks`` for the block."""
    if "callbacks" not in est.get_params():
        yield
        return
    own = est.callbacks
    est.set_params(callbacks=[*(own or ()), run.epoch_callback])
    try:
        yield
    finally:
        est.set_params(callbacks=own)


def log_fitted(run: RunLog, est: Any, *, plots: bool = True) -> None:
    """What a finished fit logs: training outcome, device and precision, the validation report
    and, with ``plots``, the forecast from the end of the data and the attention map."""
    history = getattr(est, "training_history_", None)
    if history is not None:
        run.metrics(
            {
                "best_val_loss": history.best_val_loss,
                "best_epoch": history.best_epoch,
                "epochs": len(history.epochs),
                "steps": history.steps,
                "train_seconds": history.train_seconds,
                "windows_per_second": history.windows_per_second,
            }
        )
        run.tags(
            {
                "device": history.device,
                "precision": history.precision,
                "stop_reason": history.stop_reason,
                "monitor": history.monitor,
            }
        )
    refit = getattr(est, "refit_history_", None)
    for epoch, metrics in enumerate(refit.epochs if refit is not None else []):
        run.metrics({f"refit_{k}": v for k, v in metrics.items()}, step=epoch)
    report = est.validation_report_
    run.text(str(report), "validation_report.txt")
    run.table(report.counts.rename_axis(est.columns_.id).reset_index(), "validation_report.csv")
    if plots:
        _log_plots(run, est)


def _log_plots(run: RunLog, est: Any) -> None:
    roles = est.columns_
    try:
        forecast = est.predict()
    except ValueError as err:  # e.g. future covariates: no forecast without X_future
        run.text(f"no forecast plot: {err}\n", "forecast_plot_skipped.txt")
        return
    history = est.history_.to_pandas()
    run.figure(
        plot_forecast(
            history,
            forecast,
            id_col=roles.id,
            time_col=roles.time,
            target_col=roles.target,
            last_n=4 * est.horizon,
        ),
        "forecast.png",
    )
    if hasattr(est, "predict_attention"):
        try:
            weights = est.predict_attention()
        except ValueError:  # a network without attention
            return
        params = _network_settings(est)
        per_step = weights.shape[-1] == est.lookback  # then read by lag before each step
        segment = None if per_step else params.get("segment_length")
        stride = params.get("stride") if segment else None
        figure = plot_attention(
            weights,
            lookback=est.lookback,
            segment_length=segment,
            stride=stride,
            align="lag" if per_step else "time",
        )
        run.figure(figure, "attention.png")


def _network_settings(est: Any) -> dict[str, Any]:
    """The network's constructor arguments: its defaults, then those the forecaster set."""
    model = getattr(est, "model_", None)
    if model is None:
        return {}
    defaults = {
        k: p.default
        for k, p in inspect.signature(type(model)).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    return {**defaults, **getattr(est, "network_params_", {})}


def log_backtest(
    tracking: Any,
    est: Any,
    panel: Panel,
    result: Any,
    settings: Mapping[str, Any],
    data_name: str | None = None,
) -> None:
    """A run for a finished backtest: settings, data, mean metrics, the per-window metrics
    table and a plot of the last window's forecasts."""
    tracker = as_tracker(tracking)
    if tracker is None:
        return
    name = f"backtest {type(est).__name__}"
    with tracker.start(name, tags={"tsattn.kind": "backtest"}) as run:
        if run is None:
            return
        run.params({**estimator_params(est), **_prefixed("backtest", settings)})
        run.dataset(panel, tracker.dataset_name or data_name or "data", "evaluation")
        run.metrics(result.summary().to_dict())
        run.table(result.metrics, "backtest_metrics.csv")
        if tracker.plots:
            last = result.forecasts[result.forecasts["window"] == result.forecasts["window"].max()]
            roles = (panel.id_col, panel.time_col, panel.target_col)
            run.figure(
                plot_forecast(
                    panel.to_pandas(),
                    last,
                    id_col=roles[0],
                    time_col=roles[1],
                    target_col=roles[2],
                    last_n=4 * int(settings.get("horizon", 24)),
                ),
                "backtest_last_window.png",
            )


def _param_text(value: Any) -> str:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, default=str)[:6000]
    return str(value)[:6000]


def _prefixed(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return {f"{prefix}.{k}": v for k, v in values.items()}


def _version_tags() -> dict[str, str]:
    tags = {"version.python": platform.python_version()}
    for name in VERSIONED:
        with contextlib.suppress(metadata.PackageNotFoundError):
            tags[f"version.{name}"] = metadata.version(name)
    return tags


def _active_run_in(uri: str) -> str | None:
    """The id of the caller's active MLflow run when it lives in the store at ``uri``."""
    import mlflow

    run = mlflow.active_run()
    if run is None or mlflow.get_tracking_uri() != uri:
        return None
    return run.info.run_id
