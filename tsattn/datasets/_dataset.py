"""The :class:`Dataset` record every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # the import would load tsattn.data (and torch) for an annotation only
    from tsattn.data.panel import ValidationReport

__all__ = ["Dataset"]

#: Columns every ``Dataset.df`` starts with; any further column is a numeric covariate.
FRAME_COLUMNS = ("unique_id", "ds", "y")


@dataclass
class Dataset:
    """A real dataset in long format plus what a forecaster needs to know about it.

    Attributes
    ----------
    name : str
        Registry name, as passed to :func:`tsattn.datasets.load`.
    df : pandas.DataFrame
        Long frame ``unique_id`` (str), ``ds`` (datetime64[ns]), ``y`` and numeric covariates,
        grouped by series and sorted by time within each series.
    freq : str
        Pandas offset alias of ``ds`` (``"B"``, ``"D"``, ``"h"``, ``"10min"``).
    season_length : int
        Main seasonal period in steps of ``freq`` (1 when there is none).
    horizon, lookback : int
        Suggested forecast horizon and input window, in steps of ``freq``.
    target : str
        What ``y`` measures, with its unit.
    description : str
        What the series are and what the loader did to the file(s).
    source : str
        Where the bytes come from (package file or URL) and the upstream owner.
    license : str
        Licence of the data as stated by the source; "(unverified)" where the upstream terms
        are not stated there.
    report : ValidationReport or None
        What :func:`tsattn.data.check_panel` found and changed when the loader validated or
        cleaned the data; ``None`` for benchmark files returned as they are.
    """

    name: str
    df: pd.DataFrame = field(repr=False)
    freq: str
    season_length: int
    horizon: int
    lookback: int
    target: str
    description: str = field(repr=False)
    source: str = field(repr=False)
    license: str
    report: ValidationReport | None = field(default=None, repr=False)

    @property
    def ids(self) -> list[str]:
        """Series identifiers in the order they appear in ``df``."""
        return list(pd.unique(self.df["unique_id"]))

    @property
    def covariates(self) -> list[str]:
        """Names of the covariate columns of ``df`` (everything after ``unique_id, ds, y``)."""
        return [c for c in self.df.columns if c not in FRAME_COLUMNS]

    def __str__(self) -> str:
        ds = self.df["ds"]
        return (
            f"{self.name}: {len(self.ids)} series, {len(self.df)} rows, freq {self.freq!r}, "
            f"{ds.min()} -> {ds.max()}; y = {self.target}; covariates {self.covariates}"
        )
