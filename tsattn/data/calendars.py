"""Trading calendars as frequencies: ``freq="XNYS"`` steps from one exchange session to the next.

A business-day frequency (``"B"``) knows weekends but not exchange holidays: on stock data
every holiday reads as a gap, and a forecast made on the Thursday before Good Friday dates its
second step on the holiday. An exchange's code (ISO 10383 MIC such as ``"XNYS"``, ``"XNAS"``,
``"XLON"``, ``"XTKS"``, or an alias such as ``"NYSE"``) as ``freq`` makes the grid the
exchange's sessions instead, for gap detection, filling and future timestamps alike. The
calendars come from the optional `exchange_calendars <https://github.com/gerrymanoim/exchange_calendars>`_
package (``pip install "tsattn[calendars]"``), imported only when such a frequency is used.

Examples
--------
>>> import pandas as pd
>>> pd.date_range("2024-07-02", periods=3, freq=freq_offset("XNYS")).strftime("%a %d").tolist()
['Tue 02', 'Wed 03', 'Fri 05']
"""

from __future__ import annotations

import functools
import re

import pandas as pd

__all__ = ["exchange_names", "freq_offset", "is_exchange"]

INSTALL_HINT = 'exchange calendars need the optional package: pip install "tsattn[calendars]"'
#: What an exchange code looks like when the calendar package is absent (MIC: 'X' + 3 letters).
_MIC = re.compile(r"^X[A-Z0-9]{3}$")


@functools.cache
def exchange_names() -> frozenset[str]:
    """Codes and aliases of every exchange calendar installed (empty without the package)."""
    try:
        import exchange_calendars
    except ImportError:
        return frozenset()
    return frozenset(exchange_calendars.get_calendar_names(include_aliases=True))


def is_exchange(freq: object) -> bool:
    """Whether ``freq`` names an exchange calendar rather than a pandas alias.

    Raises
    ------
    ImportError
        For a code shaped like an exchange's (``"XNYS"``) while the calendar package is absent.
    """
    if not isinstance(freq, str) or not freq:
        return False
    if freq in exchange_names():
        return True
    if _MIC.match(freq) and not exchange_names():
        raise ImportError(f"freq={freq!r} looks like an exchange code: {INSTALL_HINT}.")
    return False


@functools.cache
def _exchange_day(name: str) -> pd.offsets.CustomBusinessDay:
    import exchange_calendars

    # the session rule holds for any date: weekmask, rule-based holidays and one-off closures
    return exchange_calendars.get_calendar(name).day


def freq_offset(freq: str) -> pd.DateOffset:
    """The pandas offset of a frequency: an exchange's session day, or the pandas alias's offset.

    Raises
    ------
    ValueError
        For a string that is neither a pandas alias nor an installed exchange calendar.
    """
    if is_exchange(freq):
        return _exchange_day(freq)
    try:
        return pd.tseries.frequencies.to_offset(freq)
    except ValueError as err:
        raise ValueError(
            f"freq={freq!r} is not a pandas frequency alias (e.g. 'h', 'D', '15min', 'B') nor an "
            "exchange calendar (e.g. 'XNYS', with the optional tsattn[calendars])."
        ) from err
