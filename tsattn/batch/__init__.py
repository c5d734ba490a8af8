"""Scheduled batch forecast jobs: ``tsattn batch run pipelines/JOB.toml [--as-of T]``.

A job reads a table of series (CSV/Parquet files, a built-in dataset or a SQL query), ignores
rows after the as-of time, forecasts in chunks of series with a saved or registered model,
writes the forecasts atomically (Parquet partition per as-of, CSV file per as-of, or one
database transaction) and records the run (JSON lines, and MLflow if configured). See
``pipelines/README.md``.
"""

from __future__ import annotations

from tsattn.batch.config import ConfigError, JobConfig, load_config
from tsattn.batch.job import EXIT_CODES, RunRecord, run_job
from tsattn.batch.models import ModelNotFound
from tsattn.batch.sinks import WriteError
from tsattn.batch.sources import DataError

__all__ = [
    "EXIT_CODES",
    "ConfigError",
    "DataError",
    "JobConfig",
    "ModelNotFound",
    "RunRecord",
    "WriteError",
    "load_config",
    "run_job",
]
