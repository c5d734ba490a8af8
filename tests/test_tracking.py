"""MLflow tracking of fit, backtest and tune against a real local store (SQLite + artifacts)."""

from __future__ import annotations

import socket
import time
import warnings

import mlflow
import numpy as np
import optuna
import pandas as pd
import pytest

import tsattn
from tsattn.tracking import Tracker
from tsattn.tracking.runs import as_tracker, content_hash
from tsattn.tracking.store import default_uri, redact, resolve_uri


def hourly(n_series: int = 2, length: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    frames = [
        pd.DataFrame(
            {
                "unique_id": f"s{k}",
                "ds": pd.date_range("2024-01-01", periods=length, freq="h"),
                "y": 10 + k + np.sin(2 * np.pi * t / 24) + 0.1 * rng.normal(size=length),
            }
        )
        for k in range(n_series)
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def tracker(tmp_path):
    return Tracker(tmp_path / "store", experiment="tests")


def runs(tracker: Tracker) -> list:
    return tracker.connect().search_runs([tracker.experiment_id], order_by=["start_time ASC"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_tracked_fit_logs_params_epochs_data_versions_report_and_plots(tracker):
    df = hourly()
    df.attrs["name"] = "two sines"
    est = tsattn.AttentionLSTMForecaster(horizon=12, lookback=48, max_epochs=3, random_state=0)
    est.fit(df, tracking=tracker)
    (run,) = runs(tracker)
    client = tracker.connect()
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "fit AttentionLSTMForecaster"
    params = run.data.params
    assert params["estimator"] == "AttentionLSTMForecaster"
    assert params["lookback"] == "48" and params["max_epochs"] == "3"
    assert "callbacks" not in params  # not a setting
    assert params["data.rows"] == "600" and params["data.series"] == "2"
    epochs = est.training_history_.epochs
    val = client.get_metric_history(run.info.run_id, "val_loss")
    assert [m.step for m in sorted(val, key=lambda m: m.step)] == list(range(len(epochs)))
    assert [m.value for m in sorted(val, key=lambda m: m.step)] == pytest.approx(
        [e["val_loss"] for e in epochs]
    )
    assert len(client.get_metric_history(run.info.run_id, "train_loss")) == len(epochs)
    refit = client.get_metric_history(run.info.run_id, "refit_train_loss")
    assert len(refit) == len(est.refit_history_.epochs)
    assert run.data.metrics["best_epoch"] == est.training_history_.best_epoch
    assert run.data.tags["device"] == "cpu" and run.data.tags["precision"] == "fp32"
    assert run.data.tags["version.tsattn"] == tsattn.__version__
    assert run.data.tags["version.torch"].startswith("2.")
    (data,) = run.inputs.dataset_inputs
    panel = est.check_frame(df)
    assert data.dataset.name == "two sines"
    assert data.dataset.digest == content_hash(panel)[:32]
    assert params["data.sha256"] == content_hash(panel)
    assert data.tags[0].value == "training"
    files = {f.path for f in client.list_artifacts(run.info.run_id)}
    assert {"forecast.png", "attention.png", "validation_report.txt"} <= files
    report = client.download_artifacts(run.info.run_id, "validation_report.csv")
    table = pd.read_csv(report)
    assert table["train_windows"].sum() > 0 and list(table["unique_id"]) == ["s0", "s1"]


def test_the_content_hash_changes_with_one_value():
    df = hourly()
    est = tsattn.NaiveForecaster(horizon=4).fit(df)
    changed = df.copy()
    changed.loc[5, "y"] += 1e-9
    assert content_hash(est.check_frame(df)) != content_hash(est.check_frame(changed))
    assert content_hash(est.check_frame(df)) == content_hash(est.check_frame(df.copy()))


@pytest.mark.parametrize("name", ["LSTMForecaster", "TransformerForecaster"])
def test_tracking_never_changes_the_forecast(tracker, name):
    df = hourly()
    make = lambda: getattr(tsattn, name)(horizon=12, lookback=48, max_epochs=2, random_state=3)  # noqa: E731
    plain = make().fit(df).predict()
    tracked = make().fit(df, tracking=tracker)
    assert tracked.callbacks is None  # the epoch logger was removed again
    pd.testing.assert_frame_equal(tracked.predict(), plain, check_exact=True)


def test_a_statistical_fit_is_tracked_without_epochs(tracker):
    est = tsattn.SeasonalNaiveForecaster(horizon=12).fit(hourly(), tracking=tracker)
    (run,) = runs(tracker)
    assert run.data.params["estimator"] == "SeasonalNaiveForecaster"
    assert "val_loss" not in run.data.metrics
    files = {f.path for f in tracker.connect().list_artifacts(run.info.run_id)}
    assert "forecast.png" in files and "attention.png" not in files
    assert est.predict().shape[0] == 24


def test_a_failing_fit_ends_its_run_failed(tracker):
    df = hourly(length=40)  # too short for lookback + horizon
    with pytest.raises(ValueError):
        tsattn.LSTMForecaster(horizon=12, lookback=48).fit(df, tracking=tracker)
    assert [r.info.status for r in runs(tracker)] in ([], ["FAILED"])


def test_a_tracked_backtest_logs_its_summary_and_table(tracker):
    df = hourly()
    result = tsattn.backtest(
        tsattn.SeasonalNaiveForecaster(horizon=12), df, n_windows=3, tracking=tracker
    )
    (run,) = runs(tracker)
    assert run.data.tags["tsattn.kind"] == "backtest"
    assert run.data.params["backtest.n_windows"] == "3"
    assert run.data.metrics["mase"] == pytest.approx(result.summary()["mase"])
    assert run.data.metrics["mae"] == pytest.approx(result.summary()["mae"])
    table = pd.read_csv(
        tracker.connect().download_artifacts(run.info.run_id, "backtest_metrics.csv")
    )
    assert len(table) == 2 * 3
    assert run.inputs.dataset_inputs[0].tags[0].value == "evaluation"


def test_a_tracked_study_has_a_parent_run_and_a_nested_run_per_trial(tracker, tmp_path):
    df = hourly()
    result = tsattn.tune(
        "lstm",
        df,
        n_trials=3,
        fixed_params={"horizon": 12, "max_epochs": 2},
        storage=f"sqlite:///{tmp_path / 'optuna.db'}",
        tracking=tracker,
        verbose=0,
    )
    found = runs(tracker)
    (parent,) = [r for r in found if r.data.tags["tsattn.kind"] == "study"]
    trials = [r for r in found if r.data.tags["tsattn.kind"] == "trial"]
    assert len(trials) == 3
    assert {r.data.tags["mlflow.parentRunId"] for r in trials} == {parent.info.run_id}
    by_number = {int(r.data.tags["optuna.trial"]): r for r in trials}
    for frozen in result.study.trials:
        run = by_number[frozen.number]
        assert run.data.tags["optuna.state"] == frozen.state.name
        assert {k: float(v) for k, v in run.data.params.items()} == pytest.approx(
            {k: float(v) for k, v in frozen.params.items()}
        ) or run.data.params == {k: str(v) for k, v in frozen.params.items()}
        if frozen.value is not None:
            assert run.data.metrics["mase"] == pytest.approx(frozen.value)
    assert parent.data.metrics["best_mase"] == pytest.approx(result.best_score_)
    assert parent.info.status == "FINISHED"
    client = tracker.connect()
    plots = {f.path for f in client.list_artifacts(parent.info.run_id, "plots")}
    assert "plots/optimization_history.png" in plots
    assert "trials.csv" in {f.path for f in client.list_artifacts(parent.info.run_id)}


def test_a_resumed_study_nests_under_the_same_parent(tracker, tmp_path):
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    common = dict(fixed_params={"horizon": 12}, storage=storage, tracking=tracker, verbose=0)
    tsattn.tune("seasonal_naive", hourly(), n_trials=2, **common)
    tsattn.tune("seasonal_naive", hourly(), n_trials=4, **common)
    found = runs(tracker)
    parents = [r for r in found if r.data.tags["tsattn.kind"] == "study"]
    trials = [r for r in found if r.data.tags["tsattn.kind"] == "trial"]
    assert len(parents) == 1 and len(trials) == 4
    study = optuna.load_study(study_name="tsattn-seasonal_naive", storage=storage)
    assert study.user_attrs["mlflow_parent_run_id"] == parents[0].info.run_id


def test_an_unreachable_server_fails_fast_naming_its_uri():
    uri = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=f"tracking store {uri} is unreachable"):
        tsattn.NaiveForecaster(horizon=4).fit(hourly(), tracking=Tracker(uri, timeout=2))
    assert time.monotonic() - started < 10  # MLflow's own retries would take minutes


def test_an_unreachable_database_fails_fast_without_its_password():
    uri = f"postgresql://user:secret@127.0.0.1:{free_port()}/db"
    with pytest.raises(ConnectionError) as info:
        Tracker(uri, timeout=2).connect()
    assert "secret" not in str(info.value) and "user:***@" in str(info.value)


def test_on_error_warn_goes_on_untracked_with_the_same_forecast():
    uri = f"http://127.0.0.1:{free_port()}"
    df = hourly()
    with pytest.warns(UserWarning, match="not tracking: tracking store"):
        est = tsattn.LSTMForecaster(horizon=12, lookback=48, max_epochs=2).fit(
            df, tracking=Tracker(uri, on_error="warn", timeout=1)
        )
    plain = tsattn.LSTMForecaster(horizon=12, lookback=48, max_epochs=2).fit(df)
    pd.testing.assert_frame_equal(est.predict(), plain.predict(), check_exact=True)


def test_a_missing_sqlite_folder_is_an_error(tmp_path):
    uri = f"sqlite:///{tmp_path / 'nowhere' / 'mlflow.db'}"
    with pytest.raises(ConnectionError, match="does not exist"):
        Tracker(uri).connect()


def test_bad_tracking_arguments_are_errors():
    with pytest.raises(TypeError, match="tracking=12 is invalid"):
        as_tracker(12)
    with pytest.raises(ValueError, match="on_error='ignore' is invalid"):
        Tracker(on_error="ignore")
    assert as_tracker(False) is None and as_tracker(None) is None


def test_the_default_store_is_the_checkouts_mlflow_folder(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    uri = default_uri()
    assert uri.startswith("sqlite:///") and uri.endswith("/mlflow/mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking.example:5000")
    assert default_uri() == "http://tracking.example:5000"
    assert Tracker().uri == "http://tracking.example:5000"


def test_uris_resolve_and_redact(tmp_path):
    assert resolve_uri(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    assert resolve_uri("http://h:5000") == "http://h:5000"
    assert redact("postgresql://u:pw@h:1/db") == "postgresql://u:***@h:1/db"
    assert redact("http://h:5000") == "http://h:5000"


def test_a_fit_inside_the_users_run_is_nested_under_it(tracker):
    mlflow.set_tracking_uri(tracker.uri)
    try:
        experiment = tracker.experiment_id
        with mlflow.start_run(experiment_id=experiment) as outer:
            tsattn.NaiveForecaster(horizon=4).fit(hourly(), tracking=tracker)
            assert mlflow.active_run().info.run_id == outer.info.run_id  # left alone
    finally:
        mlflow.set_tracking_uri(None)
    child = [r for r in runs(tracker) if r.info.run_id != outer.info.run_id]
    assert child[0].data.tags["mlflow.parentRunId"] == outer.info.run_id


def test_import_tsattn_does_not_import_mlflow():
    import subprocess
    import sys

    code = "import sys, tsattn; tsattn.NaiveForecaster; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_warn_mode_does_not_warn_when_the_store_answers(tracker):
    tracker.on_error = "warn"
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        tsattn.NaiveForecaster(horizon=4).fit(hourly(), tracking=tracker)
    assert len(runs(tracker)) == 1


def test_backtest_and_tune_check_the_store_before_any_work(tmp_path):
    uri = f"http://127.0.0.1:{free_port()}"
    est = tsattn.SeasonalNaiveForecaster(horizon=12)
    with pytest.raises(ConnectionError, match="unreachable"):
        tsattn.backtest(est, hourly(), n_windows=2, tracking=Tracker(uri, timeout=1))
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    with pytest.raises(ConnectionError, match="unreachable"):
        tsattn.tune(
            "seasonal_naive", hourly(), n_trials=1, storage=storage, tracking=uri, verbose=0
        )
    assert not (tmp_path / "optuna.db").exists()  # no study was opened
    with pytest.warns(UserWarning, match="not tracking"):
        result = tsattn.backtest(
            est, hourly(), n_windows=2, tracking=Tracker(uri, timeout=1, on_error="warn")
        )
    assert len(result.metrics) == 4
