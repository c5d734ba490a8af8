"""Sliding windows as index arithmetic: nothing is stored per window, nothing copied until a batch.

A window is ``lookback`` past steps followed by ``horizon`` future steps of one series. Windows
never cross a series boundary, nor a gap in a series' timestamps: they are taken inside its
gap-free stretches (:meth:`Panel.stretches`). Window ``k`` is found from per-stretch window
counts with one ``searchsorted``; a batch is gathered from an ``unfold`` view of the contiguous column arrays
with a single advanced-indexing operation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view
from torch import Tensor

from tsattn.data.panel import Panel

__all__ = ["Batch", "Windows", "make_windows", "sliding_windows"]


def sliding_windows(
    series: np.ndarray, lookback: int, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """All windows of one ``(n_timesteps, n_features)`` array as zero-copy views.

    Returns
    -------
    past, future : numpy.ndarray
        ``(N, lookback, F)`` and ``(N, horizon, F)`` read-only views, ``N = n - lookback - horizon + 1``.
    """
    windows = sliding_window_view(series, lookback + horizon, axis=0)  # (N, F, L + H)
    windows = windows.transpose(0, 2, 1)  # (N, L + H, F)
    return windows[:, :lookback], windows[:, lookback:]


class Batch(NamedTuple):
    """One batch of windows; the network inputs plus the target.

    ``past_target`` (B, L, 1), ``past_covariates`` (B, L, Cp) or None, ``future_covariates``
    (B, L + H, Cf) or None, ``static`` (B, Cs) or None, ``target`` (B, H, 1), ``series`` (B,)
    series numbers and ``start`` (B,) first row of each window in the panel arrays.
    """

    past_target: Tensor
    past_covariates: Tensor | None
    future_covariates: Tensor | None
    static: Tensor | None
    target: Tensor
    series: Tensor
    start: Tensor

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """Move every tensor to ``device``."""
        return Batch(*(t if t is None else t.to(device, non_blocking=non_blocking) for t in self))

    def pin_memory(self) -> Batch:
        return Batch(*(t if t is None else t.pin_memory() for t in self))


@dataclass(frozen=True, eq=False)
class Windows:
    """All windows over given per-series row ranges, described by counts rather than stored.

    Attributes
    ----------
    target : torch.Tensor
        ``(N,)`` float32 target of every row (shares memory with the panel).
    past_covariates, future_covariates : torch.Tensor or None
        ``(N, Cp)`` / ``(N, Cf)`` float32; past-only covariates are gathered over the lookback
        only, known-future ones over lookback + horizon.
    static : torch.Tensor or None
        ``(S, Cs)`` float32 per-series features.
    begin : numpy.ndarray
        ``(K,)`` int64 first row of each of the ``K`` row ranges (gap-free stretches) that
        windows are taken from.
    cum_counts : numpy.ndarray
        ``(K + 1,)`` int64 cumulative window counts; windows of range ``k`` are numbered
        ``cum_counts[k]:cum_counts[k + 1]``.
    series : numpy.ndarray
        ``(K,)`` int64 series number of each range.
    """

    target: Tensor
    past_covariates: Tensor | None
    future_covariates: Tensor | None
    static: Tensor | None
    begin: np.ndarray
    cum_counts: np.ndarray
    series: np.ndarray
    lookback: int
    horizon: int
    stride: int

    def __len__(self) -> int:
        return int(self.cum_counts[-1])

    @property
    def window_length(self) -> int:
        return self.lookback + self.horizon

    def counts_per_series(self, n_series: int) -> np.ndarray:
        """``(S,)`` number of windows of every series."""
        return np.bincount(
            self.series, weights=np.diff(self.cum_counts), minlength=n_series
        ).astype(np.int64)

    def locate(self, index: np.ndarray | Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Series number and first row of windows ``index`` (any integer array)."""
        index = np.asarray(index, dtype=np.int64)
        if index.size and (index.min() < 0 or index.max() >= len(self)):
            raise IndexError(f"window index out of range [0, {len(self)})")
        part = np.searchsorted(self.cum_counts, index, side="right") - 1
        start = self.begin[part] + (index - self.cum_counts[part]) * self.stride
        return self.series[part], start

    def gather(self, index: np.ndarray | Tensor) -> Batch:
        """Copy windows ``index`` into one batch with a single indexing operation per column."""
        series, start = self.locate(index)
        start_t = torch.from_numpy(start)
        length, lookback = self.window_length, self.lookback
        full = self.target.unfold(0, length, 1)[start_t]  # (B, L + H)
        past_cov = future_cov = static = None
        if self.past_covariates is not None:
            past_cov = self.past_covariates.unfold(0, lookback, 1)[start_t]  # (B, Cp, L)
            past_cov = past_cov.transpose(1, 2)  # (B, L, Cp)
        if self.future_covariates is not None:
            future_cov = self.future_covariates.unfold(0, length, 1)[start_t]  # (B, Cf, L + H)
            future_cov = future_cov.transpose(1, 2)  # (B, L + H, Cf)
        series_t = torch.from_numpy(series)
        if self.static is not None:
            static = self.static[series_t]  # (B, Cs)
        return Batch(
            past_target=full[:, :lookback, None],  # (B, L, 1)
            past_covariates=past_cov,
            future_covariates=future_cov,
            static=static,
            target=full[:, lookback:, None],  # (B, H, 1)
            series=series_t,
            start=start_t,
        )


