"""Frame reshaping helpers (wide to long)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from tsattn._validation import to_pandas_frame

__all__ = ["wide_to_long"]


def wide_to_long(
    df: Any,
    *,
    time_col: str = "date",
    value_cols: Sequence[str] | None = None,
    id_col: str = "unique_id",
    target_col: str = "y",
) -> pd.DataFrame:
    """Turn a one-column-per-series (or per-channel) frame into long format.

    Parameters
    ----------
    df : pandas.DataFrame or polars.DataFrame
        Wide frame, e.g. ETT's ``date, HUFL, HULL, ..., OT``.
    time_col : str
        Name of the time column in ``df``; it becomes ``ds``.
    value_cols : sequence of str, optional
        Columns that become series; default every column but ``time_col``.

    Returns
    -------
    pandas.DataFrame
        Columns ``[id_col, "ds", target_col]``, series in the order of ``value_cols``.
    """
    frame = to_pandas_frame(df)
    if time_col not in frame.columns:
        raise ValueError(
            f"time column {time_col!r} not in the wide frame; columns are {list(frame.columns)}. "
            "Pass time_col=."
        )
    value_cols = (
        [c for c in frame.columns if c != time_col] if value_cols is None else list(value_cols)
    )
    unknown = [c for c in value_cols if c not in frame.columns]
    if unknown:
        raise ValueError(f"value column(s) {unknown} not in the wide frame.")
    if not value_cols:
        raise ValueError("the wide frame has no value columns besides the time column.")
    long = frame.melt(
        id_vars=[time_col], value_vars=value_cols, var_name=id_col, value_name=target_col
    )
    long = long.rename(columns={time_col: "ds"})
    long[id_col] = long[id_col].astype(str)
    return long[[id_col, "ds", target_col]]
