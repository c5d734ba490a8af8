"""Trainer: one readable loop with early stopping, checkpoints and exact resume.

The loop, top to bottom: for each epoch, draw that epoch's window order, take optimiser steps
(AdamW, warm-up then cosine decay, gradient clipping, bf16 autocast on CUDA), evaluate on the
validation windows, call the callbacks ``(epoch, metrics)``, keep the best weights, write a
checkpoint, and stop on patience, ``max_steps`` or the wall-clock budget. Checkpoints hold only
tensors and plain Python values and are read back with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torch.optim.swa_utils import AveragedModel

from tsattn.data.loader import WindowLoader
from tsattn.data.windows import Batch

__all__ = ["LOSSES", "History", "Trainer", "init_distributed", "pinball_loss", "resolve_device"]

log = logging.getLogger(__name__)

LOSSES = ("mse", "mae", "huber", "quantile")
Callback = Callable[[int, dict[str, float]], None]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``'auto'`` picks cuda, then mps, then cpu; an explicit device that is absent is an error."""
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"device={device!r} is not a torch device; use 'auto', 'cpu', 'cuda' or 'cuda:N'."
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "device='cuda' was requested but CUDA is not available here; use device='auto' or 'cpu'."
        )
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} but only {torch.cuda.device_count()} CUDA device(s) exist."
        )
    if dev.type == "mps" and not (
        getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()
    ):
        raise ValueError(
            "device='mps' was requested but MPS is not available here; use 'auto' or 'cpu'."
        )
    return dev


def init_distributed() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)``; joins the process group ``torchrun`` describes.

    Outside ``torchrun`` (no ``WORLD_SIZE`` > 1 in the environment) this is ``(0, 1, 0)``.
    The backend is NCCL on CUDA machines and gloo otherwise. The group outlives ``fit`` (so
    evaluation can use it too): end a ``torchrun`` script with ``barrier()`` and
    ``destroy_process_group()`` so that no rank exits while another still talks to it.
    """
    import torch.distributed as dist

    if not dist.is_available():
        return 0, 1, 0
    if not dist.is_initialized():
        if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
            return 0, 1, 0
        dist.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0"))


def _all_sum(values: list[float], world_size: int, device: torch.device) -> list[float]:
    if world_size == 1:
        return values
    import torch.distributed as dist

    t = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def pinball_loss(pred: Tensor, target: Tensor, quantiles: Tensor) -> Tensor:
    """Mean pinball (quantile) loss of ``pred`` (B, H, Q) against ``target`` (B, H, 1)."""
    diff = target - pred  # (B, H, Q)
    return torch.maximum(quantiles * diff, (quantiles - 1) * diff).mean()


@dataclass
class History:
    """Per-epoch metrics and how training ended.

    ``monitor`` is the loss that chose the best epoch and early stopping: ``'val_loss'``, or
    ``'train_loss'`` when there was no validation loader (then ``best_val_loss`` is a training
    loss). ``val_windows`` is the number of validation windows of every epoch; ``device`` and
    ``precision`` (``'fp32'`` or ``'bf16'`` autocast) are what training actually ran on.
    """

    epochs: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = -1
    best_val_loss: float = math.inf
    stop_reason: str = ""
    monitor: str = "val_loss"
    val_windows: int = 0
    device: str = "cpu"
    precision: str = "fp32"
    steps: int = 0
    train_seconds: float = 0.0
    windows_per_second: float = 0.0


@contextlib.contextmanager
def _progress(verbose: int | None) -> Iterator[Any]:
    """A maker of tqdm bars for the block (None when not shown) and, with ``verbose``, tsattn's INFO lines
    on stderr through it, unless the application configured logging itself. Everything set up
    here is undone after the block, so one fit's verbosity never leaks into the next."""
    from tqdm.auto import tqdm

    show = bool(verbose) if verbose is not None else sys.stderr.isatty()
    if not show:
        yield None
        return
    root, pkg = logging.getLogger(), logging.getLogger("tsattn")
    handler = None
    if verbose and not root.handlers and not pkg.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        pkg.addHandler(handler)
    level = pkg.level
    if handler is not None:
        pkg.setLevel(logging.INFO)
    from tqdm.contrib.logging import logging_redirect_tqdm

    def bar(total: int) -> Any:
        return tqdm(total=total, unit="step", desc="fit", leave=False, dynamic_ncols=True)

    try:
        with logging_redirect_tqdm(loggers=[pkg]):
            yield bar
    finally:
        if handler is not None:
            pkg.removeHandler(handler)
            pkg.setLevel(level)


