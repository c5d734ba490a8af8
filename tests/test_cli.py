"""The console script end to end, in subprocesses, on real files."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import tsattn as tsattn_lib


def tsattn(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "tsattn.cli", *args], capture_output=True, text=True, timeout=300
    )
    if check and done.returncode != 0:
        pytest.fail(f"tsattn {' '.join(args)} failed:\n{done.stderr}")
    return done


@pytest.fixture
def data(tmp_path):
    t = np.arange(200)
    df = pd.DataFrame(
        {
            "unique_id": np.repeat(["a", "b"], 200),
            "ds": np.tile(pd.date_range("2024-01-01", periods=200, freq="h").astype(str), 2),
            "y": np.concatenate([np.sin(t / 4), 3 + np.cos(t / 5)]),
        }
    )
    path = tmp_path / "train.csv"
    df.to_csv(path, index=False)
    return path


def test_fit_predict_backtest_round_trip(tmp_path, data):
    out = tsattn(
        "fit",
        "--data",
        str(data),
        "--model",
        "linear",
        "--horizon",
        "6",
        "--lookback",
        "24",
        "--param",
        "max_epochs=2",
        "--out",
        str(tmp_path / "model"),
    )
    assert "saved LinearForecaster" in out.stdout
    tsattn("predict", "--model-dir", str(tmp_path / "model"), "--out", str(tmp_path / "fc.parquet"))
    fc = pd.read_parquet(tmp_path / "fc.parquet")
    assert list(fc.columns) == ["unique_id", "ds", "y_pred"] and len(fc) == 12
    assert fc["ds"].iloc[0] == pd.Timestamp("2024-01-09 08:00")
    tsattn(
        "predict",
        "--model-dir",
        str(tmp_path / "model"),
        "--data",
        str(data),
        "--out",
        str(tmp_path / "fc.csv"),
    )
    assert len(pd.read_csv(tmp_path / "fc.csv")) == 12
    bt = tsattn(
        "backtest",
        "--data",
        str(data),
        "--model",
        "seasonal_naive",
        "--horizon",
        "6",
        "--param",
        "season_length=12",
        "--n-windows",
        "3",
        "--out",
        str(tmp_path / "bt.csv"),
    )
    assert "mase" in bt.stdout
    assert len(pd.read_csv(tmp_path / "bt.csv")) == 2 * 3 * 6
    assert len(pd.read_csv(tmp_path / "bt_metrics.csv")) == 2 * 3


def test_cli_errors_are_one_readable_line(tmp_path, data):
    missing = tsattn(
        "fit",
        "--data",
        str(tmp_path / "nope.csv"),
        "--model",
        "naive",
        "--horizon",
        "3",
        "--out",
        str(tmp_path / "m"),
        check=False,
    )
    assert missing.returncode == 2 and "nope.csv: no such file" in missing.stderr
    bad_param = tsattn(
        "fit",
        "--data",
        str(data),
        "--model",
        "naive",
        "--horizon",
        "3",
        "--param",
        "hidden=3",
        "--out",
        str(tmp_path / "m"),
        check=False,
    )
    assert bad_param.returncode == 2 and "has no parameter(s) ['hidden']" in bad_param.stderr
    bad_suffix = tsattn(
        "predict", "--model-dir", str(tmp_path), "--out", str(tmp_path / "x.txt"), check=False
    )
    assert bad_suffix.returncode == 2 and "no config.json" in bad_suffix.stderr
    assert "Traceback" not in missing.stderr + bad_param.stderr + bad_suffix.stderr


def test_help_texts():
    for command in ("fit", "predict", "backtest", "demo"):
        assert "usage: tsattn " + command in tsattn(command, "--help").stdout


def test_daily_csv_with_dst_offsets_and_day_first_dates(tmp_path):
    """Local-midnight data written with +01:00 / +02:00 offsets, and dd/mm/yyyy text."""
    t = pd.date_range("2024-03-20", periods=30, freq="D", tz="Europe/Paris")
    offsets = tmp_path / "offsets.csv"
    pd.DataFrame({"ds": [ts.isoformat() for ts in t], "y": np.arange(30.0)}).to_csv(
        offsets, index=False
    )
    tsattn(
        "fit",
        "--data",
        str(offsets),
        "--out",
        str(tmp_path / "m1"),
        "--model",
        "naive",
        "--horizon",
        "2",
    )
    tsattn("predict", "--model-dir", str(tmp_path / "m1"), "--out", str(tmp_path / "f1.csv"))
    assert pd.read_csv(tmp_path / "f1.csv")["ds"].tolist() == [
        "2024-04-19 00:00:00+02:00",
        "2024-04-20 00:00:00+02:00",
    ]
    day_first = tmp_path / "day_first.csv"
    text = pd.date_range("2024-01-25", periods=30, freq="D").strftime("%d/%m/%Y")
    pd.DataFrame({"ds": text, "y": np.arange(30.0)}).to_csv(day_first, index=False)
    args = ["--model", "naive", "--horizon", "2", "--out", str(tmp_path / "m2")]
    failed = tsattn("fit", "--data", str(day_first), *args, check=False)
    assert failed.returncode == 2
    assert "first offending value '25/01/2024' (row 0)" in failed.stderr
    assert "--time-format" in failed.stderr and "time_format" not in failed.stderr
    tsattn("fit", "--data", str(day_first), *args, "--time-format", "%d/%m/%Y")
    tsattn(
        "predict",
        "--model-dir",
        str(tmp_path / "m2"),
        "--data",
        str(day_first),
        "--out",
        str(tmp_path / "f2.csv"),
    )
    assert pd.read_csv(tmp_path / "f2.csv")["ds"].tolist() == ["2024-02-24", "2024-02-25"]


def test_tune_help_documents_distributed_use_and_exit_codes():
    help_text = tsattn("tune", "--help").stdout
    for text in ("--storage", "--study-name", "--n-trials", "--heartbeat-interval", "exit codes"):
        assert text in help_text, text
    assert "postgresql+psycopg://" in help_text and "journal:PATH" in help_text


def test_version_verbose_after_the_command_and_csv_on_stdout(tmp_path, data):
    from tsattn import __version__

    assert tsattn("--version").stdout.strip() == f"tsattn {__version__}"
    model = tmp_path / "m"
    fit = tsattn("fit", "--data", str(data), "--model", "naive", "--horizon", "3", "--out",
                 str(model), "-v")  # fmt: skip
    assert "saved NaiveForecaster" in fit.stdout
    out = tsattn("predict", "--model-dir", str(model), "--out", "-")
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "unique_id,ds,y_pred" and len(lines) == 1 + 2 * 3
    assert "wrote 6 forecast rows to standard output" in out.stderr


def test_datasets_lists_frequency_size_and_where_the_data_comes_from(monkeypatch):
    monkeypatch.delenv("TSATTN_DATA", raising=False)
    out = tsattn("datasets").stdout.splitlines()
    rows = {line.split()[0]: line for line in out[1:]}
    assert out[0].split() == ["name", "freq", "rows", "series", "source"]
    assert rows["traffic"].split()[1:4] == ["h", "17,520", "1"]
    assert "built in" in rows["stock"] and "set TSATTN_DATA" in rows["ETTh1"]


def test_wide_files_one_season_length_and_errors_in_flags(tmp_path):
    t = pd.date_range("2024-01-01", periods=300, freq="h")
    wide = pd.DataFrame(
        {"ds": t.astype(str), "a": np.sin(np.arange(300) / 4), "b": 2 + np.cos(np.arange(300) / 5)}
    )
    path = tmp_path / "wide.csv"
    wide.to_csv(path, index=False)
    out = tmp_path / "bt.csv"
    tsattn("backtest", "--data", str(path), "--wide", "--model", "seasonal_naive", "--horizon",
           "6", "--season-length", "12", "--n-windows", "2", "--out", str(out))  # fmt: skip
    forecasts = pd.read_csv(out)
    assert sorted(forecasts["unique_id"].unique()) == ["a", "b"] and len(forecasts) == 2 * 2 * 6
    # the model's season is 12 too: its forecast repeats the 12 steps before each cutoff
    long = wide.melt(id_vars="ds", var_name="unique_id", value_name="y")
    expected = tsattn_lib.backtest(
        tsattn_lib.SeasonalNaiveForecaster(6, season_length=12), long, n_windows=2
    ).forecasts
    np.testing.assert_allclose(forecasts["y_pred"], expected["y_pred"])
    bad = tsattn("fit", "--data", str(path), "--wide", "--model", "naive", "--horizon", "3",
                 "--out", str(tmp_path / "m"), "--time-format", "%d/%m/%Y", check=False)  # fmt: skip
    assert bad.returncode == 2
    assert "Pass --time-format with its strftime format" in bad.stderr
    assert "time_format" not in bad.stderr


def test_tune_tries_the_defaults_first_unless_told_not_to(tmp_path, data):
    import optuna

    tiny = ["--model", "linear", "--horizon", "6", "--lookback", "24", "--param", "max_epochs=1"]
    firsts = []
    for flag in ([], ["--no-default-trial"]):
        storage = f"sqlite:///{tmp_path / f'study{len(firsts)}.db'}"
        tsattn("tune", "--data", str(data), *tiny, "--n-trials", "2", "--no-refit",
               "--storage", storage, "--out", str(tmp_path / "out"), "-q", *flag)  # fmt: skip
        study = optuna.load_study(study_name="tsattn-linear", storage=storage)
        assert len(study.trials) == 2
        firsts.append(study.trials[0])
    with_defaults, without = firsts
    assert with_defaults.user_attrs.get("defaults") is True
    assert with_defaults.params == {
        "learning_rate": 1e-3,
        "batch_size": 256,
        "dropout": 0.0,
        "kernel_size": 25,
    }
    assert "defaults" not in without.user_attrs and without.params != with_defaults.params
