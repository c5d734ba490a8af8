"""Optuna storages: SQLite or any SQLAlchemy URL with a heartbeat, or a journal file."""

from __future__ import annotations

import inspect
import random
import time
import warnings
from pathlib import Path
from typing import Any

import optuna
from optuna.exceptions import ExperimentalWarning

from tsattn.params import check_param

#: File name of the default SQLite storage, in the working folder.
DEFAULT_STORAGE = "tsattn_tuning.db"
#: Reason recorded for the RUNNING trial of a worker that stopped sending heartbeats.
WORKER_DIED = "worker died (no heartbeat)"
#: Tries to open an RDB storage that other workers are creating at the same moment.
_OPEN_ATTEMPTS = 5


def make_storage(
    url: str | None = None, heartbeat_interval: int | None = 10
) -> optuna.storages.BaseStorage:
    """The Optuna storage for ``url`` (see the storage table in :mod:`tsattn.tuning`).

    Parameters
    ----------
    url : str, optional
        None: ``sqlite:///`` file ``tsattn_tuning.db`` in the working folder; a SQLAlchemy URL:
        an ``RDBStorage``; a path ending in ``.log`` or ``.jsonl``, or ``journal:PATH``: a
        ``JournalStorage`` on that file.
    heartbeat_interval : int, optional
        Seconds between a running trial's heartbeats (RDB storages only; None: no heartbeat).
        A RUNNING trial without a heartbeat for twice that long is marked FAIL with reason
        ``worker died (no heartbeat)`` when a worker starts or continues the study.

    Raises
    ------
    ValueError
        When the storage cannot be opened (naming the URL, password hidden).
    """
    check_param("heartbeat_interval", heartbeat_interval, low=1, integer=True, allow_none=True)
    if url is None:
        url = f"sqlite:///{(Path.cwd() / DEFAULT_STORAGE).as_posix()}"
    if not isinstance(url, str):
        raise TypeError(f"storage must be a URL or file path string, got {type(url).__name__}.")
    journal = _journal_path(url)
    if journal is not None:
        if not journal.parent.is_dir():
            raise ValueError(
                f"cannot open the journal storage {url!r}: folder {journal.parent} does not exist."
            )
        backend = optuna.storages.journal.JournalFileBackend(str(journal))
        return optuna.storages.journal.JournalStorage(backend)
    if "://" not in url:
        raise ValueError(
            f"storage {url!r} is neither a database URL (sqlite:///tuning.db, "
            "postgresql+psycopg://user@host/db) nor a journal file (a path ending in .log or "
            ".jsonl, or journal:PATH)."
        )
    return _rdb_storage(url, heartbeat_interval)


def _journal_path(url: str) -> Path | None:
    if url.startswith("journal:"):
        return Path(url.removeprefix("journal:")).expanduser()
    if "://" not in url and url.lower().endswith((".log", ".jsonl")):
        return Path(url).expanduser()
    return None


def _rdb_storage(url: str, heartbeat_interval: int | None) -> optuna.storages.RDBStorage:
    import sqlalchemy

    kwargs: dict[str, Any] = {}
    if heartbeat_interval is not None:
        # 'failed_trial_callback' was renamed 'heartbeat_stale_trial_callback' in Optuna 4.9
        names = inspect.signature(optuna.storages.RDBStorage).parameters
        callback = next(
            n for n in ("heartbeat_stale_trial_callback", "failed_trial_callback") if n in names
        )
        kwargs = {
            "heartbeat_interval": heartbeat_interval,
            "grace_period": 2 * heartbeat_interval,
            callback: _record_dead_worker,
        }
    engine_kwargs = {}
    if url.startswith("postgresql") and "connect_timeout" not in url:
        engine_kwargs = {"connect_args": {"connect_timeout": 10}}  # never hang on a dead host
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)  # heartbeat_interval
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **kwargs)
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, OSError, ValueError) as err:
            if _lost_creation_race(err) and attempt + 1 < _OPEN_ATTEMPTS:
                time.sleep(0.2 + random.random() * (attempt + 1))
                continue
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise ValueError(
                f"cannot open the Optuna storage {_shown(url)!r}: {type(err).__name__}: {first}"
            ) from err
    raise AssertionError("unreachable: the last attempt returns or raises")


def _lost_creation_race(err: BaseException) -> bool:
    """Whether another worker was creating Optuna's tables in the same new database.

    Workers started together on a fresh database all create the schema and stamp its version;
    all but one fail on a duplicate row or table, and then find the schema ready.
    """
    import sqlalchemy

    if isinstance(err, sqlalchemy.exc.IntegrityError):
        return True
    text = str(err).lower()
    return isinstance(err, sqlalchemy.exc.DBAPIError) and (
        "already exists" in text or "database is locked" in text
    )


def _shown(url: str) -> str:
    """``url`` with its password hidden."""
    import sqlalchemy

    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def _record_dead_worker(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Heartbeat-stale callback: the trial is FAIL already, so the reason goes on the study."""
    study.set_user_attr(f"reason:trial {trial.number}", WORKER_DIED)
