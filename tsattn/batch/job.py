"""Running a batch forecast job: read, validate, forecast in chunks, write atomically, record.

:func:`run_job` is what ``tsattn batch run CONFIG [--as-of T]`` calls. Data after the as-of
time is ignored, so re-running a past as-of reproduces its forecast, and re-running the same
as-of replaces its own output (other as-of values stay). A series that cannot be forecast is
skipped with its reason; the job fails (exit 3, nothing written) only when the skipped share
exceeds ``job.max_skipped``. Every run, failed or not, appends one JSON line to the run log
(and, with a ``[tracking]`` section, logs an MLflow run).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tsattn.batch.chunks import forecast_chunk
from tsattn.batch.config import ENGINES, EXIT_CODES, ConfigError, JobConfig, load_config, one_line
from tsattn.batch.models import ModelNotFound, resolve_model
from tsattn.batch.sinks import WriteError, open_sink
from tsattn.batch.sources import DataError, Source

__all__ = ["EXIT_CODES", "RunRecord", "run_job"]

#: Skipped series listed by id in the run record (the count is always complete).
LISTED = 100


@dataclass
class RunRecord:
    """What one run did: the line appended to the run log."""

    job: str
    as_of: str = ""
    status: str = "failed"
    exit_code: int = 1
    error: str = ""
    started: str = ""
    finished: str = ""
    model: dict[str, Any] = field(default_factory=dict)
    rows_in: int = 0
    rows_after_as_of: int = 0
    series_in: int = 0
    series_forecast: int = 0
    series_skipped: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    series_stale: int = 0
    rows_out: int = 0
    output: str = ""
    backtest: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, sort_keys=False)


def run_job(
    config: JobConfig | str | Path,
    *,
    as_of: str | pd.Timestamp | None = None,
    quiet: bool | None = None,
    engine: str | None = None,
) -> RunRecord:
    """Run the job; returns its record, or raises (with ``exit_code``) after recording it.

    Parameters
    ----------
    config : JobConfig or path
        The job (see :func:`tsattn.batch.config.load_config`).
    as_of : str or Timestamp, optional
        Forecast origin: rows after it are ignored. Default: the input's last timestamp.
    quiet : bool, optional
        No progress bar; default: quiet unless stderr is a terminal.
    engine : {'local', 'spark'}, optional
        Where the forecasting step runs; default: the config's ``job.engine``.
    """
    cfg = config if isinstance(config, JobConfig) else load_config(config)
    if engine is not None:
        if engine not in ENGINES:
            raise ConfigError(f"engine={engine!r} is invalid; expected one of {list(ENGINES)}.")
        cfg = replace(cfg, engine=engine)
    record = RunRecord(job=cfg.name, started=_now())
    clock = time.perf_counter()
    try:
        _run(cfg, record, as_of, sys.stderr.isatty() if quiet is None else not quiet)
        record.status, record.exit_code = "success", 0
    except (ConfigError, DataError, ModelNotFound, WriteError) as err:
        record.exit_code, record.error = err.exit_code, one_line(err)
        raise
    except Exception as err:
        record.error = f"{type(err).__name__}: {one_line(err)}"
        raise
    finally:
        record.seconds["total"] = round(time.perf_counter() - clock, 3)
        record.finished = _now()
        _record(cfg, record)
    return record


def _run(cfg: JobConfig, record: RunRecord, as_of: Any, progress: bool) -> None:
    step = _Steps(record)
    with step("read"):
        source = Source(cfg)
        origin = source.align(_as_of(as_of, source))
        record.as_of = origin.isoformat()
        summary = source.summary(origin)
        ids = summary["ids"]
        record.rows_in, record.rows_after_as_of = summary["rows"], summary["after"]
        record.series_in = len(ids)
        if not ids:
            raise DataError(f"no series has rows up to as-of {origin}.")
    with step("model"):
        est, record.model = resolve_model(cfg, source, origin, ids)
        _check_model(cfg, est)
    sink = open_sink(cfg, origin)
    record.output = sink.location
    try:
        with step("forecast"):
            _forecast_all(cfg, est, source, origin, ids, sink, record, progress)
        _check_skipped(cfg, record)
    except BaseException:
        sink.abort()
        raise
    with step("write"):
        sink.commit()


def _forecast_all(cfg, est, source, origin, ids, sink, record, progress) -> None:
    """Forecast ``ids`` chunk by chunk (locally, or all chunks at once on Spark), writing each
    chunk's forecasts to ``sink``."""
    from tqdm.auto import tqdm

    scores = []
    with tqdm(total=len(ids), unit="series", disable=not progress, desc=cfg.name) as bar:
        for forecasts, skipped, frame, n in _chunks(cfg, est, source, origin, ids, record):
            record.skipped.update(skipped)
            if len(forecasts):
                stale = (forecasts["cutoff"] < origin).groupby(forecasts[cfg.id_col]).any()
                record.series_stale += int(stale.sum())
                sink.write(_stamped(forecasts, origin, record.model.get("uri", "")))
                record.rows_out += len(forecasts)
                record.series_forecast += forecasts[cfg.id_col].nunique()
            if cfg.backtest_windows:
                scores.append(_backtest_chunk(est, frame, cfg, skipped))
            bar.update(n)
    record.series_skipped = len(record.skipped)
    record.skipped = dict(list(record.skipped.items())[:LISTED])
    if scores:
        record.backtest = _pooled(scores, cfg)


