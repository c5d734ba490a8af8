"""Reading a job's input: lazily, one chunk of series at a time, up to the as-of time.

Files (CSV or Parquet, a path or a glob) are scanned with polars: each chunk reads only its
series' last rows up to the as-of time (a streaming query), so memory follows the chunk size,
not the size of the input. A built-in dataset or a SQL query is read once into memory.
"""

from __future__ import annotations

import glob as globbing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl

from tsattn.batch.config import JobConfig, one_line

__all__ = ["DataError", "Source"]


class DataError(ValueError):
    """Input that cannot be forecast: nothing matched, no usable series, too many skipped
    (exit code 3)."""

    exit_code = 3


class Source:
    """The job's input as a lazy frame with a parsed time column."""

    def __init__(self, config: JobConfig) -> None:
        self.config = config
        self.id_col, self.time_col = config.id_col, config.time_col
        self.frame = self._parsed(self._scan())

    def _scan(self) -> pl.LazyFrame:
        spec = self.config.input
        if "dataset" in spec:
            from tsattn.datasets import load

            return pl.from_pandas(load(spec["dataset"]).df).lazy()
        if "sql" in spec:
            import sqlalchemy

            engine = sqlalchemy.create_engine(spec["url"])
            try:
                with engine.connect() as conn:
                    return pl.from_pandas(pd.read_sql(sqlalchemy.text(spec["sql"]), conn)).lazy()
            except sqlalchemy.exc.SQLAlchemyError as err:
                raise DataError(f"input.sql failed on {engine.url!r}: {one_line(err)}") from err
            finally:
                engine.dispose()
        files = sorted(globbing.glob(spec["path"]))
        if not files:
            raise DataError(f"input.path {spec['path']!r} matches no file.")
        suffixes = {Path(f).suffix.lower() for f in files}
        if suffixes <= {".parquet", ".pq"}:
            return pl.scan_parquet(files)
        if suffixes == {".csv"}:
            return pl.scan_csv(files, infer_schema_length=10_000)
        raise DataError(
            f"input.path {spec['path']!r} matches {sorted(suffixes)} files; expected .csv or .parquet."
        )

    def _parsed(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        names = frame.collect_schema()
        for col in (self.id_col, self.time_col, self.config.target_col):
            if col not in names:
                raise DataError(
                    f"the input has no column {col!r} (it has {list(names)}); set "
                    "input.id_col / time_col / target_col."
                )
        time = pl.col(self.time_col)
        if names[self.time_col] == pl.String:
            fmt = self.config.input.get("time_format")
            time = time.str.to_datetime(format=fmt, strict=True, time_unit="ns")
        return frame.with_columns(time.alias(self.time_col), pl.col(self.id_col).cast(pl.String))

    def align(self, as_of: pd.Timestamp) -> pd.Timestamp:
        """``as_of`` in the zone of the input's times (a naive as-of is read in that zone)."""
        zone = getattr(self.frame.collect_schema()[self.time_col], "time_zone", None)
        if zone and as_of.tzinfo is None:
            return as_of.tz_localize(zone)
        if not zone and as_of.tzinfo is not None:
            raise DataError(
                f"as-of {as_of} has a time zone but the input's {self.time_col!r} has none; "
                "pass a naive as-of."
            )
        return as_of

    def summary(self, as_of: Any) -> dict[str, Any]:
        """Rows in, rows after ``as_of`` (ignored), and the series with rows up to it."""
        t = pl.col(self.time_col)
        stats = self.frame.select(
            pl.len().alias("rows"),
            (t > as_of).sum().alias("after"),
            t.max().alias("last"),
        )
        ids = self.frame.filter(t <= as_of).select(pl.col(self.id_col).unique().sort()).collect()
        row = _collect(stats).row(0, named=True)
        return {**row, "ids": ids[self.id_col].to_list()}

    def last_time(self) -> Any:
        return _collect(self.frame.select(pl.col(self.time_col).max())).item()

    def chunk(self, ids: Sequence[str], as_of: Any, keep: int | None) -> pd.DataFrame:
        """The rows up to ``as_of`` of series ``ids`` (their last ``keep`` rows), sorted."""
        t = pl.col(self.time_col)
        # only a filter streams through the input: memory follows the chunk, not the file
        rows = _collect(self.frame.filter(pl.col(self.id_col).is_in(list(ids)) & (t <= as_of)))
        rows = rows.sort([self.id_col, self.time_col])
        if keep is not None:
            rows = rows.group_by(self.id_col, maintain_order=True).tail(keep)
        return rows.to_pandas()


def _collect(frame: pl.LazyFrame) -> pl.DataFrame:
    try:
        return frame.collect(engine="streaming")
    except pl.exceptions.PolarsError as err:
        raise DataError(f"reading the input failed: {one_line(err)}") from err
