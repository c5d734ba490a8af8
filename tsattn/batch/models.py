"""The job's model: resolved from a folder or MLflow, refit by policy, and runs logged to MLflow."""

from __future__ import annotations

import json
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pandas as pd

from tsattn.batch.config import ConfigError, JobConfig
from tsattn.batch.sources import Source

__all__ = ["ModelNotFound", "log_run", "resolve_model"]


class ModelNotFound(LookupError):
    """The model URI or folder does not resolve (exit code 4)."""

    exit_code = 4


def resolve_model(
    cfg: JobConfig, source: Source, as_of: pd.Timestamp, ids: list[str]
) -> tuple[Any, dict[str, Any]]:
    """The fitted forecaster and what identifies it (uri, class, version or fit time)."""
    if not cfg.model_is_folder:
        return _from_mlflow(cfg)
    folder = Path(cfg.model_uri)
    refit = _needs_refit(cfg, folder)
    if refit:
        _refit(cfg, folder, source, as_of, ids)
    if not (folder / "config.json").is_file():
        raise ModelNotFound(
            f"model folder {folder} holds no saved model (config.json); create it with "
            "`tsattn fit ... --out FOLDER`, or set model.estimator (and model.refit) so the job "
            "fits one."
        )
    from tsattn.estimators import load

    try:
        est = load(folder)
    except (ValueError, FileNotFoundError) as err:
        raise ModelNotFound(f"model folder {folder}: {err}") from err
    saved = time.strftime(
        "%Y-%m-%dT%H:%M:%S", time.gmtime((folder / "config.json").stat().st_mtime)
    )
    info = {"uri": str(folder), "class": type(est).__name__, "saved": saved, "refit": refit}
    return est, info


def _from_mlflow(cfg: JobConfig) -> tuple[Any, dict[str, Any]]:
    from tsattn.tracking import Tracker, load_model

    if cfg.refit.policy != "never":
        raise ConfigError(
            f"{cfg.file}: model.refit = {cfg.refit.policy!r} needs a model folder; a registered "
            "model is refit and promoted outside the job (tsattn fit --register, tsattn promote)."
        )
    tracker = Tracker(cfg.tracking_uri)
    try:
        est = load_model(cfg.model_uri, tracking=tracker)
    except (ValueError, ConnectionError) as err:
        raise ModelNotFound(f"model {cfg.model_uri}: {err}") from err
    info = {"uri": cfg.model_uri, "class": type(est).__name__}
    if cfg.model_uri.startswith("models:/"):
        name, _, ref = cfg.model_uri.removeprefix("models:/").replace("@", "/").partition("/")
        from tsattn.tracking.flavor import model_version

        version = model_version(tracker.connect(), tracker.uri, name, ref)
        info.update(name=name, version=str(version.version))
    return est, info


def _needs_refit(cfg: JobConfig, folder: Path) -> bool:
    saved = folder / "config.json"
    if not saved.is_file():
        return cfg.estimator is not None  # the first run fits the model
    policy = cfg.refit
    if policy.policy == "older_than":
        return time.time() - saved.stat().st_mtime > policy.older_than_s
    if policy.policy == "every":
        return _runs_since_refit(cfg.run_log) + 1 >= policy.every  # this run is the N-th
    return False


def _runs_since_refit(run_log: Path) -> int:
    """Successful runs in the run log since the last one that refit the model."""
    if not run_log.is_file():
        return 0
    count = 0
    for line in run_log.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash
        if record.get("status") != "success":
            continue
        count = 0 if record.get("model", {}).get("refit") else count + 1
    return count


def _refit(cfg: JobConfig, folder: Path, source: Source, as_of: pd.Timestamp, ids: list) -> None:
    """Fit ``model.estimator`` with ``model.params`` on all rows up to ``as_of``; replace the
    folder atomically (a new folder renamed into place)."""
    from tsattn.estimators import get_estimator

    if cfg.estimator is None:
        raise ConfigError(f"{cfg.file}: model.refit needs model.estimator (e.g. 'lstm').")
    try:
        est = get_estimator(cfg.estimator)(**cfg.params)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"{cfg.file}: model.estimator / model.params: {err}") from err
    history = source.chunk(ids, as_of, None)
    est.fit(
        history,
        id_col=cfg.id_col,
        time_col=cfg.time_col,
        target_col=cfg.target_col,
        freq=cfg.input.get("freq"),
    )
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".tmp-{folder.name}-{uuid.uuid4().hex[:8]}"
    est.save(tmp)
    old = folder.parent / f".old-{folder.name}-{uuid.uuid4().hex[:8]}"
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def log_run(cfg: JobConfig, record: Any) -> None:
    """The run as an MLflow run (``[tracking]`` uri, experiment): params, counts, durations,
    and the record as ``run.json``."""
    from tsattn.tracking import Tracker

    spec = cfg.tracking or {}
    tracker = Tracker(spec.get("uri"), experiment=spec.get("experiment", "batch"), on_error="warn")
    with tracker.start(f"batch {cfg.name}", tags={"tsattn.kind": "batch"}) as run:
        if run is None:
            return
        run.params({"job": cfg.name, "as_of": record.as_of, "model": record.model.get("uri")})
        counts = ("rows_in", "rows_after_as_of", "rows_out", "series_in", "series_forecast")
        run.metrics({k: getattr(record, k) for k in (*counts, "series_skipped", "exit_code")})
        run.metrics({f"seconds_{k}": v for k, v in record.seconds.items()})
        run.tags({"status": record.status, "model.version": record.model.get("version", "")})
        run.text(record.to_json(), "run.json")