def _planned_steps(trainer: Trainer, steps_per_epoch: int) -> int:
    planned = trainer.max_epochs * steps_per_epoch
    return min(planned, trainer.max_steps) if trainer.max_steps else planned


def _losses(epoch: int, metrics: dict[str, float]) -> str:
    val = f" val {metrics['val_loss']:.4f}" if "val_loss" in metrics else ""
    return f"epoch {epoch} train {metrics['train_loss']:.4f}{val}"


def _forward(model: nn.Module, batch: Batch) -> Tensor:
    return model(batch.past_target, batch.past_covariates, batch.future_covariates, batch.static)


def _log_epoch(epoch: int, metrics: dict[str, float]) -> None:
    val = f" val_loss {metrics['val_loss']:.4f}" if "val_loss" in metrics else ""
    log.info(
        "epoch %d: train_loss %.4f%s lr %.2e %.0f windows/s",
        epoch,
        metrics["train_loss"],
        val,
        metrics["lr"],
        metrics["windows_per_s"],
    )


def _place(
    model: nn.Module,
    loaders: Sequence[WindowLoader | None],
    device: torch.device,
    *,
    rank: int,
    world_size: int,
    local_rank: int,
    compile: bool,
) -> nn.Module:
    """Move ``model`` to ``device``, give each loader its shard and return the network to call:
    ``model`` itself, compiled if asked, inside DDP when several processes train."""
    model.to(device)
    for loader in loaders:
        if loader is not None:
            loader.device = device
            loader.shard(rank, world_size)
    net = torch.compile(model) if compile else model
    if world_size > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(
            net, device_ids=[local_rank] if device.type == "cuda" else None
        )
    return net


@dataclass
class _Run:
    """What one ``fit`` call trains and tracks from epoch to epoch (and through a checkpoint)."""

    model: nn.Module  # the bare network: parameters, state dicts, best weights
    net: nn.Module  # what is called: ``model``, compiled and/or inside DDP
    device: torch.device
    rank: int
    world_size: int
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    loss_fn: Callable[[Tensor, Tensor], Tensor]
    autocast: contextlib.AbstractContextManager
    history: History
    checkpoint: Path | None
    start_epoch: int = 0
    best_state: dict[str, Tensor] | None = None
    ema: AveragedModel | None = None  # the moving average of the weights, when asked for
    bad_epochs: int = 0
    started: float = 0.0  # when the first epoch began: the time budget counts from here
    windows_seen: int = 0
    train_time: float = 0.0
    bar: Any = None  # the progress bar (rank 0, when shown)

    def step(self, batch: Batch, grad_clip: float | None) -> Tensor:
        """One optimiser step on ``batch``; returns the batch's loss."""
        with self.autocast:
            pred = _forward(self.net, batch)
        loss = self.loss_fn(pred.float(), batch.target)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            nn.utils.clip_grad_norm_(self.model.parameters(), grad_clip, foreach=True)
        self.optimizer.step()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)
        self.history.steps += 1
        return loss

    @property
    def weights(self) -> nn.Module:
        """The network whose weights are validated, kept and returned: the moving average when
        there is one, else the trained network itself."""
        return self.model if self.ema is None else self.ema.module

    def keep_best(self, epoch: int, score: float) -> None:
        """Copy the weights of a new best epoch, or count one more epoch without improvement."""
        if score < self.history.best_val_loss:
            self.history.best_val_loss, self.history.best_epoch, self.bad_epochs = score, epoch, 0
            self.best_state = {k: v.detach().clone() for k, v in self.weights.state_dict().items()}
        else:
            self.bad_epochs += 1

    def finish(self, stop_reason: str, restore_best: bool = True) -> History:
        """Complete the history, restore the best weights (unless told to keep the last ones)
        and leave the model in eval mode."""
        history = self.history
        history.stop_reason = stop_reason
        history.train_seconds = self.train_time
        history.windows_per_second = self.windows_seen / max(self.train_time, 1e-9)
        if restore_best and self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        elif self.ema is not None:
            self.model.load_state_dict(self.ema.module.state_dict())
        self.model.eval()
        log.info(
            "stopped: %s; best epoch %d (loss %.4f)",
            history.stop_reason,
            history.best_epoch,
            history.best_val_loss,
        )
        return history