def _as_tensor(values: np.ndarray | None) -> Tensor | None:
    if values is None:
        return None
    return torch.from_numpy(np.ascontiguousarray(values, dtype=np.float32))


def _check_arguments(panel, lookback, horizon, stride, target, past, future, static) -> None:
    for name, value in (("lookback", lookback), ("horizon", horizon), ("stride", stride)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    for name, arr in (("target", target), ("past_covariates", past), ("future_covariates", future)):
        if arr is not None and len(arr) != panel.n_rows:
            raise ValueError(f"{name} has {len(arr)} rows but the panel has {panel.n_rows}.")
    if static is not None and len(static) != panel.n_series:
        raise ValueError(
            f"static has {len(static)} rows but the panel has {panel.n_series} series."
        )


def make_windows(
    panel: Panel,
    lookback: int,
    horizon: int,
    *,
    stride: int = 1,
    bounds: np.ndarray | None = None,
    target: np.ndarray | None = None,
    past_covariates: np.ndarray | None = None,
    future_covariates: np.ndarray | None = None,
    static: np.ndarray | None = None,
    split_at_gaps: bool = True,
) -> Windows:
    """Describe every window of every series without materialising any.

    Parameters
    ----------
    panel : Panel
        Validated data (its offsets say where each series starts).
    lookback, horizon : int
        Past steps fed to the network; future steps predicted.
    stride : int
        Steps between consecutive window starts of one series.
    bounds : numpy.ndarray, optional
        ``(S, 2)`` global row ranges ``[begin, end)`` the windows must lie in (a split, see
        :mod:`tsattn.data.splits`); default: whole series.
    target, past_covariates, future_covariates : numpy.ndarray, optional
        ``(N,)``, ``(N, Cp)``, ``(N, Cf)`` row-aligned arrays replacing the panel's raw columns
        (e.g. after scaling or calendar features); default target is ``panel.target``.
    static : numpy.ndarray, optional
        ``(S, Cs)`` per-series features.
    split_at_gaps : bool
        Take windows only inside gap-free stretches (default). False treats each range as
        consecutive; only for callers that checked there is no gap in it.

    Returns
    -------
    Windows
    """
    _check_arguments(
        panel, lookback, horizon, stride, target, past_covariates, future_covariates, static
    )
    n_rows = panel.n_rows
    target = panel.target if target is None else target
    if split_at_gaps:
        ranges, series = panel.stretches(bounds)  # (K, 2), (K,)
    else:
        ranges, series = panel.row_ranges(bounds), np.arange(panel.n_series)
    length = lookback + horizon
    usable = ranges[:, 1] - ranges[:, 0]
    counts = np.where(usable >= length, (usable - length) // stride + 1, 0)
    if counts.sum() == 0:
        longest = int(usable.max()) if len(usable) else 0
        gaps = " gap-free stretch of a" if len(ranges) > panel.n_series else ""
        raise ValueError(
            f"no window fits: the longest{gaps} series (part) has {longest} timesteps but "
            f"lookback + horizon = {length}; pass longer series"
            + (", fill the gaps (fill=..., max_fill=...)" if gaps else "")
            + " or a smaller lookback/horizon."
        )
    cum_counts = np.zeros(len(counts) + 1, dtype=np.int64)
    cum_counts[1:] = np.cumsum(counts)
    target_t = _as_tensor(target.reshape(-1))
    return Windows(
        target=target_t,
        past_covariates=_as_tensor(
            None if past_covariates is None else past_covariates.reshape(n_rows, -1)
        ),
        future_covariates=_as_tensor(
            None if future_covariates is None else future_covariates.reshape(n_rows, -1)
        ),
        static=_as_tensor(None if static is None else static.reshape(panel.n_series, -1)),
        begin=ranges[:, 0].copy(),
        cum_counts=cum_counts,
        series=series,
        lookback=int(lookback),
        horizon=int(horizon),
        stride=int(stride),
    )
