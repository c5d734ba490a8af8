"""Figures for forecasts and attention weights (matplotlib, imported on first use).

Both functions return a :class:`matplotlib.figure.Figure` and never show it; the caller saves
it (``fig.savefig("forecast.png")``) or shows it. On a Linux machine without a display the
non-interactive Agg backend is selected, unless pyplot was imported already or ``MPLBACKEND``
names a backend. The figures are created through pyplot, so close them (``plt.close(fig)``)
when making many in a loop.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tsattn.data.frames import to_pandas_frame

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["MAX_SERIES", "attention_by_lag", "plot_attention", "plot_forecast", "pyplot"]

log = logging.getLogger(__name__)

#: Most series :func:`plot_forecast` draws in one figure (one subplot each).
MAX_SERIES = 6
_QUANTILE_COLUMN = re.compile(r"^y_pred_q(\d*\.?\d+(?:e-?\d+)?)$")


def pyplot() -> Any:
    """``matplotlib.pyplot``, with the Agg backend where there is no display to draw on."""
    import matplotlib

    headless = sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    )
    if headless and "matplotlib.pyplot" not in sys.modules and not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# -- forecasts ------------------------------------------------------------------------------


def _frame(df: Any, what: str, columns: Sequence[str]) -> pd.DataFrame:
    frame = to_pandas_frame(df, what)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{what} lacks column(s) {missing}; it has {list(frame.columns)}. Pass the column "
            "names with id_col=, time_col= or target_col=."
        )
    return frame


def _by_series(frame: pd.DataFrame, id_col: str) -> dict[Hashable, pd.DataFrame]:
    """Rows of every series, in order of first appearance; one unnamed series without ids."""
    if id_col not in frame.columns:
        return {None: frame}
    return {uid: part for uid, part in frame.groupby(id_col, sort=False, observed=True)}


def _rows_of(parts: dict[Hashable, pd.DataFrame], uid: Hashable) -> pd.DataFrame | None:
    """The rows of series ``uid``; a frame without ids holds the single forecast series."""
    return parts[None] if None in parts else parts.get(uid)


def _interval_columns(
    forecast: pd.DataFrame, quantiles: Sequence[float] | None
) -> tuple[str, str] | None:
    """The ``y_pred_q*`` columns bounding the shaded interval, or None if there are none."""
    levels = {}
    for column in forecast.columns:
        found = _QUANTILE_COLUMN.match(str(column))
        if found:
            levels[float(found.group(1))] = str(column)
    if quantiles is None:
        if len(levels) < 2:
            return None
        return levels[min(levels)], levels[max(levels)]
    if isinstance(quantiles, str) or len(quantiles) != 2 or quantiles[0] >= quantiles[1]:
        raise ValueError(
            f"quantiles={quantiles!r} is invalid; expected two increasing levels such as "
            "(0.1, 0.9) bounding the interval to shade."
        )
    missing = [q for q in quantiles if float(q) not in levels]
    if missing:
        raise ValueError(
            f"forecast has no column for quantile(s) {missing}; it has {sorted(levels) or 'none'}. "
            "Call predict(quantiles=[...]) with them (the model must be trained with them)."
        )
    return levels[float(quantiles[0])], levels[float(quantiles[1])]


def _choose_series(ids: list[Hashable], series: Any) -> list[Hashable]:
    if series is None:
        if len(ids) > MAX_SERIES:
            log.info(
                "plotting the first %d of %d series; pass series=[...] to choose.",
                MAX_SERIES,
                len(ids),
            )
        return ids[:MAX_SERIES]
    chosen = list(series) if isinstance(series, list | tuple | np.ndarray | pd.Index) else [series]
    unknown = [s for s in chosen if s not in ids]
    if unknown:
        raise ValueError(
            f"series {unknown} are not in the forecast; it has {ids[:10]}"
            f"{' ...' if len(ids) > 10 else ''}."
        )
    if not chosen or len(chosen) > MAX_SERIES:
        raise ValueError(
            f"series= selects {len(chosen)} series; pass between 1 and {MAX_SERIES} ids (one "
            "subplot each) and make several figures for more."
        )
    return chosen


def plot_forecast(
    history: Any,
    forecast: Any,
    *,
    actuals: Any = None,
    series: Hashable | Sequence[Hashable] | None = None,
    id_col: str = "unique_id",
    time_col: str = "ds",
    target_col: str = "y",
    quantiles: Sequence[float] | None = None,
    ax: Axes | None = None,
    last_n: int | None = None,
) -> Figure:
    """Plot history, forecast, its interval and (optionally) the actual values, per series.

    Parameters
    ----------
    history : pandas.DataFrame or polars.DataFrame
        Long frame with ``id_col`` (optional for one series), ``time_col`` and ``target_col``.
    forecast : pandas.DataFrame or polars.DataFrame
        Output of ``predict``: ``id_col``, ``time_col``, ``y_pred`` and any ``y_pred_q<level>``.
    actuals : DataFrame, optional
        The observed values over the forecast period, with the columns of ``history``.
    series : id or list of ids, optional
        Series to plot, at most ``MAX_SERIES`` (6); default: the first 6 of ``forecast``.
    id_col, time_col, target_col : str
        Column names, as in ``fit``.
    quantiles : pair of float, optional
        Levels bounding the shaded interval, e.g. ``(0.1, 0.9)``; default: the lowest and the
        highest ``y_pred_q*`` columns present (no interval without two of them).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on, for a single series; default: a new figure with one row per series.
    last_n : int, optional
        Show only the last ``last_n`` history steps of each series.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the plot (``ax.figure`` when ``ax`` is given).

    Raises
    ------
    ValueError
        For missing columns, unknown series, too many series, ``ax`` with several series, or
        quantile levels without a column.

    Examples
    --------
    >>> fig = plot_forecast(df, model.predict(quantiles=[0.1, 0.9]), last_n=96)  # doctest: +SKIP
    >>> fig.savefig("forecast.png")  # doctest: +SKIP
    """
    hist = _frame(history, "history", [time_col, target_col])
    fc = _frame(forecast, "forecast", [time_col, "y_pred"])
    actual = None if actuals is None else _frame(actuals, "actuals", [time_col, target_col])
    if last_n is not None and (not isinstance(last_n, int | np.integer) or last_n < 1):
        raise ValueError(f"last_n={last_n!r} is invalid; expected a positive integer or None.")
    interval = _interval_columns(fc, quantiles)

    forecasts = _by_series(fc, id_col)
    ids = list(forecasts)
    single = len(ids) == 1
    for what, frame in (("history", hist), ("actuals", actual)):
        if frame is not None and id_col not in frame.columns and not single:
            raise ValueError(
                f"{what} has no id column {id_col!r} but the forecast holds {len(ids)} series; "
                f"add the column or pass id_col=."
            )
    chosen = _choose_series(ids, series)
    if ax is not None and len(chosen) > 1:
        raise ValueError(
            f"ax= draws one series but {len(chosen)} are selected; pass series=<one id> or "
            "leave ax=None for one subplot per series."
        )

    histories = _by_series(hist, id_col)
    absent = [uid for uid in chosen if _rows_of(histories, uid) is None]
    if absent:
        raise ValueError(
            f"history has no rows for series {absent}; pass the history the forecast was made from."
        )
    observed = None if actual is None else _by_series(actual, id_col)

    plt = pyplot()
    if ax is None:
        fig, axes = plt.subplots(
            len(chosen), 1, figsize=(10, 2.8 * len(chosen) + 0.4), squeeze=False
        )
        axes = list(axes[:, 0])
    else:
        fig, axes = ax.figure, [ax]
    for uid, axis in zip(chosen, axes, strict=True):
        past = _rows_of(histories, uid).sort_values(time_col)
        if last_n is not None:
            past = past.iloc[-last_n:]
        ahead = forecasts[uid].sort_values(time_col)
        axis.plot(past[time_col], past[target_col], color="C0", lw=1.2, label="history")
        if interval is not None:
            low, high = interval
            levels = f"{low.removeprefix('y_pred_q')}–{high.removeprefix('y_pred_q')}"
            axis.fill_between(
                ahead[time_col],
                ahead[low].to_numpy(dtype=float),
                ahead[high].to_numpy(dtype=float),
                color="C1",
                alpha=0.25,
                lw=0,
                label=f"interval q{levels}",
            )
        # the forecast line starts at the last observation, so history and forecast meet
        last = (
            past.iloc[-1:]
            if len(past) and past[time_col].iloc[-1] < ahead[time_col].iloc[0]
            else past.iloc[:0]
        )
        bridge_t = pd.concat([last[time_col], ahead[time_col]], ignore_index=True)
        bridge_y = pd.concat([last[target_col], ahead["y_pred"]], ignore_index=True)
        axis.plot(bridge_t, bridge_y, color="C1", lw=1.5, label="forecast")
        truth = None if observed is None else _rows_of(observed, uid)
        if truth is not None:  # actuals may cover only some series
            truth = pd.concat([last, truth]).sort_values(time_col)
            axis.plot(truth[time_col], truth[target_col], color="k", lw=1.0, label="actual")
        axis.set_title(f"{id_col} = {uid}" if uid is not None else "forecast", fontsize=10)
        axis.set_ylabel(target_col)
        axis.grid(alpha=0.3)
        if pd.api.types.is_datetime64_any_dtype(fc[time_col].dtype):
            from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

            tz = fc[time_col].dt.tz  # label in the series' own time zone, not in UTC
            locator = AutoDateLocator(tz=tz)
            axis.xaxis.set_major_locator(locator)
            axis.xaxis.set_major_formatter(ConciseDateFormatter(locator, tz=tz))
    axes[0].legend(loc="upper left", fontsize=8, ncols=4)
    first, final = fc[time_col].min(), fc[time_col].max()
    axes[-1].set_xlabel(f"{time_col} (forecast {first} to {final})")
    if ax is None:
        fig.tight_layout()
    return fig


# -- attention ----------------------------------------------------------------------------------


def _check_positive(name: str, value: Any) -> None:
    if value is not None and (
        not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1
    ):
        raise ValueError(f"{name}={value!r} is invalid; expected a positive integer or None.")


def attention_by_lag(weights: Any) -> np.ndarray:
    """Per-step attention ``(..., H, L)`` by lag: ``(..., H, L + H - 1)``.

    Column ``k`` of row ``h`` (both from 0) is the weight on the step ``k + 1`` steps before
    forecast step ``h + 1``, i.e. lookback step ``L + h - k - 1``; NaN where that step lies in
    the horizon or before the lookback. For hourly data, column 23 is "the same hour yesterday"
    for every forecast hour.

    Examples
    --------
    >>> w = np.full((2, 3), 1 / 3)  # H = 2 forecast steps over L = 3 lookback steps
    >>> attention_by_lag(w).round(2)
    array([[0.33, 0.33, 0.33,  nan],
           [ nan, 0.33, 0.33, 0.33]])
    """
    values = np.asarray(weights, dtype=np.float64)
    horizon, lookback = values.shape[-2:]
    out = np.full((*values.shape[:-1], lookback + horizon - 1), np.nan)
    for h in range(horizon):
        out[..., h, h : h + lookback] = values[..., h, ::-1]  # lags h + 1 ... h + L
    return out


def _column_labels(
    n_columns: int, lookback: int | None, segment_length: int | None, stride: int | None
) -> tuple[list[str], str]:
    """Tick label of every encoder column and the axis label, measured back from step ``t``."""
    step = stride or segment_length
    if step is None and lookback == n_columns:
        step = 1  # one column per lookback step
    if step is None:
        if lookback is not None:
            raise ValueError(
                f"lookback={lookback} but the weights have {n_columns} columns, so each column "
                "covers several steps; pass segment_length= (and stride= for overlapping "
                "patches) to label them in steps."
            )
        return [str(j + 1) for j in range(n_columns)], "encoder position (oldest → newest)"
    if lookback is not None and segment_length is not None:
        expected = -(-max(lookback - segment_length, 0) // step) + 1  # segments covering it
        if expected != n_columns:
            raise ValueError(
                f"lookback={lookback}, segment_length={segment_length} and stride={step} give "
                f"{expected} segments but the weights have {n_columns} columns; pass the "
                "network's own values."
            )
    lags = [(n_columns - 1 - j) * step for j in range(n_columns)]
    labels = [f"t-{lag}" if lag else "t" for lag in lags]
    what = "lookback step" if step == 1 and not segment_length else "lookback segment, by its end"
    return labels, f"{what} (t = last observed step)"


def plot_attention(
    weights: Any,
    *,
    series_index: int = 0,
    ax: Axes | None = None,
    lookback: int | None = None,
    segment_length: int | None = None,
    stride: int | None = None,
    title: str | None = None,
    color_scale: str = "data",
    marks: Sequence[int] = (),
    align: str = "time",
) -> Figure:
    """Heatmap of one forecast's attention: forecast steps (rows) over the lookback (columns).

    Parameters
    ----------
    weights : numpy.ndarray or torch.Tensor
        ``(S, H, n)`` from ``predict_attention()`` or one forecast's ``(H, n)``; ``n`` encoder
        steps or lookback segments, oldest first.
    series_index : int
        Row of ``weights`` to plot when it is ``(S, H, n)``.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; default: a new figure.
    lookback : int, optional
        Lookback of the model; checked against ``n`` and used to label per-step columns.
    segment_length : int, optional
        Steps per column (the network's ``segment_length``); columns are then labelled by how
        many steps before the last observed one (``t``) they end.
    stride : int, optional
        Steps between column starts when segments overlap (the Transformer's ``stride``);
        default: ``segment_length``.
    title : str, optional
        Figure title; default: ``"attention, series <series_index>"``.
    color_scale : {'data', 'zero'}
        Colours span the weights' own range (``'data'``, default: structure stays visible
        when the weights are close to even), or start at 0 (``'zero'``: evenly spread
        attention looks even).
    marks : sequence of int
        Lags to mark with a dashed line and a tick, in steps before the last observed one
        ``t`` (e.g. ``(24, 168)`` for hourly data: the same hour yesterday and last week);
        ``t`` itself is marked too. Needs ``lookback``. With ``align="lag"``: lags before
        each forecast step, e.g. ``(24, 168)``.
    align : {'time', 'lag'}
        Columns are the lookback's steps, oldest first (``'time'``), or, for per-step weights,
        the lag before each forecast step (``'lag'``: column ``k`` of row ``h`` is the step
        ``k`` steps before forecast step ``h``, blank where that step is not in the lookback),
        so "the same hour yesterday" is one vertical line instead of a diagonal.

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the heatmap and its colourbar (``ax.figure`` when ``ax`` is given).

    Raises
    ------
    ValueError
        For weights that are not 2-D or 3-D, empty or not finite, an out-of-range
        ``series_index``, or a ``lookback`` / ``segment_length`` that does not fit ``n``.

    Examples
    --------
    >>> weights = model.predict_attention()  # (S, H, n)  # doctest: +SKIP
    >>> fig = plot_attention(weights, series_index=0, segment_length=12)  # doctest: +SKIP
    >>> fig.savefig("attention.png")  # doctest: +SKIP
    """
    if hasattr(weights, "detach"):  # a torch tensor, possibly on a GPU
        weights = weights.detach().cpu().numpy()
    values = np.asarray(weights, dtype=np.float64)
    if values.ndim not in (2, 3) or 0 in values.shape:
        raise ValueError(
            f"weights must be (S, H, n) from predict_attention() or one forecast's (H, n), got "
            f"shape {values.shape}."
        )
    if values.ndim == 3:
        n_series = values.shape[0]
        if (
            not isinstance(series_index, int | np.integer)
            or not -n_series <= series_index < n_series
        ):
            raise ValueError(
                f"series_index={series_index!r} is out of range for {n_series} series; pass "
                f"0 ... {n_series - 1}."
            )
        values = values[series_index]  # (H, n)
    if not np.isfinite(values).all():
        raise ValueError("weights hold NaN or inf; pass the output of predict_attention().")
    for name, value in (
        ("lookback", lookback),
        ("segment_length", segment_length),
        ("stride", stride),
    ):
        _check_positive(name, value)
    horizon, n_columns = values.shape
    labels, xlabel = _column_labels(n_columns, lookback, segment_length, stride)
    if align not in ("time", "lag"):
        raise ValueError(f"align={align!r} is invalid; expected 'time' or 'lag'.")
    if align == "lag":
        if lookback != n_columns:
            raise ValueError(
                f"align='lag' needs per-step weights and lookback= (the weights have {n_columns} "
                f"columns, lookback={lookback}); pass align='time' for segment weights."
            )
        values = attention_by_lag(values)  # (H, L + H - 1), NaN outside the lookback
        n_columns = values.shape[1]
        labels = [f"lag {k + 1}" for k in range(n_columns)]
        xlabel = "lag: steps before the forecast step (blank: not in the lookback)"

    plt = pyplot()
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    if ax is None:
        width = min(max(5.0, 0.35 * n_columns + 2.5), 14.0)
        height = min(max(3.5, 0.2 * horizon + 1.5), 10.0)
        fig, ax = plt.subplots(figsize=(width, height))
    else:
        fig = ax.figure
    if color_scale not in ("data", "zero"):
        raise ValueError(f"color_scale={color_scale!r} is invalid; expected 'data' or 'zero'.")
    low = float(np.nanmin(values))
    low = low if color_scale == "data" else min(0.0, low)
    high = max(float(np.nanmax(values)), low + 1e-12)
    image = ax.imshow(
        values, aspect="auto", cmap="viridis", interpolation="nearest", vmin=low, vmax=high
    )
    ax.xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
    ax.xaxis.set_major_formatter(
        FuncFormatter(lambda x, _: labels[int(x)] if 0 <= int(x) < n_columns else "")
    )
    ax.yaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
    ax.yaxis.set_major_formatter(
        FuncFormatter(lambda y, _: str(int(y) + 1) if 0 <= int(y) < horizon else "")
    )
    if marks:
        if lookback is None:
            raise ValueError("marks need lookback= to place the lags on the columns.")
        step = stride or segment_length or 1
        ticks, names = [], []
        for lag in sorted({0, *(int(m) for m in marks)}):
            column = n_columns - 1 - lag // step
            if align == "lag":  # a tick only: a line would hide the attention along that lag
                column = lag - 1
                if 0 <= column < n_columns:
                    ticks.append(column)
                    names.append(f"lag {lag}")
            elif 0 <= column < n_columns and lag < lookback:
                if lag:
                    ax.axvline(column, color="white", linewidth=0.8, linestyle="--")
                ticks.append(column)
                names.append("t" if lag == 0 else f"t-{lag}")
        order = np.argsort(ticks)
        ax.set_xticks([ticks[i] for i in order], [names[i] for i in order])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("forecast step h")
    ax.set_title(title if title is not None else f"attention, series {series_index}")
    fig.colorbar(image, ax=ax, label="attention weight")
    return fig