def _chunks(cfg, est, source, origin, ids, record):
    """``(forecasts, skipped, history, n_series)`` per chunk of ``cfg.chunk_size`` series."""
    keep = cfg.history_rows
    if cfg.engine == "spark":
        from tsattn.batch.spark import forecast_on_spark

        frame = source.chunk(ids, origin, keep)
        columns = ["y_pred", *[f"y_pred_q{q:g}" for q in cfg.quantiles]]
        with _saved(est, record) as folder:
            forecasts, skipped = forecast_on_spark(cfg, folder, frame, columns)
        for first in range(0, len(ids), cfg.chunk_size):
            chunk = set(ids[first : first + cfg.chunk_size])
            part = forecasts[forecasts[cfg.id_col].isin(chunk)].reset_index(drop=True)
            mine = {k: v for k, v in skipped.items() if k in chunk}
            yield part, mine, frame[frame[cfg.id_col].isin(chunk)], len(chunk)
        return
    for first in range(0, len(ids), cfg.chunk_size):
        chunk = ids[first : first + cfg.chunk_size]
        frame = source.chunk(chunk, origin, keep)
        forecasts, skipped = forecast_chunk(est, frame, cfg)
        yield forecasts, skipped, frame, len(chunk)


@contextlib.contextmanager
def _saved(est: Any, record: RunRecord) -> Iterator[str]:
    """A folder holding the saved model for Spark's workers: the job's own, or a temporary
    copy of a registered one."""
    uri = record.model.get("uri", "")
    if Path(uri).is_dir():
        yield uri
        return
    with tempfile.TemporaryDirectory(prefix="tsattn-batch-model-") as tmp:
        yield str(est.save(Path(tmp) / "model"))


def _backtest_chunk(est, frame, cfg, skipped) -> tuple[float, int]:
    """Mean backtest metric of the chunk's forecastable series, and how many were scored."""
    from tsattn.evaluation import backtest

    usable = frame[~frame[cfg.id_col].isin(skipped)]
    try:
        result = backtest(est, usable, n_windows=cfg.backtest_windows, refit=None)
    except (ValueError, TypeError):
        return float("nan"), 0
    per_series = result.metrics.groupby(cfg.id_col)[cfg.backtest_metric].mean()
    return float(per_series.mean()), int(per_series.notna().sum())


def _pooled(scores: list[tuple[float, int]], cfg: JobConfig) -> dict[str, Any]:
    scored = [(v, n) for v, n in scores if n]
    total = sum(n for _, n in scored)
    mean = sum(v * n for v, n in scored) / total if total else None
    return {"metric": cfg.backtest_metric, "windows": cfg.backtest_windows, "value": mean,
            "series": total}  # fmt: skip


def _stamped(forecasts: pd.DataFrame, origin: pd.Timestamp, model: str) -> pd.DataFrame:
    out = forecasts.copy()
    out["as_of"] = origin
    out["model"] = model
    return out


def _check_model(cfg: JobConfig, est: Any) -> None:
    if cfg.horizon is not None and cfg.horizon != est.horizon:
        raise ConfigError(
            f"{cfg.file}: forecast.horizon = {cfg.horizon} but the model forecasts "
            f"{est.horizon} steps; remove the key or use a model of that horizon."
        )
    if est.columns_.future:
        raise ConfigError(
            f"{cfg.file}: the model needs known-future covariates {est.columns_.future}, which "
            "batch jobs do not supply yet; use a model without future covariates."
        )


def _check_skipped(cfg: JobConfig, record: RunRecord) -> None:
    if record.series_forecast == 0:
        reasons = "; ".join(f"{k}: {v}" for k, v in list(record.skipped.items())[:3])
        raise DataError(
            f"no series could be forecast ({record.series_skipped} skipped: {reasons})."
        )
    share = record.series_skipped / max(record.series_in, 1)
    if share > cfg.max_skipped:
        raise DataError(
            f"{record.series_skipped} of {record.series_in} series ({share:.1%}) were skipped, "
            f"more than job.max_skipped = {cfg.max_skipped:.1%}; nothing was written (reasons in "
            f"the run log {cfg.run_log})."
        )


def _as_of(value: Any, source: Source) -> pd.Timestamp:
    if value is None:
        last = source.last_time()
        if last is None:
            raise DataError("the input has no rows.")
        return pd.Timestamp(last)
    if isinstance(value, pd.Timestamp):
        return value
    try:  # ISO 8601 only: a scheduler's "29/11/2026" must not be read as some other day
        return pd.Timestamp(datetime.fromisoformat(str(value)))
    except ValueError as err:
        raise ConfigError(
            f"--as-of {value!r} is not an ISO 8601 time, e.g. 2026-11-29T06:00."
        ) from err


class _Steps:
    """``with steps("read"):`` times a step into ``record.seconds``."""

    def __init__(self, record: RunRecord) -> None:
        self.record, self.name = record, ""

    def __call__(self, name: str) -> _Steps:
        self.name = name
        return self

    def __enter__(self) -> None:
        self.start = time.perf_counter()

    def __exit__(self, *exc: Any) -> None:
        self.record.seconds[self.name] = round(time.perf_counter() - self.start, 3)


def _record(cfg: JobConfig, record: RunRecord) -> None:
    """Append the record to the run log (fsynced) and, if configured, log it to MLflow."""
    cfg.run_log.parent.mkdir(parents=True, exist_ok=True)
    with open(cfg.run_log, "a") as log:
        log.write(record.to_json() + "\n")
        log.flush()
        os.fsync(log.fileno())
    if cfg.tracking:
        from tsattn.batch.models import log_run

        log_run(cfg, record)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
