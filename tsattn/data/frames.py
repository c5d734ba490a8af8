"""The frame edge: pandas or polars in, the same kind out, and the roles of the columns.

Everything user-facing takes a :data:`FrameLike` (a pandas or polars ``DataFrame`` in long
format); the core works on numpy arrays in between. :class:`ColumnRoles` names which column is
the id, the time, the target and each covariate, once for ``fit``, ``backtest`` and the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import pandas as pd

from tsattn.data.timestamps import local_time, parse_time

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "ColumnRoles",
    "FrameLike",
    "as_frame_like",
    "is_polars",
    "series_frame",
    "to_pandas_frame",
    "wide_to_long",
]

#: A long-format frame: ``pandas.DataFrame`` or ``polars.DataFrame``.
FrameLike: TypeAlias = "pd.DataFrame | pl.DataFrame"


def is_polars(df: Any) -> bool:
    """True for a polars object (checked by module name, so polars need not be imported)."""
    return type(df).__module__.split(".")[0] == "polars"


def to_pandas_frame(df: Any, what: str = "df") -> pd.DataFrame:
    """Accept a pandas or polars DataFrame; anything else is a ``TypeError``."""
    if isinstance(df, pd.DataFrame):
        return df
    if is_polars(df) and type(df).__name__ == "DataFrame":
        return df.to_pandas()
    if is_polars(df) and type(df).__name__ == "LazyFrame":
        raise TypeError(f"{what} is a polars LazyFrame; call .collect() first and pass the result.")
    raise TypeError(
        f"{what} must be a pandas or polars DataFrame in long format, got {type(df).__name__}."
    )


def as_frame_like(result: pd.DataFrame, polars: bool) -> FrameLike:
    """``result`` as a polars frame when ``polars`` is true, else unchanged."""
    if polars:
        import polars as pl

        return pl.from_pandas(result)
    return result


@dataclass(frozen=True)
class ColumnRoles:
    """Which column plays which role in a long frame.

    Parameters
    ----------
    id, time, target : str
        Series id (optional in the frame: one series when absent), timestamps, values.
    past : list of str
        Covariates observed only up to the present; shown to a model over the lookback.
    future : list of str
        Covariates known in advance; ``predict`` then needs them for the horizon.
    static : list of str
        Covariates constant within each series.
    time_format : str, optional
        strftime format of string timestamps (default ISO 8601).
    freq : str or int, optional
        Frequency of the timestamps (pandas alias, exchange code such as ``"XNYS"``, or integer
        step); None infers it from the data.
    """

    id: str = "unique_id"
    time: str = "ds"
    target: str = "y"
    past: list[str] = field(default_factory=list)
    future: list[str] = field(default_factory=list)
    static: list[str] = field(default_factory=list)
    time_format: str | None = None
    freq: str | int | None = None

    def __post_init__(self) -> None:
        for role in ("past", "future", "static"):
            value = getattr(self, role)
            if isinstance(value, str):
                raise TypeError(f"{role}_covariates must be a list of column names, got {value!r}.")
            object.__setattr__(self, role, list(value or []))
        names = self.covariates
        repeated = sorted({c for c in names if names.count(c) > 1})
        if repeated:
            raise ValueError(
                f"column(s) {repeated} are listed in more than one covariate role; give each one role."
            )

    @classmethod
    def from_kwargs(
        cls,
        id_col: str = "unique_id",
        time_col: str = "ds",
        target_col: str = "y",
        past_covariates: Sequence[str] | None = None,
        future_covariates: Sequence[str] | None = None,
        static_covariates: Sequence[str] | None = None,
        time_format: str | None = None,
        freq: str | int | None = None,
    ) -> ColumnRoles:
        """The roles from ``fit``'s keyword arguments (a ``TypeError`` for unknown ones)."""
        if time_format is not None and not isinstance(time_format, str):
            raise TypeError(
                f"time_format must be a strftime string such as '%d/%m/%Y', got {time_format!r}."
            )
        return cls(
            id_col,
            time_col,
            target_col,
            list(past_covariates or []),
            list(future_covariates or []),
            list(static_covariates or []),
            time_format,
            freq,
        )

    @property
    def covariates(self) -> list[str]:
        """Past, future and static covariates, in that order."""
        return [*self.past, *self.future, *self.static]

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON; ``ColumnRoles(**roles.to_dict())`` rebuilds it."""
        return asdict(self)


def series_frame(
    values: dict[Any, Any],
    *,
    freq: str = "h",
    start: str = "2024-01-01",
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
) -> pd.DataFrame:
    """A long frame from ``{series id: values}``, each series starting at ``start``.

    Examples
    --------
    >>> series_frame({"a": [1.0, 2.0], "b": [3.0]}, freq="D")
      unique_id         ds    y
    0         a 2024-01-01  1.0
    1         a 2024-01-02  2.0
    2         b 2024-01-01  3.0
    """
    parts = [
        pd.DataFrame(
            {
                id_col: uid,
                time_col: pd.date_range(start, periods=len(y), freq=freq),
                target_col: np.asarray(y, dtype=np.float64),
            }
        )
        for uid, y in values.items()
    ]
    return pd.concat(parts, ignore_index=True)


def wide_to_long(
    df: FrameLike,
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


def future_covariates(
    X_future: FrameLike | None,
    ids: np.ndarray,
    times: pd.Index,
    roles: ColumnRoles,
    horizon: int,
) -> np.ndarray:
    """``(S, H, Cf)`` known-future covariates of ``X_future`` at the forecast timestamps.

    Parameters
    ----------
    X_future : DataFrame or None
        Columns ``roles.id`` (optional for one series), ``roles.time`` and ``roles.future``.
    ids : numpy.ndarray
        ``(S,)`` series to forecast.
    times : pandas.Index
        ``S * H`` forecast timestamps, series-major, as the user reads them.
    """
    names, id_col, time_col = roles.future, roles.id, roles.time
    needed = pd.DataFrame({id_col: np.repeat(ids, horizon), time_col: times})
    if X_future is None:
        raise ValueError(
            f"the model uses known-future covariates {names}; pass X_future with columns "
            f"{[id_col, time_col, *names]} for the {horizon} timestamps after each series' "
            f"end (first needed: series {needed[id_col].iloc[0]!r} at {needed[time_col].iloc[0]})."
        )
    future = to_pandas_frame(X_future, "X_future")
    missing = [c for c in [time_col, *names] if c not in future.columns]
    if missing:
        raise ValueError(
            f"X_future lacks column(s) {missing}; it needs {[id_col, time_col, *names]}."
        )
    if id_col not in future.columns:
        if len(ids) > 1:
            raise ValueError(
                f"X_future needs the id column {id_col!r} when there are several series."
            )
        future = future.assign(**{id_col: ids[0]})
    if not pd.api.types.is_datetime64_any_dtype(future[time_col].dtype) and isinstance(
        times, pd.DatetimeIndex
    ):  # text timestamps (e.g. from a CSV): read them like the history
        values, tz, _ = parse_time(future[time_col], time_col, roles.time_format)
        future = future.assign(**{time_col: local_time(values, tz)})
    keys = [id_col, time_col]
    merged = needed.merge(
        future[[*keys, *names]].drop_duplicates(keys), on=keys, how="left", indicator=True
    )
    absent = merged["_merge"] != "both"
    if absent.any():
        first = merged.loc[absent].iloc[0]
        raise ValueError(
            f"X_future misses {int(absent.sum())} of the {len(needed)} (series, timestamp) rows "
            f"needed; first: series {first[id_col]!r} at {first[time_col]}. Supply {names} for "
            f"the {horizon} steps after each series' end."
        )
    values = merged[names].to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise ValueError(
            f"X_future has NaN/inf in {names} for the forecast timestamps; fill them first."
        )
    return values.reshape(len(ids), horizon, len(names))  # (S, H, Cf)


def forecast_frame(
    ids: np.ndarray, times: pd.Index, values: np.ndarray, quantiles: list[float], roles: ColumnRoles
) -> pd.DataFrame:
    """``id, time, y_pred[, y_pred_q<q>]`` rows from ``(S, H, 1 + Q)`` forecasts."""
    horizon = values.shape[1]
    out = pd.DataFrame({roles.id: np.repeat(ids, horizon)})
    out[roles.time] = times
    out["y_pred"] = values[..., 0].ravel()
    for k, q in enumerate(quantiles):
        out[f"y_pred_q{q:g}"] = values[..., 1 + k].ravel()
    return out