def _averaged(model: nn.Module, epochs: float | None, steps_per_epoch: int) -> AveragedModel | None:
    """The moving average of ``model``'s weights over about ``epochs`` epochs (None: none)."""
    if epochs is None:
        return None
    decay = 1 - 1 / max(1.0, epochs * steps_per_epoch)  # per optimiser step
    return AveragedModel(model, multi_avg_fn=_ema(decay), use_buffers=True)


def _ema(decay: float) -> Callable[[list[Tensor], list[Tensor], Tensor], None]:
    """The in-place update of an exponential moving average of weights, bias-corrected as
    Adam's moments: after ``k`` steps it is ``sum_i decay**(k-i) w_i / sum_i decay**(k-i)``,
    so the random initial weights do not linger in it (``get_ema_multi_avg_fn`` keeps
    ``decay**k`` of them)."""

    @torch.no_grad()
    def update(averaged: list[Tensor], current: list[Tensor], n_averaged: Tensor) -> None:
        # the weights being added are the (n_averaged + 1)-th; a tensor weight, so no host
        # sync per step on a GPU (torch passes one device and dtype at a time)
        weight = (1 - decay) / (1 - decay ** (n_averaged + 1))
        for avg, cur in zip(averaged, current, strict=True):
            if avg.is_floating_point():
                avg.lerp_(cur, weight)
            else:  # index buffers (the lag attention's) are copied
                avg.copy_(cur)

    return update


# -- checkpoints ------------------------------------------------------------------------------
def _save_checkpoint(path: Path, epoch: int, run: _Run) -> None:
    """Write everything an exact resume after ``epoch`` needs, RNG state included."""
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        "epoch": epoch,
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "best_state": run.best_state,
        "ema": None if run.ema is None else run.ema.state_dict(),
        "best_val_loss": run.history.best_val_loss,
        "best_epoch": run.history.best_epoch,
        "bad_epochs": run.bad_epochs,
        "steps": run.history.steps,
        "epochs": run.history.epochs,
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)  # atomic: a kill mid-write leaves the previous checkpoint intact


