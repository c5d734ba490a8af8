"""MLflow tracking against a real ``mlflow server`` backed by PostgreSQL, and a registered
model served by a real ``mlflow models serve`` process.

No mocks: the tracking server is ``python -m mlflow server`` on its own database of the
session's throw-away PostgreSQL server (``postgres_url`` in conftest.py), with proxied artifacts
in a temporary folder; the model server is ``python -m mlflow models serve`` answering HTTP.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import psycopg  # dependencies of tsattn: a missing one must fail, not skip
import pytest

import tsattn
from tsattn.tracking import Tracker, log_model, set_alias

MLFLOW_DATABASE = "mlflow_test"
QUANTILES = [0.1, 0.9]
# the venv's bin folder first: the servers start uvicorn / gunicorn by name
ENV = {
    **os.environ,
    "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
}
ENV.pop("MLFLOW_TRACKING_URI", None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], log: Path, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    # output to a file, not a pipe: a server blocked on a full pipe would stop answering
    with open(log, "w") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_up(process: subprocess.Popen, url: str, log: Path, timeout: float) -> None:
    """Poll ``url`` until it answers 200; fail with the server's log tail if it dies first."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(
                f"{url}: the server exited {process.returncode}:\n{log.read_text()[-4000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            stop(process)
            pytest.fail(f"{url} did not answer within {timeout:.0f} s:\n{log.read_text()[-4000:]}")
        time.sleep(0.5)


def hourly_series(n_series: int = 2, length: int = 300) -> pd.DataFrame:
    """``unique_id, ds, y``: a daily sine plus noise per series, hourly."""
    t = np.arange(length)
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "unique_id": np.repeat([f"s{i}" for i in range(n_series)], length),
            "ds": np.tile(pd.date_range("2024-01-01", periods=length, freq="h"), n_series),
            "y": np.concatenate(
                [
                    10 + i + np.sin(2 * np.pi * t / 24) + 0.1 * rng.standard_normal(length)
                    for i in range(n_series)
                ]
            ),
        }
    )


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return hourly_series()


@pytest.fixture(scope="module")
def server_url(postgres_url, tmp_path_factory) -> Iterator[str]:
    """``http://127.0.0.1:PORT`` of an ``mlflow server`` on its own PostgreSQL database (MLflow
    and Optuna both keep an ``alembic_version`` table, so they cannot share one)."""
    pg = postgres_url.removeprefix("postgresql+psycopg://")
    host = pg.split("/", 1)[0]  # tsattn@127.0.0.1:PORT
    with psycopg.connect(f"postgresql://{host}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {MLFLOW_DATABASE}")
        conn.execute(f"CREATE DATABASE {MLFLOW_DATABASE}")
    backend = f"postgresql+psycopg://{host}/{MLFLOW_DATABASE}"
    root = tmp_path_factory.mktemp("mlflow-server")
    artifacts, log, port = root / "artifacts", root / "server.log", free_port()
    artifacts.mkdir()
    args = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", backend]
    args += ["--artifacts-destination", str(artifacts), "--host", "127.0.0.1"]
    args += ["--port", str(port), "--workers", "1"]
    server = start(args, log, root, ENV)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(server, f"{url}/health", log, timeout=90)
        yield url
    finally:
        stop(server)


@pytest.mark.slow
def test_fit_is_tracked_on_a_server_backed_by_postgresql(server_url, data):
    tracker = Tracker(server_url, experiment="server-test")
    est = tsattn.LSTMForecaster(horizon=12, lookback=48, max_epochs=3, random_state=0)
    est.fit(data, tracking=tracker)

    client = mlflow.MlflowClient(server_url)
    experiment = client.get_experiment_by_name("server-test")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], "tags.`tsattn.kind` = 'fit'")
    assert len(runs) == 1, [r.info.run_name for r in runs]
    run = runs[0]
    assert run.info.status == "FINISHED", run.info.status

    epochs = est.training_history_.epochs
    history = sorted(client.get_metric_history(run.info.run_id, "val_loss"), key=lambda m: m.step)
    assert len(history) == len(epochs), [(m.step, m.value) for m in history]
    assert [m.step for m in history] == list(range(len(epochs)))
    np.testing.assert_allclose(
        [m.value for m in history], [e["val_loss"] for e in epochs], rtol=1e-12
    )

    listed = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"forecast.png", "validation_report.txt"} <= listed, listed

    inputs = run.inputs.dataset_inputs
    assert len(inputs) == 1, inputs
    assert inputs[0].dataset.digest, inputs[0].dataset
    assert run.data.params["data.sha256"].startswith(inputs[0].dataset.digest)


def invoke(url: str, frame: pd.DataFrame, params: dict | None = None) -> tuple[int, str]:
    """POST ``frame`` (``dataframe_split``) to ``url``; the status and the body's text."""
    body: dict = {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
    if params is not None:
        body["params"] = params
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.mark.slow
def test_served_model_answers_like_the_in_process_model(server_url, data, tmp_path):
    tracker = Tracker(server_url, experiment="served-test")
    est = tsattn.LSTMForecaster(
        horizon=12, lookback=48, max_epochs=3, quantiles=QUANTILES, random_state=0
    )
    est.fit(data)
    info = log_model(est, "model", registered_model_name="served", tracking=tracker)
    assert info.registered_model_version is not None
    set_alias("served", "champion", info.registered_model_version, tracking=tracker)

    port, log = free_port(), tmp_path / "serve.log"
    args = [sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/served@champion"]
    args += ["--env-manager", "local", "--host", "127.0.0.1", "-p", str(port)]
    serve = start(args, log, tmp_path, {**ENV, "MLFLOW_TRACKING_URI": server_url})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(serve, f"{url}/ping", log, timeout=120)
        history = data.assign(ds=data.ds.dt.strftime("%Y-%m-%dT%H:%M:%S"))
        status, text = invoke(f"{url}/invocations", history, {"quantiles": QUANTILES})
        assert status == 200, f"{status}: {text[:2000]}\n{log.read_text()[-3000:]}"
        served = pd.DataFrame(json.loads(text)["predictions"])
        expected = pd.DataFrame(est.predict(data, quantiles=QUANTILES))
        columns = ["unique_id", "ds", "y_pred", "y_pred_q0.1", "y_pred_q0.9"]
        assert list(served.columns) == columns, list(served.columns)
        assert list(expected.columns) == columns, list(expected.columns)
        assert len(served) == len(expected) == 2 * 12
        assert served["unique_id"].tolist() == expected["unique_id"].tolist()
        assert pd.to_datetime(served["ds"]).tolist() == pd.to_datetime(expected["ds"]).tolist(), (
            served["ds"].head(3).tolist()
        )
        for column in columns[2:]:
            np.testing.assert_allclose(
                served[column].to_numpy(float),
                expected[column].to_numpy(float),
                rtol=1e-9,
                atol=1e-9,
                err_msg=column,
            )

        status, text = invoke(f"{url}/invocations", history.drop(columns="y"))
        assert status == 400, f"{status}: {text[:2000]}"
        message = json.loads(text).get("message", text)
        # the message also quotes the whole schema ('y': double): look for the missing column
        assert re.search(r"(missing inputs|lacks column\(s\)) \['y'\]", message), message
    finally:
        stop(serve)
