"""Batch forecast jobs: real files, a real SQLite/PostgreSQL database, a real killed process."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tsattn
from tsattn.batch import (
    ConfigError,
    DataError,
    ModelNotFound,
    WriteError,
    load_config,
    run_job,
)
from tsattn.cli import main

HORIZON = 12


def panel(n_series: int = 20, length: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(length)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": f"s{k:03d}",
                    "ds": pd.date_range("2024-01-01", periods=length, freq="h"),
                    "y": 50 + 10 * np.sin(2 * np.pi * (t + k) / 24) + rng.normal(size=length),
                }
            )
            for k in range(n_series)
        ],
        ignore_index=True,
    )


def write_job(folder: Path, **sections: dict) -> Path:
    """A job config in ``folder`` from ``{section: {key: value}}`` (TOML written by hand)."""

    def value(v):
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"
        return repr(v)

    text = "".join(
        f"[{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in keys.items()) + "\n"
        for name, keys in sections.items()
    )
    path = folder / "job.toml"
    path.write_text(text)
    return path


@pytest.fixture
def job(tmp_path):
    """A Parquet input of 20 series, a saved seasonal-naive model, and a job writing Parquet."""
    data = panel()
    (tmp_path / "data").mkdir()
    data.to_parquet(tmp_path / "data" / "series.parquet", index=False)
    tsattn.SeasonalNaiveForecaster(horizon=HORIZON).fit(data).save(tmp_path / "model")
    sections = {
        "job": {"name": "test", "chunk_size": 7, "max_skipped": 0.2},
        "input": {"path": "data/*.parquet"},
        "model": {"uri": "model"},
        "output": {"path": "out"},
    }
    return tmp_path, data, sections


def partitions(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_job_forecasts_every_series_and_records_the_run(job):
    folder, data, sections = job
    record = run_job(write_job(folder, **sections), quiet=True)
    (part,) = partitions(folder / "out")
    assert part == "as_of=2024-01-09T070000"
    out = pd.read_parquet(folder / "out" / part)
    assert len(out) == 20 * HORIZON and out["unique_id"].nunique() == 20
    assert list(out.columns[:3]) == ["unique_id", "ds", "y_pred"]
    expected = tsattn.SeasonalNaiveForecaster(horizon=HORIZON).fit(data).predict()
    merged = out.merge(expected, on=["unique_id", "ds"], suffixes=("", "_direct"))
    np.testing.assert_array_equal(merged["y_pred"], merged["y_pred_direct"])
    (logged,) = read_log(folder / "runs" / "job.jsonl")
    assert logged["status"] == "success" and logged["exit_code"] == 0
    assert logged["rows_in"] == 4000 and logged["series_forecast"] == 20
    assert logged["rows_out"] == 240 and logged["model"]["class"] == "SeasonalNaiveForecaster"
    assert set(logged["seconds"]) >= {"read", "model", "forecast", "write", "total"}
    assert record.rows_out == 240


def test_as_of_ignores_later_rows_and_reruns_replace_their_own_output(job):
    folder, data, sections = job
    config = write_job(folder, **sections)
    early = run_job(config, as_of="2024-01-05T00:00", quiet=True)
    assert early.rows_after_as_of == 20 * (200 - 97)
    first = pd.read_parquet(folder / "out" / "as_of=2024-01-05T000000")
    assert first["ds"].min() == pd.Timestamp("2024-01-05T01:00")
    # a past as-of reproduces what the model says from the data up to then
    history = data[data["ds"] <= "2024-01-05T00:00"]
    direct = tsattn.load(folder / "model").predict(history)
    np.testing.assert_array_equal(first["y_pred"], direct["y_pred"])
    run_job(config, as_of="2024-01-05T00:00", quiet=True)  # the same as-of again: replaced
    again = pd.read_parquet(folder / "out" / "as_of=2024-01-05T000000")
    pd.testing.assert_frame_equal(first, again)
    run_job(config, quiet=True)  # another as-of: both stay
    assert partitions(folder / "out") == ["as_of=2024-01-05T000000", "as_of=2024-01-09T070000"]
    everything = pd.read_parquet(folder / "out")
    assert everything["as_of"].nunique() == 2 and len(everything) == 2 * 240


def test_bad_series_are_skipped_with_reasons_until_the_threshold(job):
    folder, data, sections = job
    bad = data.copy()
    bad.loc[(bad["unique_id"] == "s003") & (bad["ds"] > "2024-01-09T00:00"), "y"] = np.nan
    short = pd.DataFrame(
        {"unique_id": "tiny", "ds": pd.date_range("2024-01-09", periods=5, freq="h"), "y": 1.0}
    )
    pd.concat([bad, short]).to_parquet(folder / "data" / "series.parquet", index=False)
    record = run_job(write_job(folder, **sections), quiet=True)
    assert record.series_in == 21 and record.series_forecast == 19
    assert set(record.skipped) == {"s003", "tiny"}
    assert "needs 24" in record.skipped["tiny"]
    assert "s003" in record.skipped["s003"] and "NaN" in record.skipped["s003"]
    # over the threshold: nothing is written, the previous output stays
    before = pd.read_parquet(folder / "out")
    strict = {**sections, "job": {**sections["job"], "max_skipped": 0.05}}
    with pytest.raises(DataError, match=r"2 of 21 series \(9.5%\) were skipped"):
        run_job(write_job(folder, **strict), quiet=True)
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "out"), before)
    assert read_log(folder / "runs" / "job.jsonl")[-1]["exit_code"] == 3


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"job": {"chunk_sise": 5}}, "unknown key job.chunk_sise; did you mean job.chunk_size?"),
        ({"outptu": {"path": "x"}}, r"unknown section \[outptu\]; did you mean output?"),
        ({"model": {"uri": "model", "refit": "sometimes"}}, "model.refit = 'sometimes'"),
        ({"job": {"max_skipped": 2}}, "job.max_skipped = 2 is invalid"),
        ({"input": {"path": "a.csv", "dataset": "traffic"}}, "exactly one of path"),
        ({"output": {"format": "xlsx", "path": "o"}}, "output.format = 'xlsx' is invalid"),
    ],
)
def test_config_errors_name_the_key(job, edit, message):
    folder, _, sections = job
    changed = {**sections, **{k: {**sections.get(k, {}), **v} for k, v in edit.items()}}
    if "outptu" in edit:
        changed.pop("outptu")
        changed["outptu"] = edit["outptu"]
    with pytest.raises(ConfigError, match=message):
        load_config(write_job(folder, **changed))


def test_missing_inputs_models_and_unwritable_outputs_have_their_exit_codes(job, capsys):
    folder, _, sections = job
    nothing = {**sections, "input": {"path": "data/*.csv"}}
    with pytest.raises(DataError, match="matches no file"):
        run_job(write_job(folder, **nothing), quiet=True)
    assert main(["batch", "run", str(folder / "job.toml"), "-q"]) == 3
    missing = {**sections, "model": {"uri": "no-model-here"}}
    with pytest.raises(ModelNotFound, match="holds no saved model"):
        run_job(write_job(folder, **missing), quiet=True)
    assert main(["batch", "run", str(folder / "job.toml"), "-q"]) == 4
    registry = {
        **sections,
        "model": {"uri": "models:/ghost@champion", "tracking_uri": str(folder / "store")},
    }
    with pytest.raises(ModelNotFound, match="registered model 'ghost' does not exist"):
        run_job(write_job(folder, **registry), quiet=True)
    (folder / "a-file").write_text("")
    unwritable = {**sections, "output": {"path": "a-file/out"}}
    with pytest.raises(WriteError, match="is not writable"):
        run_job(write_job(folder, **unwritable), quiet=True)
    assert main(["batch", "run", str(folder / "job.toml"), "-q"]) == 5
    assert main(["batch", "run", str(folder / "nope.toml")]) == 2
    assert "no such job config" in capsys.readouterr().err


def test_a_failed_write_leaves_the_previous_output_and_no_temporary_files(job, monkeypatch):
    folder, _, sections = job
    config = write_job(folder, **sections)
    run_job(config, quiet=True)
    before = pd.read_parquet(folder / "out")
    calls = []
    real = pd.DataFrame.to_parquet

    def disk_full(self, path, *args, **kwargs):  # the second chunk hits a full disk
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", disk_full)
    with pytest.raises(WriteError, match="No space left on device"):
        run_job(config, quiet=True)
    monkeypatch.undo()
    pd.testing.assert_frame_equal(pd.read_parquet(folder / "out"), before)
    assert [p.name for p in (folder / "out").iterdir()] == ["as_of=2024-01-09T070000"]
    assert read_log(folder / "runs" / "job.jsonl")[-1]["exit_code"] == 5


@pytest.mark.slow
def test_a_job_killed_while_writing_leaves_the_previous_output_and_reruns(tmp_path):
    data = panel(n_series=600, length=120, seed=2)
    (tmp_path / "data").mkdir()
    data.to_parquet(tmp_path / "data" / "series.parquet", index=False)
    tsattn.SeasonalNaiveForecaster(horizon=HORIZON).fit(data).save(tmp_path / "model")
    config = write_job(
        tmp_path,
        job={"name": "kill", "chunk_size": 2},
        input={"path": "data/series.parquet"},
        model={"uri": "model"},
        output={"path": "out"},
    )
    command = [sys.executable, "-m", "tsattn.cli", "batch", "run", str(config), "-q"]
    subprocess.run(command, check=True, capture_output=True)
    final = tmp_path / "out" / "as_of=2024-01-05T230000"
    before = pd.read_parquet(final)
    worker = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # kill it once a few chunks sit in its temporary folder
        tmp = [p for p in (tmp_path / "out").glob(".tmp-*") if len(list(p.glob("*"))) >= 5]
        if tmp or worker.poll() is not None:
            break
        time.sleep(0.01)
    assert worker.poll() is None, "the job finished before it could be killed"
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait()
    assert list((tmp_path / "out").glob(".tmp-*")), "killed while writing its chunks"
    pd.testing.assert_frame_equal(pd.read_parquet(final), before)  # intact and readable
    assert pd.read_parquet(tmp_path / "out")["as_of"].nunique() == 1  # readers see one output
    subprocess.run(command, check=True, capture_output=True)  # the rerun completes
    pd.testing.assert_frame_equal(pd.read_parquet(final), before)  # with the same values
    assert not list((tmp_path / "out").glob(".*"))  # and clears what the killed run left


def test_csv_output_is_one_file_per_as_of(job):
    folder, _, sections = job
    csv = {**sections, "output": {"path": "out", "format": "csv"}}
    run_job(write_job(folder, **csv), quiet=True)
    run_job(write_job(folder, **csv), as_of="2024-01-08T00:00", quiet=True)
    files = sorted(p.name for p in (folder / "out").iterdir())
    assert files == ["as_of=2024-01-08T000000.csv", "as_of=2024-01-09T070000.csv"]
    assert len(pd.read_csv(folder / "out" / files[0])) == 240


def _sql_round_trip(folder: Path, sections: dict, url: str, data: pd.DataFrame) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    data.to_sql("history", engine, if_exists="replace", index=False)
    job = {
        **sections,
        "input": {"sql": "SELECT unique_id, ds, y FROM history", "url": url},
        "output": {"url": url, "table": "forecasts"},
    }
    config = write_job(folder, **job)
    run_job(config, quiet=True)
    run_job(config, quiet=True)  # the same as-of: replaced in one transaction, not appended
    run_job(config, as_of="2024-01-08T00:00", quiet=True)
    table = pd.read_sql("SELECT * FROM forecasts", engine)
    engine.dispose()
    assert len(table) == 2 * 240
    assert sorted(pd.to_datetime(table["as_of"]).unique()) == [
        pd.Timestamp("2024-01-08"),
        pd.Timestamp("2024-01-09T07:00"),
    ]
    direct = tsattn.load(folder / "model").predict(data)
    latest = table[pd.to_datetime(table["as_of"]) == pd.Timestamp("2024-01-09T07:00")]
    np.testing.assert_allclose(latest["y_pred"].to_numpy(), direct["y_pred"].to_numpy())


def test_sqlite_in_and_out(job):
    folder, data, sections = job
    _sql_round_trip(folder, sections, f"sqlite:///{folder / 'db.sqlite'}", data)


def test_postgresql_in_and_out(job, postgres_url):
    folder, data, sections = job
    _sql_round_trip(folder, sections, postgres_url, data)


def test_a_registered_model_and_a_refit_policy(job):
    folder, _, sections = job
    from tsattn.tracking import Tracker, log_model, set_alias

    store = Tracker(folder / "store")
    est = tsattn.load(folder / "model")
    info = log_model(est, "model", registered_model_name="batch", tracking=store)
    set_alias("batch", "champion", info.registered_model_version, tracking=store)
    registry = {**sections, "model": {"uri": "models:/batch@champion", "tracking_uri": store.uri}}
    record = run_job(write_job(folder, **registry), quiet=True)
    assert record.model["version"] == "1" and record.series_forecast == 20
    refit = {
        **sections,
        "model": {
            "uri": "fitted",
            "estimator": "seasonal_naive",
            "refit": "every 2 runs",
            "params": {"horizon": HORIZON},
        },
    }
    config = write_job(folder, **refit)
    flags = [run_job(config, quiet=True).model["refit"] for _ in range(5)]
    assert flags == [True, False, True, False, True]  # fitted on the first run, then every 2nd


@pytest.mark.slow
def test_spark_and_local_engines_give_the_same_forecasts(job, monkeypatch):
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install 'tsattn[spark]')")
    import shutil

    if shutil.which("java") is None:
        pytest.skip("Spark needs a Java runtime (java not on PATH; Debian: openjdk-17-jre)")
    folder, data, sections = job
    bad = data.copy()
    bad.loc[(bad["unique_id"] == "s005") & (bad["ds"] > "2024-01-09T00:00"), "y"] = np.nan
    bad.to_parquet(folder / "data" / "series.parquet", index=False)
    est = tsattn.LinearForecaster(horizon=HORIZON, lookback=48, max_epochs=2, random_state=0)
    est.fit(data).save(folder / "model")
    monkeypatch.setenv("SPARK_MASTER", "local[2]")
    local = run_job(write_job(folder, **sections), quiet=True)
    on_spark = {**sections, "output": {"path": "spark"}}
    spark = run_job(write_job(folder, **on_spark), quiet=True, engine="spark")
    assert spark.series_forecast == local.series_forecast == 19
    assert spark.skipped.keys() == local.skipped.keys() == {"s005"}
    a = pd.read_parquet(folder / "out").sort_values(["unique_id", "ds"]).reset_index(drop=True)
    b = pd.read_parquet(folder / "spark").sort_values(["unique_id", "ds"]).reset_index(drop=True)
    assert len(a) == len(b) == 19 * HORIZON
    assert (a["unique_id"] == b["unique_id"]).all() and (a["ds"] == b["ds"]).all()
    np.testing.assert_allclose(b["y_pred"], a["y_pred"], rtol=1e-6, atol=1e-6)


PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"


@pytest.mark.parametrize("name", ["traffic_hourly", "weather_daily", "stock_daily"])
def test_the_shipped_pipelines_are_valid(name):
    cfg = load_config(PIPELINES / f"{name}.toml")
    assert cfg.name == name and cfg.estimator is not None and "dataset" in cfg.input


@pytest.mark.parametrize("name", ["stock_daily", "weather_daily"])
def test_a_shipped_pipeline_runs_on_a_fresh_checkout(tmp_path, name):
    (tmp_path / "pipelines").mkdir()
    config = tmp_path / "pipelines" / f"{name}.toml"
    config.write_text((PIPELINES / f"{name}.toml").read_text())
    assert main(["batch", "run", str(config), "-q"]) == 0  # fits the model on its first run
    (logged,) = read_log(tmp_path / "runs" / f"{name}.jsonl")
    assert logged["model"]["refit"] is True and logged["series_skipped"] == 0
    assert logged["series_forecast"] == logged["series_in"] > 0
    assert logged["backtest"]["series"] == logged["series_in"]
    assert (tmp_path / "models" / name / "config.json").is_file()
    assert any((tmp_path / "forecasts" / name).iterdir())


def test_a_bad_as_of_is_a_config_error(job):
    folder, _, sections = job
    assert (
        main(["batch", "run", str(write_job(folder, **sections)), "--as-of", "29/11/2026 6h"]) == 2
    )


def test_a_naive_as_of_is_read_in_the_zone_of_aware_data(tmp_path):
    times = pd.date_range("2024-03-01", periods=300, freq="h", tz="Europe/Berlin")
    df = pd.DataFrame({"unique_id": "a", "ds": times, "y": np.arange(300.0) % 24})
    df.to_parquet(tmp_path / "x.parquet")
    tsattn.SeasonalNaiveForecaster(horizon=6).fit(df).save(tmp_path / "m")
    config = write_job(
        tmp_path, input={"path": "x.parquet"}, model={"uri": "m"}, output={"path": "out"}
    )
    record = run_job(config, as_of="2024-03-10T12:00", quiet=True)
    assert record.as_of == "2024-03-10T12:00:00+01:00"
    assert record.rows_after_as_of == int((times > "2024-03-10T12:00+01:00").sum())
    out = pd.read_parquet(tmp_path / "out")
    assert out["ds"].iloc[0] == pd.Timestamp("2024-03-10T13:00", tz="Europe/Berlin")
    assert list(out["y_pred"]) == [13.0, 14.0, 15.0, 16.0, 17.0, 18.0]


def test_a_refit_on_an_exchange_calendar_forecasts_sessions_only(tmp_path):
    pytest.importorskip("exchange_calendars", reason="the optional tsattn[calendars] extra")
    days = pd.bdate_range("2024-06-03", "2024-07-03")
    days = days[days != "2024-06-19"]  # Juneteenth: the NYSE is closed
    data = pd.DataFrame({"unique_id": "a", "ds": days, "y": np.arange(len(days), dtype=float)})
    (tmp_path / "data").mkdir()
    data.to_parquet(tmp_path / "data" / "prices.parquet", index=False)
    sections = {
        "job": {"name": "prices"},
        "input": {"path": "data/*.parquet", "freq": "XNYS"},
        "model": {"uri": "fitted", "estimator": "naive", "params": {"horizon": 3}},
        "output": {"path": "out"},
    }
    record = run_job(write_job(tmp_path, **sections), quiet=True)
    assert record.model["refit"] is True
    out = pd.read_parquet(tmp_path / "out")
    assert list(out["ds"]) == list(pd.to_datetime(["2024-07-05", "2024-07-08", "2024-07-09"]))
    assert tsattn.load(tmp_path / "fitted").freq_ == "XNYS"
