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

__all__ = ["WindowLoader", "make_loaders"]


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
    ) -> None:
        if not isinstance(batch_size, int | np.integer) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        self.windows = windows
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

    def _n_windows(self) -> int:
        n, ws = len(self.windows), self.world_size
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
        order = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
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
) -> tuple[WindowLoader, WindowLoader | None]:
    """A shuffled training loader and an ordered validation loader over the given windows."""
    train_loader = WindowLoader(train, batch_size, shuffle=True, seed=seed, device=device)
    val_loader = None if val is None else WindowLoader(val, batch_size, device=device)
    return train_loader, val_loader
