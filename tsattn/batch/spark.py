"""The forecasting step on Apache Spark (``engine = "spark"``; ``pip install 'tsattn[spark]'``).

The history is split into buckets of ``chunk_size`` series and forecast with
``groupBy(bucket).applyInPandas``: each Python worker loads the saved model once and runs the
same :func:`tsattn.batch.job.forecast_chunk` as the local engine, so both give the same
forecasts. Skipped series come back as rows with their reason. The master is
``$SPARK_MASTER`` (default ``local[*]``), or whatever ``spark-submit`` set.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from tsattn.batch.config import JobConfig

__all__ = ["forecast_on_spark"]

REASON = "_skip_reason"


def session() -> Any:
    """The active Spark session, or a new one on ``$SPARK_MASTER`` with UTC timestamps."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise ImportError(
            "job.engine = 'spark' needs pyspark: pip install 'tsattn[spark]'."
        ) from err
    return (
        SparkSession.builder.master(os.environ.get("SPARK_MASTER", "local[*]"))
        .appName("tsattn batch")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )


@lru_cache(maxsize=4)
def _model(folder: str) -> Any:
    """The saved model, loaded once per Python worker."""
    from tsattn.estimators import load

    return load(Path(folder))


def forecast_on_spark(
    cfg: JobConfig, model_folder: str, frame: pd.DataFrame, columns: list[str]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Forecasts of every series in ``frame`` computed on Spark, and ``{id: reason}`` skipped.

    ``columns`` are the forecast columns the local engine gives (``y_pred``, quantiles).
    """
    from pyspark.sql import types as T

    from tsattn.batch.chunks import forecast_chunk

    spark = session()
    id_col, time_col = cfg.id_col, cfg.time_col
    order = {uid: k // cfg.chunk_size for k, uid in enumerate(frame[id_col].unique())}
    data = frame[[id_col, time_col, cfg.target_col]].assign(_bucket=frame[id_col].map(order))
    fields = [
        T.StructField(id_col, T.StringType()),
        T.StructField(time_col, T.TimestampNTZType()),
        *[T.StructField(c, T.DoubleType()) for c in columns],
        T.StructField("cutoff", T.TimestampNTZType()),
        T.StructField(REASON, T.StringType()),
    ]
    schema = T.StructType(fields)

    def forecast_bucket(part: pd.DataFrame) -> pd.DataFrame:
        est = _model(model_folder)
        history = part.drop(columns="_bucket").sort_values([id_col, time_col])
        forecasts, skipped = forecast_chunk(est, history.reset_index(drop=True), cfg)
        rows = forecasts.reindex(columns=[f.name for f in fields]) if len(forecasts) else None
        gaps = pd.DataFrame({id_col: list(skipped), REASON: list(skipped.values())})
        out = pd.concat([r for r in (rows, gaps) if r is not None and len(r)], ignore_index=True)
        out = out.reindex(columns=[f.name for f in fields])
        # pandas 3 keeps text as Arrow chunked arrays, which pyspark 4.3 cannot take back
        return out.astype({id_col: object, REASON: object})

    spark_frame = spark.createDataFrame(data.assign(**{id_col: data[id_col].astype(str)}))
    result = spark_frame.groupBy("_bucket").applyInPandas(forecast_bucket, schema).toPandas()
    skipped_rows = result[REASON].notna()
    skipped = dict(
        zip(result.loc[skipped_rows, id_col], result.loc[skipped_rows, REASON], strict=True)
    )
    forecasts = result.loc[~skipped_rows].drop(columns=REASON)
    forecasts = forecasts.sort_values([id_col, time_col]).reset_index(drop=True)
    return forecasts, skipped
