"""Batches of windows: shuffled start indices, one vectorised gather per batch.

No ``Dataset.__getitem__`` per sample and no worker processes: a batch is one indexing
operation on an ``unfold`` view (see :meth:`Windows.gather`), which is faster than collating
hundreds of per-sample tensors.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from tsattn.data.windows import Batch, Windows

__all__ = ["WindowLoader", "make_loaders", "spread_windows"]


def spread_windows(n_windows: int, limit: int, seed: int = 0) -> np.ndarray:
    """``limit`` window numbers out of ``range(n_windows)``, spread evenly, ascending.

    The numbers are cut into ``limit`` equal strata and one window is drawn from each (a fixed
    seed, so the same subset every time). Windows are numbered series by series and in time
    order, so every series gets a share proportional to its window count, spread over its
    whole length; the random position inside each stratum keeps the subset from lining up with
    a season, as a fixed step (say every 24th hourly window) would. All windows when
    ``n_windows <= limit``.
    """
    if n_windows <= limit:
        return np.arange(n_windows, dtype=np.int64)
    edges = np.arange(limit + 1, dtype=np.int64) * n_windows // limit  # (limit + 1,) strata
    offset = np.random.default_rng(seed).random(limit)  # (limit,) position inside each stratum
    return edges[:-1] + (offset * np.diff(edges)).astype(np.int64)  # (limit,) ascending


class WindowLoader:
    """Iterate over batches of windows.

    Parameters
    ----------
    windows : Windows
        The windows to serve.
    batch_size : int
        Windows per batch.
    shuffle : bool
        Draw a fresh permutation of window numbers each epoch (training) or keep order.
    drop_last : bool
        Skip the last, smaller batch.
    seed : int, optional
        Seed of the shuffling generator; the epoch counter is mixed in so each epoch differs but
        a run is reproducible. ``set_epoch`` restores the order after a resume.
    device : str or torch.device, optional
        Where batches go; on CUDA they are pinned and copied with ``non_blocking=True``.
    index : numpy.ndarray, optional
        The window numbers to serve (e.g. from :func:`spread_windows`); default: all.
    """

    def __init__(
        self,
        windows: Windows,
        batch_size: int,
        *,
        shuffle: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
        device: str | torch.device | None = None,
        index: np.ndarray | None = None,
    ) -> None:
        if not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.windows = windows
        self.index = None if index is None else np.asarray(index, dtype=np.int64)
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.seed = 0 if seed is None else int(seed)
        self.device = None if device is None else torch.device(device)
        self.epoch = 0
        self.rank, self.world_size = 0, 1

    def shard(self, rank: int, world_size: int) -> None:
        """Serve only this process's share of every epoch (distributed training).

        All ranks draw the same permutation; rank ``r`` takes every ``world_size``-th window
        from position ``r``. Shuffled (training) loaders wrap around so every rank takes the
        same number of steps; ordered (validation) loaders do not, so no window counts twice.
        """
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}), got {rank}.")
        self.rank, self.world_size = int(rank), int(world_size)

    @property
    def size(self) -> int:
        """Windows served per epoch, over all processes."""
        return len(self.windows) if self.index is None else len(self.index)

    def _n_windows(self) -> int:
        n, ws = self.size, self.world_size
        if ws == 1:
            return n
        return -(-n // ws) if self.shuffle else len(range(self.rank, n, ws))

    def __len__(self) -> int:
        n = self._n_windows()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def set_epoch(self, epoch: int) -> None:
        """Choose the permutation of the given epoch (the next ``__iter__`` uses it)."""
        self.epoch = int(epoch)

    def order(self) -> torch.Tensor:
        """Window numbers of this epoch: int32 when they fit, shuffled in place (no extra copy),
        so a 10M-window epoch costs 40 MB."""
        n = len(self.windows)
        dtype = np.int32 if n < 2**31 else np.int64
        order = np.arange(n, dtype=dtype) if self.index is None else self.index.astype(dtype)
        if self.shuffle:
            np.random.default_rng([self.seed, self.epoch]).shuffle(order)
        if self.world_size > 1:
            if self.shuffle:  # pad by wrapping around, like torch's DistributedSampler
                order = np.resize(order, self._n_windows() * self.world_size)
            order = order[self.rank :: self.world_size]
        return torch.from_numpy(order)

    def __iter__(self) -> Iterator[Batch]:
        order = self.order()
        self.epoch += 1
        cuda = self.device is not None and self.device.type == "cuda"
        for i in range(len(self)):
            batch = self.windows.gather(
                order[i * self.batch_size : (i + 1) * self.batch_size].numpy()
            )
            if cuda:
                batch = batch.pin_memory().to(self.device, non_blocking=True)
            elif self.device is not None:
                batch = batch.to(self.device)
            yield batch


def make_loaders(
    train: Windows,
    val: Windows | None = None,
    *,
    batch_size: int = 256,
    seed: int | None = None,
    device: str | torch.device | None = None,
    max_val_windows: int | None = None,
) -> tuple[WindowLoader, WindowLoader | None]:
    """A shuffled training loader and an ordered validation loader over the given windows.

    ``max_val_windows`` caps the validation windows of every epoch: the same evenly spread
    subset (:func:`spread_windows`) each epoch, so early stopping compares like with like and
    a long series costs no more to validate than ``max_val_windows`` windows. None: all.
    """
    if max_val_windows is not None and (
        not isinstance(max_val_windows, int | np.integer)
        or isinstance(max_val_windows, bool)
        or max_val_windows < 1
    ):
        raise ValueError(
            f"max_val_windows must be a positive integer or None, got {max_val_windows!r}."
        )
    train_loader = WindowLoader(train, batch_size, shuffle=True, seed=seed, device=device)
    if val is None:
        return train_loader, None
    index = None if max_val_windows is None else spread_windows(len(val), max_val_windows)
    return train_loader, WindowLoader(val, batch_size, device=device, index=index)
