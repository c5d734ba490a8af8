"""Exchange trading calendars as frequencies (tsattn.data.calendars, fit(freq="XNYS"))."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest

import tsattn
from tsattn.cli import main as cli_main
from tsattn.data.calendars import freq_offset, is_exchange
from tsattn.data.timestamps import season_length

pytest.importorskip("exchange_calendars", reason="the optional tsattn[calendars] extra")

#: NYSE full-day closures of 2024, from the exchange's published holiday list (not the library).
NYSE_2024 = pd.to_datetime(
    [
        "2024-01-01",
        "2024-01-15",
        "2024-02-19",
        "2024-03-29",
        "2024-05-27",
        "2024-06-19",
        "2024-07-04",
        "2024-09-02",
        "2024-11-28",
        "2024-12-25",
    ]
)


def sessions_2024() -> pd.DatetimeIndex:
    days = pd.bdate_range("2024-01-02", "2024-12-31")
    return days[~days.isin(NYSE_2024)]


def prices(days: pd.DatetimeIndex, ids=("A", "B")) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.concat(
        pd.DataFrame({"unique_id": uid, "ds": days, "y": 100 + rng.normal(size=len(days)).cumsum()})
        for uid in ids
    )


def test_the_offset_steps_over_weekends_and_holidays():
    days = pd.date_range("2024-01-02", "2024-12-31", freq=freq_offset("XNYS"))
    assert days.equals(sessions_2024())
    assert freq_offset("NYSE") == freq_offset("XNYS")  # aliases work too
    assert season_length("XNYS") == 5


def test_pandas_aliases_are_not_exchanges():
    assert not is_exchange("h") and not is_exchange("B") and not is_exchange(24)
    with pytest.raises(ValueError, match="nor an exchange calendar"):
        freq_offset("XZZZ")


def test_fit_on_sessions_has_no_gaps_and_forecasts_on_sessions(tmp_path):
    df = prices(sessions_2024()[sessions_2024() <= "2024-03-27"])  # last: Wed before Good Friday
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no gap warning: the holidays are not gaps
        est = tsattn.SeasonalNaiveForecaster(horizon=3).fit(df, freq="XNYS")
    assert est.freq_ == "XNYS" and est.season_length_ == 5
    assert est.validation_report_.counts["missing_timestamps"].sum() == 0
    expected = pd.to_datetime(["2024-03-28", "2024-04-01", "2024-04-02"])  # skips Fri 29 Mar
    forecast = est.predict()
    assert (forecast.groupby("unique_id")["ds"].apply(list) == [list(expected)] * 2).all()
    est.save(tmp_path / "m")
    assert tsattn.load(tmp_path / "m").predict()["ds"].equals(forecast["ds"])


def test_business_days_read_holidays_as_gaps_and_the_warning_names_the_fix():
    df = prices(sessions_2024())
    with pytest.warns(UserWarning, match=r"gap.*freq='XNYS'"):
        est = tsattn.NaiveForecaster(horizon=2).fit(df)
    assert est.freq_ == "B"
    assert est.validation_report_.counts["missing_timestamps"].sum() == 2 * 9  # Jan 1: before


def test_a_network_trains_across_holidays():
    df = prices(sessions_2024())
    est = tsattn.LinearForecaster(horizon=5, lookback=20, max_epochs=1, verbose=0, random_state=0)
    est.fit(df, freq="XNYS")
    dates = est.predict()["ds"].iloc[:5]
    assert list(dates) == list(
        pd.to_datetime(["2025-01-02", *pd.bdate_range("2025-01-03", periods=4)])
    )


def test_cli_freq(tmp_path, capsys):
    df = prices(sessions_2024()[sessions_2024() <= "2024-07-03"], ids=("A",))
    data = tmp_path / "prices.csv"
    df.to_csv(data, index=False)
    model = tmp_path / "model"
    args = ["fit", "--data", str(data), "--model", "naive", "--horizon", "2"]
    assert cli_main([*args, "--freq", "XNYS", "--out", str(model)]) == 0
    assert cli_main(["predict", "--model-dir", str(model), "--out", "-"]) == 0
    out = capsys.readouterr().out
    assert "2024-07-05" in out and "2024-07-04" not in out


def test_an_exchange_code_without_the_package_says_how_to_install():
    code = (
        "import sys; sys.modules['exchange_calendars'] = None\n"
        "from tsattn.data.calendars import freq_offset\n"
        "try:\n    freq_offset('XNYS')\nexcept ImportError as err:\n    print(err)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert 'pip install "tsattn[calendars]"' in out.stdout