def _resume(path: Path, run: _Run) -> None:
    """Restore weights, optimiser, schedule, RNG state and history; training goes on after the
    checkpoint's epoch."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated or foreign file: say which and how to recover
        raise ValueError(
            f"checkpoint {path} cannot be read safely ({err}); delete it to start afresh."
        ) from err
    run.model.load_state_dict(state["model"])
    run.optimizer.load_state_dict(state["optimizer"])
    run.scheduler.load_state_dict(state["scheduler"])
    if run.ema is not None and state.get("ema") is not None:
        run.ema.load_state_dict(state["ema"])
    torch.set_rng_state(state["torch_rng"])
    if state["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    history = run.history
    history.best_val_loss, history.best_epoch = state["best_val_loss"], state["best_epoch"]
    history.steps, history.epochs = state["steps"], list(state["epochs"])
    log.info("resumed from %s after epoch %d", path, state["epoch"])
    run.start_epoch, run.best_state = state["epoch"] + 1, state["best_state"]
    run.bad_epochs = state["bad_epochs"]


class Trainer:
    """Train a forecasting network on window loaders.

    Parameters
    ----------
    max_epochs, max_steps : int
        Limits on passes and optimiser steps (``max_steps=None``: no step limit).
    time_budget : float, optional
        Wall-clock seconds after which training stops at the end of the current step.
    learning_rate, weight_decay : float
        AdamW settings.
    warmup_fraction : float
        Share of the planned steps spent warming the learning rate up linearly; cosine decay to
        ``min_lr_ratio * learning_rate`` follows.
    grad_clip : float, optional
        Max global gradient norm.
    patience : int, optional
        Epochs without validation improvement before stopping; the best weights are restored.
        Without a validation loader the training loss stands in, with a ``UserWarning``.
    restore_best : bool
        End with the weights of the best epoch (default) or, if False, those of the last.
    loss : {'mse', 'mae', 'huber', 'quantile'}
        Training loss; ``'quantile'`` needs ``quantiles``.
    quantiles : sequence of float, optional
        Quantile levels matching the network's ``n_quantiles`` outputs.
    device : str
        ``'auto'``, ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or ``'mps'``.
    precision : {'auto', 'fp32', 'bf16'}
        ``'auto'`` is bf16 autocast on CUDA and fp32 elsewhere.
    compile : bool
        Wrap the network in ``torch.compile``.
    checkpoint_dir : str or Path, optional
        Write ``last.pt`` there after every epoch and resume from it when present.
    random_state : int, optional
        Seeds torch before training for reproducible dropout and ordering.
    verbose : int, optional
        None: a progress bar (steps, with the losses) when stderr is an interactive terminal;
        0 silent; 1 the bar and one log line per epoch (train loss, val loss, lr, windows/s).
    callbacks : sequence of callables
        Called as ``callback(epoch, metrics)`` after every epoch; may raise to stop (e.g. pruning).
    ema_epochs : float, optional
        Validate, keep and return an exponential moving average of the weights over about the
        last ``ema_epochs`` epochs instead of the raw weights (decay per optimiser step
        ``1 - 1 / (ema_epochs * steps per epoch)``, bias-corrected). None: off.
    """

    def __init__(
        self,
        *,
        max_epochs: int = 100,
        max_steps: int | None = None,
        time_budget: float | None = None,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-4,
        warmup_fraction: float = 0.05,
        min_lr_ratio: float = 0.01,
        grad_clip: float | None = 1.0,
        patience: int | None = 10,
        restore_best: bool = True,
        loss: str = "mse",
        quantiles: Sequence[float] | None = None,
        device: str = "auto",
        precision: str = "auto",
        compile: bool = False,
        checkpoint_dir: str | Path | None = None,
        random_state: int | None = None,
        verbose: int | None = 1,
        callbacks: Sequence[Callback] = (),
        ema_epochs: float | None = None,
    ) -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss={loss!r} is unknown; expected one of {LOSSES}.")
        if loss == "quantile" and not quantiles:
            raise ValueError("loss='quantile' needs quantiles=[...] (e.g. [0.1, 0.5, 0.9]).")
        if quantiles is not None and not all(0 < q < 1 for q in quantiles):
            raise ValueError(f"quantiles must lie strictly between 0 and 1, got {list(quantiles)}.")
        if precision not in ("auto", "fp32", "bf16"):
            raise ValueError(f"precision={precision!r}; expected 'auto', 'fp32' or 'bf16'.")
        if max_epochs < 1 or (max_steps is not None and max_steps < 1):
            raise ValueError("max_epochs and max_steps must be >= 1.")
        if ema_epochs is not None and not ema_epochs > 0:
            raise ValueError(f"ema_epochs must be a positive number of epochs, got {ema_epochs}.")
        self.max_epochs, self.max_steps, self.time_budget = max_epochs, max_steps, time_budget
        self.learning_rate, self.weight_decay = learning_rate, weight_decay
        self.warmup_fraction, self.min_lr_ratio = warmup_fraction, min_lr_ratio
        self.grad_clip, self.patience, self.restore_best = grad_clip, patience, restore_best
        self.loss, self.quantiles = loss, None if quantiles is None else list(quantiles)
        self.device, self.precision, self.compile = device, precision, compile
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.random_state, self.verbose, self.callbacks = random_state, verbose, list(callbacks)
        self.ema_epochs = ema_epochs

    # -- pieces of the loop ---------------------------------------------------------------
    def _loss_fn(self, device: torch.device) -> Callable[[Tensor, Tensor], Tensor]:
        if self.loss == "quantile":
            q = torch.tensor(self.quantiles, device=device)
            return lambda pred, target: pinball_loss(pred, target, q)
        base = {
            "mse": nn.functional.mse_loss,
            "mae": nn.functional.l1_loss,
            "huber": nn.functional.huber_loss,
        }
        fn = base[self.loss]
        # a point loss on several quantile outputs would collapse them: train the middle one
        return lambda pred, target: fn(
            pred[..., pred.shape[-1] // 2 : pred.shape[-1] // 2 + 1], target
        )

    def _schedule(self, total_steps: int) -> Callable[[int], float]:
        warmup = max(1, int(self.warmup_fraction * total_steps))

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
            return self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (
                1 + math.cos(math.pi * progress)
            )

        return factor

    @torch.no_grad()
    def evaluate(
        self, model: nn.Module, loader: WindowLoader, device: torch.device | None = None
    ) -> float:
        """Mean loss over every window of ``loader``."""
        device = device or next(model.parameters()).device
        loss_fn, autocast = self._loss_fn(device), self._autocast(device)
        model.eval()
        total, count = 0.0, 0
        for batch in loader:
            batch = batch.to(device, non_blocking=True)
            with autocast:
                pred = _forward(model, batch)
            total += float(loss_fn(pred.float(), batch.target)) * len(batch.series)
            count += len(batch.series)
        total, count = _all_sum([total, count], loader.world_size, device)
        return total / max(count, 1)

    def _bf16(self, device: torch.device) -> bool:
        return self.precision == "bf16" or (self.precision == "auto" and device.type == "cuda")

    def _autocast(self, device: torch.device) -> contextlib.AbstractContextManager:
        if not self._bf16(device):  # a disabled autocast still costs a context switch per step
            return contextlib.nullcontext()
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)

    def _checkpoint_path(self) -> Path | None:
        return None if self.checkpoint_dir is None else self.checkpoint_dir / "last.pt"

    # -- the loop -----------------------------------------------------------------------------
    def fit(
        self, model: nn.Module, train_loader: WindowLoader, val_loader: WindowLoader | None = None
    ) -> History:
        """Train ``model`` in place and return its :class:`History`; best weights are restored."""
        with _progress(self.verbose) as make_bar:
            return self._fit(model, train_loader, val_loader, make_bar)

    def _fit(
        self,
        model: nn.Module,
        train_loader: WindowLoader,
        val_loader: WindowLoader | None,
        make_bar: Any,
    ) -> History:
        run = self._start(model, train_loader, val_loader)
        if make_bar is not None and run.rank == 0:
            run.bar = make_bar(_planned_steps(self, len(train_loader)))
        try:
            return self._epochs(run, train_loader, val_loader)
        finally:
            if run.bar is not None:
                run.bar.close()

    def _epochs(
        self, run: _Run, train_loader: WindowLoader, val_loader: WindowLoader | None
    ) -> History:
        stop = ""
        for epoch in range(run.start_epoch, self.max_epochs):
            train_loader.set_epoch(epoch)  # the order is drawn from (seed, epoch): resumable
            metrics, stop = self._train_epoch(run, train_loader, epoch)
            if val_loader is not None:
                evaluated = run.net if run.ema is None else run.ema.module
                metrics["val_loss"] = self.evaluate(evaluated, val_loader, run.device)
            run.keep_best(epoch, metrics.get("val_loss", metrics["train_loss"]))
            run.history.epochs.append(metrics)
            if run.bar is not None:
                run.bar.set_postfix_str(_losses(epoch, metrics), refresh=False)
            if self.verbose and run.rank == 0:
                _log_epoch(epoch, metrics)
            for callback in self.callbacks:
                callback(epoch, metrics)
            if run.checkpoint is not None:
                _save_checkpoint(run.checkpoint, epoch, run)
            if not stop and self.patience is not None and run.bad_epochs >= self.patience:
                stop = f"no improvement for {self.patience} epochs"
            if stop:
                break
        return run.finish(stop or f"max_epochs={self.max_epochs} reached", self.restore_best)

    def _start(
        self, model: nn.Module, train_loader: WindowLoader, val_loader: WindowLoader | None
    ) -> _Run:
        """Everything before the first epoch: process group, device, seed, sharded loaders,
        optimiser and schedule, then the checkpoint to resume from when there is one."""
        rank, world_size, local_rank = init_distributed()
        device = resolve_device(self.device)
        if world_size > 1 and device.type == "cuda":
            device = torch.device("cuda", local_rank)  # one GPU per torchrun process
        if self.random_state is not None:
            torch.manual_seed(self.random_state)
        net = _place(
            model,
            (train_loader, val_loader),
            device,
            rank=rank,
            world_size=world_size,
            local_rank=local_rank,
            compile=self.compile,
        )
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=self.learning_rate, weight_decay=self.weight_decay
        )
        total_steps = _planned_steps(self, len(train_loader))
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, self._schedule(total_steps))
        run = _Run(
            model=model,
            net=net,
            device=device,
            rank=rank,
            world_size=world_size,
            optimizer=optimizer,
            scheduler=scheduler,
            loss_fn=self._loss_fn(device),
            autocast=self._autocast(device),
            history=History(
                device=str(device),
                precision="bf16" if self._bf16(device) else "fp32",
                monitor="train_loss" if val_loader is None else "val_loss",
                val_windows=0 if val_loader is None else val_loader.size,
            ),
            checkpoint=self._checkpoint_path(),
        )
        run.ema = _averaged(model, self.ema_epochs, len(train_loader))
        if val_loader is None and self.patience is not None and rank == 0:
            warnings.warn(
                f"no validation windows: early stopping (patience={self.patience}) and the "
                "choice of the best epoch use the training loss, which keeps falling while a "
                "network overfits; give validation data (longer series or a larger val_size) "
                "or set patience=None.",
                UserWarning,
                stacklevel=3,
            )
        if run.checkpoint is not None and run.checkpoint.exists():
            _resume(run.checkpoint, run)
        if self.verbose and rank == 0:
            log.info("training on %s (%s)", device, "bf16" if self._bf16(device) else "fp32")
        run.started = time.perf_counter()
        return run

    def _train_epoch(
        self, run: _Run, loader: WindowLoader, epoch: int
    ) -> tuple[dict[str, float], str]:
        """One pass of optimiser steps over ``loader``: the epoch's metrics, summed over ranks,
        and why training stops now (``''`` to go on)."""
        run.net.train()
        epoch_start, epoch_loss, epoch_windows, stop = time.perf_counter(), 0.0, 0, ""
        for batch in loader:
            batch = batch.to(run.device, non_blocking=True)
            loss = run.step(batch, self.grad_clip)
            if run.bar is not None:
                run.bar.update(1)
            epoch_loss += loss.detach() * len(batch.series)  # no host sync per step
            epoch_windows += len(batch.series)
            stop = self._step_limit(run)
            if stop:
                break
        seconds = time.perf_counter() - epoch_start
        epoch_loss, epoch_windows = _all_sum(
            [float(epoch_loss), epoch_windows], run.world_size, run.device
        )
        run.train_time += seconds
        run.windows_seen += epoch_windows
        return {
            "epoch": epoch,
            "train_loss": float(epoch_loss) / max(epoch_windows, 1),
            "lr": run.scheduler.get_last_lr()[0],
            "windows_per_s": epoch_windows / max(seconds, 1e-9),
        }, stop

    def _step_limit(self, run: _Run) -> str:
        """Why training stops after this step (``max_steps`` or the time budget), else ``''``."""
        if self.max_steps and run.history.steps >= self.max_steps:
            return f"max_steps={self.max_steps} reached"
        if self.time_budget:
            over = float(time.perf_counter() - run.started >= self.time_budget)
            if _all_sum([over], run.world_size, run.device)[0] > 0:  # every rank stops together
                return f"time budget of {self.time_budget:.0f}s reached"
        return ""
