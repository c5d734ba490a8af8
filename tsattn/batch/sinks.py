"""Writing a job's forecasts atomically: a reader never sees half an output.

* Parquet: a dataset partitioned by as-of (``as_of=<stamp>/part-*.parquet``; reading the
  folder gives an ``as_of`` column). Chunk files go into a hidden temporary folder beside the dataset, which replaces the
  ``as_of=<stamp>`` partition by renames when the job commits; an interrupted job leaves the
  previous partition in place (a replaced one parked as ``.old-*`` is restored by the next run).
* CSV: one file per as-of, ``as_of=<stamp>.csv``, written to a temporary file and renamed.
* Database (any SQLAlchemy URL): one transaction deletes the rows of this as-of and inserts the
  new ones; a failure rolls back.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import pandas as pd

from tsattn.batch.config import JobConfig, one_line

__all__ = ["Sink", "WriteError", "open_sink", "stamp"]


class WriteError(OSError):
    """The output could not be written; the previous output is intact (exit code 5)."""

    exit_code = 5


def stamp(as_of: pd.Timestamp) -> str:
    """``2026-11-29T060000``: the as-of time in file and partition names."""
    return pd.Timestamp(as_of).strftime("%Y-%m-%dT%H%M%S")


class Sink:
    """Where one run's forecasts go: ``write`` chunks, then ``commit`` or ``abort``."""

    location: str = ""

    def write(self, frame: pd.DataFrame) -> None:
        raise NotImplementedError

    def commit(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError


def open_sink(config: JobConfig, as_of: pd.Timestamp) -> Sink:
    """The sink of ``config.output`` for ``as_of``, checked writable before any work."""
    fmt = config.output["format"]
    if fmt == "sql":
        return SqlSink(config.output["url"], config.output["table"], as_of)
    folder = Path(config.output["path"])
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{uuid.uuid4().hex}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        raise WriteError(f"output folder {folder} is not writable: {err.strerror or err}.") from err
    if fmt == "parquet":
        return ParquetSink(folder, as_of)
    return CsvSink(folder, as_of)


class ParquetSink(Sink):
    def __init__(self, folder: Path, as_of: pd.Timestamp) -> None:
        self.folder = folder
        self.final = folder / f"as_of={stamp(as_of)}"
        self.location = str(self.final)
        recover(folder)
        self.tmp = folder / f".tmp-{stamp(as_of)}-{uuid.uuid4().hex[:8]}"
        self.tmp.mkdir()
        self.parts = 0

    def write(self, frame: pd.DataFrame) -> None:
        try:
            # the partition's name carries as_of (hive style): not repeated as a column
            part = frame.drop(columns="as_of")
            part.to_parquet(self.tmp / f"part-{self.parts:05d}.parquet", index=False)
        except OSError as err:
            self.abort()
            raise WriteError(f"writing {self.tmp}: {err.strerror or err}") from err
        self.parts += 1

    def commit(self) -> None:
        old = self.folder / f".old-{self.final.name}-{uuid.uuid4().hex[:8]}"
        try:
            if self.final.exists():
                self.final.rename(old)  # parked: restored by recover() if we die right here
            self.tmp.rename(self.final)
        except OSError as err:
            if old.exists() and not self.final.exists():
                old.rename(self.final)
            self.abort()
            raise WriteError(f"publishing {self.final}: {err.strerror or err}") from err
        shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)


def recover(folder: Path) -> None:
    """Undo what a killed run left: restore a parked partition whose replacement never
    arrived, and delete parked and temporary folders."""
    for parked in sorted(folder.glob(".old-as_of=*")):
        name = parked.name.removeprefix(".old-").rsplit("-", 1)[0]
        if not (folder / name).exists():
            parked.rename(folder / name)
        else:
            shutil.rmtree(parked, ignore_errors=True)
    for tmp in folder.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True) if tmp.is_dir() else tmp.unlink(missing_ok=True)


class CsvSink(Sink):
    def __init__(self, folder: Path, as_of: pd.Timestamp) -> None:
        self.final = folder / f"as_of={stamp(as_of)}.csv"
        self.location = str(self.final)
        recover(folder)
        self.tmp = folder / f".tmp-{self.final.name}-{uuid.uuid4().hex[:8]}"
        self.header = True

    def write(self, frame: pd.DataFrame) -> None:
        try:
            frame.to_csv(self.tmp, mode="a", header=self.header, index=False)
        except OSError as err:
            self.abort()
            raise WriteError(f"writing {self.tmp}: {err.strerror or err}") from err
        self.header = False

    def commit(self) -> None:
        try:
            with open(self.tmp, "rb+") as out:
                os.fsync(out.fileno())
            os.replace(self.tmp, self.final)
        except OSError as err:
            self.abort()
            raise WriteError(f"publishing {self.final}: {err.strerror or err}") from err

    def abort(self) -> None:
        self.tmp.unlink(missing_ok=True)


class SqlSink(Sink):
    """All rows of one as-of in one transaction (replacing that as-of's earlier rows)."""

    def __init__(self, url: str, table: str, as_of: pd.Timestamp) -> None:
        import sqlalchemy

        self.sa = sqlalchemy
        self.table, self.as_of = table, pd.Timestamp(as_of).to_pydatetime()
        self.location = f"{table} in {sqlalchemy.engine.make_url(url).render_as_string()}"
        try:
            self.engine = sqlalchemy.create_engine(url)
            self.conn = self.engine.connect()
            self.tx = self.conn.begin()
        except sqlalchemy.exc.SQLAlchemyError as err:
            raise WriteError(f"cannot open output database: {one_line(err)}") from err
        self.cleared = False

    def write(self, frame: pd.DataFrame) -> None:
        sa = self.sa
        try:
            if not self.cleared and sa.inspect(self.conn).has_table(self.table):
                table = sa.Table(self.table, sa.MetaData(), autoload_with=self.conn)
                self.conn.execute(sa.delete(table).where(table.c.as_of == self.as_of))
            self.cleared = True
            frame.to_sql(self.table, self.conn, if_exists="append", index=False)
        except sa.exc.SQLAlchemyError as err:
            self.abort()
            raise WriteError(f"writing table {self.table}: {one_line(err)}") from err

    def commit(self) -> None:
        try:
            self.tx.commit()
        except self.sa.exc.SQLAlchemyError as err:
            self.abort()
            raise WriteError(f"committing table {self.table}: {one_line(err)}") from err
        finally:
            self.conn.close()
            self.engine.dispose()

    def abort(self) -> None:
        try:
            if self.tx.is_active:
                self.tx.rollback()
        finally:
            self.conn.close()
            self.engine.dispose()
