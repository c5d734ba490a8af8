"""``tsattn tune`` as real worker processes sharing one real storage (PostgreSQL, journal file).

No mocks: every worker is ``python -m tsattn.cli tune`` in its own process, the PostgreSQL server
is the session's throw-away one (``postgres_url`` in conftest.py), the journal is a file.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

optuna = pytest.importorskip("optuna")

N_TRIALS = 8
FINISHED = ("COMPLETE", "PRUNED")
# one thread per worker: four workers on two cores, each on many threads, mostly wait
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
TINY = ["--model", "linear", "--horizon", "6", "--lookback", "24", "--param", "max_epochs=1"]


def series_csv(path: Path, n_series: int, length: int) -> Path:
    t = np.arange(length)
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "unique_id": np.repeat([f"s{i}" for i in range(n_series)], length),
            "ds": np.tile(
                pd.date_range("2024-01-01", periods=length, freq="h").astype(str), n_series
            ),
            "y": np.concatenate(
                [
                    i + np.sin(t / (4 + i)) + 0.1 * rng.standard_normal(length)
                    for i in range(n_series)
                ]
            ),
        }
    )
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return series_csv(tmp_path_factory.mktemp("tune") / "train.csv", n_series=2, length=150)


@pytest.fixture(params=["postgres", "journal"])
def storage(request, tmp_path) -> str:
    if request.param == "postgres":
        return request.getfixturevalue("postgres_url")
    return f"journal:{tmp_path / 'study.log'}"


def tune_args(data: Path, storage: str, study: str, *extra: str) -> list[str]:
    return [
        *[sys.executable, "-m", "tsattn.cli", "tune", "--data", str(data)],
        *["--storage", storage, "--study-name", study, *extra],
    ]


def start(args: list[str], log: Path, cwd: Path) -> subprocess.Popen:
    # output to a file, not a pipe: a worker blocked on a full pipe would look like a slow one
    with open(log, "w") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=ENV)


def finish(worker: subprocess.Popen, log: Path, timeout: float = 120) -> str:
    try:
        worker.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    text = log.read_text()
    if worker.returncode != 0:
        pytest.fail(f"worker exited {worker.returncode}:\n{text[-3000:]}")
    return text


def load_study(storage: str, study: str) -> optuna.Study:
    if storage.startswith("journal:"):
        backend = optuna.storages.journal.JournalFileBackend(storage.removeprefix("journal:"))
        return optuna.load_study(study_name=study, storage=optuna.storages.JournalStorage(backend))
    return optuna.load_study(study_name=study, storage=storage)


def states(study: optuna.Study) -> dict[int, str]:
    return {t.number: t.state.name for t in study.get_trials(deepcopy=False)}


def check_trial_numbers(trials: list, n_trials: int) -> int:
    """Trials 0 .. n_trials - 1 each once; a trial numbered past the budget (two workers asking
    at the same instant) must be a stub that never ran. Returns the number of such stubs."""
    ran = sorted(t.number for t in trials if t.number < n_trials)
    assert ran == list(range(n_trials)), ran
    stubs = [t for t in trials if t.number >= n_trials]
    for t in stubs:
        assert t.state.name == "PRUNED" and t.value is None, (t.number, t.state, t.user_attrs)
        assert t.user_attrs.get("reason", "").startswith("skipped"), t.user_attrs
    return len(stubs)


@pytest.mark.parametrize("n_workers", [2, 4])
def test_workers_share_one_study_and_its_trial_budget(tmp_path, data, storage, n_workers):
    study = f"shared-{n_workers}-{uuid.uuid4().hex[:8]}"
    args = tune_args(data, storage, study, *TINY, "--n-trials", str(N_TRIALS), "--no-refit")
    begin = time.perf_counter()
    workers = [  # the documented recipe: one command, its own --seed and --out per worker
        start(
            [*args, "--seed", str(i), "--out", str(tmp_path / f"out{i}")],
            tmp_path / f"w{i}.log",
            tmp_path,
        )
        for i in range(n_workers)
    ]
    logs = [finish(worker, tmp_path / f"w{i}.log") for i, worker in enumerate(workers)]
    wall = time.perf_counter() - begin

    trials = load_study(storage, study).get_trials(deepcopy=False)
    stubs = check_trial_numbers(trials, N_TRIALS)
    assert all(t.state.name in FINISHED for t in trials), [t.state.name for t in trials]
    ran = [t for t in trials if t.number < N_TRIALS]
    per_worker = [  # progress lines: "trial 3 (4/8): mase 0.81; best ..."
        sum(line.startswith("trial ") and "skipped" not in line for line in log.splitlines())
        for log in logs
    ]
    assert sum(per_worker) == N_TRIALS, per_worker
    print(
        f"\n{storage.split(':')[0]}, {n_workers} workers: {len(ran)} trials run "
        f"{per_worker} (+{stubs} skipped stubs) in {wall:.1f} s wall"
    )


def test_killed_worker_trial_is_failed_by_heartbeat_and_study_completes(
    tmp_path, data, postgres_url
):
    """A worker SIGKILLed mid-trial leaves a RUNNING trial; the next worker marks it FAIL once
    its heartbeat is stale, and completes the study. PostgreSQL only: Optuna 5.0's journal
    storage has no heartbeat, so there the killed trial stays RUNNING (see ``tsattn tune -h``)."""
    n_trials, study = 3, f"killed-{uuid.uuid4().hex[:8]}"
    args = tune_args(data, postgres_url, study, "--n-trials", str(n_trials), "--no-refit", "-q")
    args += ["--heartbeat-interval", "1", "--pruner", "none", "--model", "linear"]
    args += ["--horizon", "6", "--lookback", "24"]
    # the victim's trial would train for minutes; the rescuer's take a fraction of a second
    slow = ["--param", "max_epochs=100000", "--param", "patience=null"]
    victim = start([*args, *slow, "--out", str(tmp_path / "a")], tmp_path / "a.log", tmp_path)
    deadline, running = time.monotonic() + 60, None
    while running is None:
        time.sleep(0.2)
        assert victim.poll() is None, (tmp_path / "a.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "no trial started within 60 s"
        try:
            running = next(
                (n for n, s in states(load_study(postgres_url, study)).items() if s == "RUNNING"),
                None,
            )
        except KeyError:  # the worker has not created the study yet
            continue
    time.sleep(1.0)  # its heartbeat reaches the storage
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert states(load_study(postgres_url, study))[running] == "RUNNING"  # killed mid-trial

    time.sleep(2.5)  # the heartbeat goes stale (grace period: twice the interval)
    fast = ["--param", "max_epochs=1"]
    rescuer = start([*args, *fast, "--out", str(tmp_path / "b")], tmp_path / "b.log", tmp_path)
    finish(rescuer, tmp_path / "b.log")

    trials = load_study(postgres_url, study).get_trials(deepcopy=False)
    check_trial_numbers(trials, n_trials)
    final = {t.number: t.state.name for t in trials}
    assert final[running] == "FAIL", final
    assert "RUNNING" not in final.values(), final
    assert [s for n, s in final.items() if n != running] == ["COMPLETE"] * (n_trials - 1), final
    died = next(t for t in trials if t.number == running)
    print(f"\nkilled trial {running}: {died.state.name}, then {final}")


def test_bad_input_is_one_line_and_exit_2_before_any_trial(tmp_path, data):
    db = f"sqlite:///{tmp_path / 'bad.db'}"
    cases = {
        "unknown param": ([*TINY, "--param", "nonsense=1", "--n-trials", "2"], db, "nonsense"),
        "unknown metric": ([*TINY, "--metric", "nope", "--n-trials", "2"], db, "nope"),
        "no budget": (TINY, db, "--n-trials"),
        "unreachable": (
            [*TINY, "--n-trials", "2"],
            "postgresql+psycopg://nobody@127.0.0.1:1/x",
            "127.0.0.1",
        ),
    }
    runs = {
        name: start(
            tune_args(data, storage, name.replace(" ", "-"), *extra, "--out", str(tmp_path)),
            tmp_path / f"{name}.log",
            tmp_path,
        )
        for name, (extra, storage, _) in cases.items()
    }
    for name, worker in runs.items():
        worker.wait(timeout=120)
        lines = (tmp_path / f"{name}.log").read_text().strip().splitlines()
        assert worker.returncode == 2, (name, lines)
        assert len(lines) == 1 and lines[0].startswith("tsattn tune: error: "), (name, lines)
        assert cases[name][2] in lines[0], (name, lines)
    if (tmp_path / "bad.db").exists():  # a study may exist, but no trial ran
        summaries = optuna.get_all_study_summaries(db)
        assert all(s.n_trials == 0 for s in summaries), summaries


def test_tune_prints_progress_and_table_and_writes_plots_and_best_model(tmp_path, data):
    out = tmp_path / "results"
    args = [sys.executable, "-m", "tsattn.cli", "tune", "--data", str(data), *TINY]
    done = subprocess.run(
        [*args, "--n-trials", "3", "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # the default storage: tsattn_tuning.db in the current folder
        env=ENV,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "tsattn_tuning.db").is_file()
    progress = [line for line in done.stderr.splitlines() if line.startswith("trial ")]
    assert len(progress) == 3 and "(3/3)" in progress[-1], done.stderr  # trial n/N
    assert all("mase" in line and "best" in line for line in progress), progress
    assert "complete" in done.stdout and "best mase" in done.stdout, done.stdout  # the table
    assert "saved best LinearForecaster" in done.stdout, done.stdout
    assert len(list(out.glob("*.png"))) >= 2, sorted(out.iterdir())

    import tsattn

    best = tsattn.load(out / "best_model")
    assert type(best).__name__ == "LinearForecaster" and best.horizon == 6
    assert len(best.predict()) == 2 * 6
