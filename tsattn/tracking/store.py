"""Where runs are tracked: the tracking URI, a fail-fast reachability check, experiments.

The default store is an SQLite database with an artifact folder beside it: in the ``mlflow/``
folder of the working tree when tsattn runs from a checkout, otherwise in ``./mlruns``.
``MLFLOW_TRACKING_URI`` or an explicit URI (a tracking server ``http://...``, a database
``postgresql://...``, ``sqlite:///...``) replaces it.

MLflow is imported inside the functions that need it, so ``import tsattn`` stays light.
"""

from __future__ import annotations

import contextlib
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "check_reachable",
    "checkout_folder",
    "default_uri",
    "ensure_experiment",
    "redact",
    "resolve_uri",
    "using_uri",
]

#: URI schemes of databases MLflow's SQL store speaks (with or without a ``+driver``).
DATABASES = ("postgresql", "mysql", "mssql")
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "mssql": 1433, "http": 80, "https": 443}


def checkout_folder() -> Path | None:
    """The working tree's ``mlflow/`` folder when tsattn is imported from a checkout, else None."""
    root = Path(__file__).resolve().parents[2]
    folder = root / "mlflow"
    if (root / ".git").exists() and (root / "pyproject.toml").is_file() and folder.is_dir():
        return folder
    return None


def default_uri() -> str:
    """``MLFLOW_TRACKING_URI`` if set, else SQLite in the checkout's ``mlflow/`` or ``./mlruns``."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    folder = checkout_folder() or Path.cwd() / "mlruns"
    return f"sqlite:///{folder / 'mlflow.db'}"


def resolve_uri(uri: str | os.PathLike | None = None) -> str:
    """The tracking URI to use: ``uri``, or :func:`default_uri`; a folder path becomes SQLite in it."""
    if uri is None:
        return default_uri()
    text = os.fspath(uri)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"tracking URI {uri!r} is invalid; expected e.g. sqlite:///mlflow.db.")
    if "://" not in text and not text.startswith(("databricks", "file:")):
        return f"sqlite:///{Path(text).resolve() / 'mlflow.db'}"  # a folder for the store
    return text


def redact(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (for messages, tags and logs)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _sqlite_file(uri: str) -> Path:
    return Path(uri.removeprefix("sqlite:///") if uri.startswith("sqlite:///") else uri[9:])


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Raise ``ConnectionError`` naming ``uri`` unless its store answers within ``timeout`` s.

    A server or database must accept a TCP connection (a tracking server must also answer
    ``/health``); an SQLite store's folder is created when it is the default store, and must
    exist otherwise. MLflow itself retries an unreachable server for minutes: this fails first.
    """
    scheme = urlsplit(uri).scheme.split("+")[0]
    if scheme == "sqlite":
        folder = _sqlite_file(uri).parent
        if folder == (checkout_folder() or Path.cwd() / "mlruns") or folder.name == "mlruns":
            folder.mkdir(parents=True, exist_ok=True)
        if not folder.is_dir():
            raise ConnectionError(
                f"tracking store {uri} is unreachable: folder {folder} does not exist; create "
                "it or point MLFLOW_TRACKING_URI (or the tracking argument) elsewhere."
            )
        return
    if scheme not in (*DATABASES, "http", "https"):
        return  # file:, databricks, plugins: MLflow's own errors apply
    parts = urlsplit(uri)
    host, port = parts.hostname or "localhost", parts.port or DEFAULT_PORTS[scheme]
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
        if scheme in ("http", "https"):
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
                pass
    except (OSError, urllib.error.URLError) as err:
        raise ConnectionError(
            f"tracking store {redact(uri)} is unreachable ({err}); start it, or set "
            "MLFLOW_TRACKING_URI / the tracking argument to a store that answers (pass "
            "Tracker(..., on_error='warn') to go on without tracking)."
        ) from err


def artifact_location(uri: str, experiment: str) -> str | None:
    """Artifacts of a new experiment in a local SQLite store: ``artifacts/<experiment>`` beside
    the database (a server or a remote database keeps its own default)."""
    if not uri.startswith("sqlite:"):
        return None
    return (_sqlite_file(uri).resolve().parent / "artifacts" / experiment).as_uri()


def ensure_experiment(client: Any, uri: str, name: str) -> str:
    """The id of experiment ``name`` in ``client``'s store, created if it does not exist."""
    found = client.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    return client.create_experiment(name, artifact_location=artifact_location(uri, name))


@contextlib.contextmanager
def using_uri(uri: str) -> Iterator[None]:
    """Point MLflow's module-level (fluent) API and its registry at ``uri`` for a block, then
    restore what was set before (nothing, an environment variable or a call)."""
    import mlflow

    previous = mlflow.get_tracking_uri() if mlflow.is_tracking_uri_set() else None
    registry = mlflow.get_registry_uri()
    own_registry = registry if registry != mlflow.get_tracking_uri() else None
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        mlflow.set_registry_uri(own_registry)
        if own_registry is None:  # set_registry_uri(None) leaves the variable it set behind
            os.environ.pop("MLFLOW_REGISTRY_URI", None)
