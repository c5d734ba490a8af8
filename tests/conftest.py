"""Session fixtures shared by the whole suite: a throw-away PostgreSQL server."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_BINARIES = ("initdb", "pg_ctl", "postgres")
PG_USER, PG_DATABASE = "tsattn", "tsattn"


def _pg_bin_dir() -> Path | None:
    """The folder holding initdb, pg_ctl and postgres: PATH first, then Debian's versioned
    folders (``apt-get install postgresql`` puts them in /usr/lib/postgresql/N/bin only)."""
    found = [shutil.which(name) for name in PG_BINARIES]
    if all(found):
        return Path(found[0]).parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if all((Path(folder) / name).is_file() for name in PG_BINARIES):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """``postgresql+psycopg://tsattn@127.0.0.1:PORT/tsattn`` on a fresh PostgreSQL server.

    The server lives in a temporary folder (initdb, trust authentication on loopback, no fsync)
    and is stopped and deleted at the end of the session. PostgreSQL refuses to run as root, so
    under root the server runs as the ``postgres`` user (``runuser``). Skipped only when the
    PostgreSQL binaries are absent (``.ci/run`` installs them, so CI never skips).
    """
    bin_dir = _pg_bin_dir()
    if bin_dir is None:
        pytest.skip(
            f"PostgreSQL server binaries {list(PG_BINARIES)} not found on PATH or in "
            "/usr/lib/postgresql/*/bin; install them (Debian: apt-get install postgresql)."
        )
    psycopg = pytest.importorskip("psycopg")
    as_user: list[str] = []
    if os.geteuid() == 0:
        if subprocess.run(["id", "postgres"], capture_output=True).returncode != 0:
            pytest.fail("running as root needs a 'postgres' user to run the server as (useradd).")
        as_user = ["runuser", "-u", "postgres", "--"]

    root = Path(tempfile.mkdtemp(prefix="tsattn-pg-"))  # short: a socket path has <= 107 bytes
    data, log = root / "data", root / "server.log"
    if as_user:
        shutil.chown(root, "postgres", "postgres")
    port = _free_port()
    initdb = [
        "-D",
        data,
        "-U",
        PG_USER,
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-sync",
        "--no-instructions",
    ]
    options = ["-k", root, "-p", str(port), "-h", "127.0.0.1"]
    # a throw-away server: durability off, and room for many workers' connection pools
    for setting in ("fsync=off", "synchronous_commit=off", "full_page_writes=off"):
        options += ["-c", setting]
    options += ["-c", "max_connections=200"]
    server = None
    try:
        done = subprocess.run(
            [*as_user, bin_dir / "initdb", *initdb], cwd=root, capture_output=True, text=True
        )
        if done.returncode != 0:
            pytest.fail(f"initdb failed:\n{done.stdout[-1000:]}{done.stderr[-2000:]}")
        with open(log, "wb") as out:  # the server keeps its own copy of the handle
            server = subprocess.Popen(
                [*as_user, bin_dir / "postgres", "-D", data, *options],
                cwd=root,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        admin = f"postgresql://{PG_USER}@127.0.0.1:{port}/postgres"
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                pytest.fail(f"PostgreSQL exited at start-up:\n{log.read_text()[-2000:]}")
            try:
                with psycopg.connect(admin, autocommit=True, connect_timeout=2) as conn:
                    conn.execute(f"CREATE DATABASE {PG_DATABASE}")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"PostgreSQL did not accept connections:\n{log.read_text()[-2000:]}"
                    )
                time.sleep(0.2)
        yield f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}/{PG_DATABASE}"
    finally:
        if server is not None:
            subprocess.run(
                [*as_user, bin_dir / "pg_ctl", "stop", "-D", data, "-m", "fast", "-w"],
                cwd=root,
                capture_output=True,
            )
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def in_terminal():
    """``run(script) -> output``: run a Python script on a real pseudo-terminal of 24 x 120
    (so that code checking ``isatty()`` behaves as in an interactive shell); assert it exits 0
    and return what it wrote to stdout and stderr."""
    import fcntl
    import pty
    import struct
    import sys
    import termios

    def run(script: str) -> str:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))
        child = subprocess.Popen([sys.executable, "-c", script], stdout=slave, stderr=slave)
        os.close(slave)
        out = b""
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            out += data
        os.close(master)
        assert child.wait() == 0, out.decode(errors="replace")[-1000:]
        return out.decode(errors="replace")

    return run
