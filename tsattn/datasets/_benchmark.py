"""Loaders for benchmark files read from a data folder (or downloaded once, see _sources).

The multichannel long-horizon files (ETTh1, weather_jena, exchange_rate, trondheim_traffic) are
returned with their values exactly as in the file, one series per channel, because the
published protocols use them as they are. Only ``metro_traffic``, the raw messy UCI file, is
cleaned, through :func:`tsattn.data.check_panel` with every step counted in ``report``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from tsattn.datasets._dataset import Dataset
from tsattn.datasets._domain import TRAFFIC_BOUNDS
from tsattn.datasets._sources import FILES, find_file

__all__ = ["BENCHMARK_LOADERS", "load_metro_traffic"]

PathLike = str | os.PathLike[str] | None

#: Longest run of missing hours metro_traffic keeps (and fills); longer gaps split the series.
METRO_MAX_GAP = 168


def _wide_to_long(path: os.PathLike[str], time_col: str, time_format: str) -> pd.DataFrame:
    """One series per value column: ``unique_id`` = column name, rows grouped by column."""
    wide = pd.read_csv(path, encoding="utf-8")
    ds = pd.to_datetime(wide.pop(time_col), format=time_format).to_numpy("datetime64[ns]")
    values = wide.to_numpy(dtype=np.float64)  # (T, C)
    n_time, n_channels = values.shape
    return pd.DataFrame(
        {
            "unique_id": np.repeat(wide.columns.to_numpy(dtype=object), n_time),
            "ds": np.tile(ds, n_channels),
            "y": values.T.reshape(-1),  # (C * T,) channel by channel
        }
    )


#: name -> (time column, its format, Dataset metadata); ``source`` comes from FILES.
_CHANNEL_SETS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "ETTh1": (
        "date",
        "%Y-%m-%d %H:%M:%S",
        dict(
            freq="h",
            season_length=24,
            horizon=96,
            lookback=96,
            target="transformer loads HUFL ... LULL (unit not stated) and oil temperature OT (°C)",
            description=(
                "ETDataset ETTh1: hourly readings of one electricity transformer, 7 channels "
                "(high/middle/low useful and useless loads, oil temperature OT), 2016-07-01 to "
                "2018-06-26. Raw values; the standard split is by row index (datasets/ETTh1.md)."
            ),
            license="CC BY-ND 4.0",
        ),
    ),
    "weather_jena": (
        "date",
        "%Y-%m-%d %H:%M:%S",
        dict(
            freq="10min",
            season_length=144,
            horizon=96,
            lookback=96,
            target="21 meteorological variables, in the unit each column name gives; OT = CO2 (ppm)",
            description=(
                "TSLib/Autoformer 'Weather': the Max-Planck-Institute for Biogeochemistry "
                "weather station in Jena, 10-minute readings through 2020, 21 channels. Raw "
                "file: it keeps -9999 sentinels (OT, max. PAR, wv), one duplicated timestamp, "
                "one 1h40 gap and three column names with U+FFFD characters "
                "(datasets/weather_jena.md)."
            ),
            license="MPI-BGC Jena weather data terms (unverified); mirror repository MIT",
        ),
    ),
    "exchange_rate": (
        "date",
        "%Y/%m/%d %H:%M",
        dict(
            freq="D",
            season_length=1,
            horizon=96,
            lookback=96,
            target=(
                "exchange rate, USD per unit of currency (0 AUD, 1 GBP, 2 CAD, 3 CHF, 4 CNY, "
                "5 JPY, 6 SGD, OT NZD; inferred from 1990 levels)"
            ),
            description=(
                "LSTNet exchange_rate in TSLib format: daily rates of 8 currencies against the "
                "USD from 1990. The dates are consecutive-day labels added by TSLib; the real "
                "rates are business-daily, so calendar features are meaningless here."
            ),
            license="no licence stated by LSTNet (unverified); mirror repository MIT",
        ),
    ),
    "trondheim_traffic": (
        "Time",
        "%Y-%m-%d %H:%M:%S",
        dict(
            freq="h",
            season_length=24,
            horizon=24,
            lookback=168,
            target="vehicles per hour at a counting station",
            description=(
                "Hourly vehicle counts at 8 counting stations in Trondheim, Norway, 2019-01-01 "
                "to 2020-12-31 (complete hourly grid; two stations have 120+ zero-count hours, "
                "mostly at night)."
            ),
            license="NLOD, Norwegian Public Roads Administration (unverified); repository MIT",
        ),
    ),
}


def _load_channels(name: str, data_dir: PathLike = None) -> Dataset:
    time_col, time_format, meta = _CHANNEL_SETS[name]
    spec = FILES[name]
    df = _wide_to_long(find_file(name, data_dir), time_col, time_format)
    return Dataset(name=name, df=df, source=f"{spec.relpath} from {spec.origin}", **meta)


def load_metro_traffic(data_dir: PathLike = None) -> Dataset:
    """Hourly I-94 traffic volume from the raw UCI file, cleaned with every step counted.

    Steps (all in ``report``): duplicated hours keep their first row; temperatures outside
    220-330 K and rain above 100 mm/h are treated as missing; only the longest span without a
    gap of more than a week (2015-06-11 20:00 onwards, after the 308-day hole) is kept; missing
    hours are inserted and filled forward. ``holiday`` is 1 on every hour of a day the file
    names a holiday (it marks only the day's 00:00 row), else 0.
    """
    from tsattn.data import check_panel  # pulls in tsattn.data; keep the import light

    raw = pd.read_csv(find_file("metro_traffic", data_dir), keep_default_na=False)
    ds = pd.to_datetime(raw["date_time"], format="%Y-%m-%d %H:%M:%S")
    frame = pd.DataFrame(
        {
            "unique_id": "i94_westbound",
            "ds": ds,
            "y": raw["traffic_volume"],
            **{c: raw[c] for c in ("temp", "rain_1h", "snow_1h", "clouds_all")},
        }
    )
    panel = check_panel(
        frame,
        duplicates="first",
        freq="h",
        bounds=TRAFFIC_BOUNDS,
        max_gap=METRO_MAX_GAP,
        reindex=True,
        fill="ffill",
    )
    df, report = panel.to_pandas(), panel.report

    start, end = df["ds"].iloc[0], df["ds"].iloc[-1]
    hours = ds.drop_duplicates().sort_values()
    gaps = hours.diff()
    at = int(np.argmax(gaps.to_numpy()[1:])) + 1
    missing = gaps.iloc[at] // pd.Timedelta("1h") - 1
    report.note(
        f"the file's largest hole: no data between {hours.iloc[at - 1]} and {hours.iloc[at]} "
        f"({missing} missing hours, {missing / 24:.0f} days); max_gap={METRO_MAX_GAP} h keeps "
        f"the longest span without a longer gap, {start} to {end}"
    )

    named = raw["holiday"].ne("None")
    holidays = ds[named].dt.normalize().unique()
    df["holiday"] = df["ds"].dt.normalize().isin(holidays).astype(np.float32)
    at_hours = sorted({f"{h:02d}:00" for h in ds[named].dt.hour})
    report.note(
        f"holiday: the file names a holiday on {int(named.sum())} rows, at {', '.join(at_hours)} "
        f"only; the flag is set on every hour of those {len(holidays)} days "
        f"({int(df['holiday'].sum())} hours in the kept span)"
    )
    return Dataset(
        name="metro_traffic",
        df=df,
        freq="h",
        season_length=24,
        horizon=24,
        lookback=168,
        target="vehicles per hour, I-94 westbound at MnDOT ATR station 301 (Minneapolis-St Paul)",
        description=(
            "The raw UCI Metro Interstate Traffic Volume file, cleaned: de-duplicated hours, "
            "the contiguous span after the 308-day hole, short gaps filled forward, impossible "
            "temperatures and rain treated as missing. Covariates temp (K), rain_1h (mm), "
            "snow_1h (mm), clouds_all (%) are observed weather; holiday (0/1) is known in "
            "advance."
        ),
        source=f"{FILES['metro_traffic'].relpath} from {FILES['metro_traffic'].origin}",
        license="CC BY 4.0 (UCI); mirror repository MIT",
        report=report,
    )


BENCHMARK_LOADERS: dict[str, Callable[..., Dataset]] = {
    **{name: partial(_load_channels, name) for name in _CHANNEL_SETS},
    "metro_traffic": load_metro_traffic,
}
