"""Running a study: open or resume it in its storage, and score each trial by a backtest."""

from __future__ import annotations

import contextlib
import logging
import math
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution, CategoricalDistribution, IntDistribution
from optuna.exceptions import ExperimentalWarning
from optuna.trial import TrialState

import tsattn
from tsattn.evaluation import backtest
from tsattn.metrics import METRICS
from tsattn.tracking.studies import StudyRun
from tsattn.tuning.plan import Plan
from tsattn.tuning.spaces import SearchSpace
from tsattn.tuning.storage import make_storage

log = logging.getLogger("tsattn.tuning")


def _objective(plan: Plan, study: optuna.Study) -> Callable[[optuna.Trial], float]:
    def objective(trial: optuna.Trial) -> float:
        if plan.run.n_trials is not None and trial.number >= plan.run.n_trials:
            study.stop()  # another worker asked for a trial at the same instant
            reason = f"skipped: the study already has n_trials={plan.run.n_trials} trials"
            trial.set_user_attr("reason", reason)
            raise optuna.TrialPruned(reason)
        try:
            return _evaluate(plan, study, trial)
        except optuna.TrialPruned:
            raise
        except KeyboardInterrupt:
            trial.set_user_attr("reason", "interrupted (KeyboardInterrupt)")
            raise
        except Exception as err:
            trial.set_user_attr("reason", _reason(err))
            raise

    return objective


def _evaluate(plan: Plan, study: optuna.Study, trial: optuna.Trial) -> float:
    """Backtest the trial's parameters; record every metric, the time and the cutoffs."""
    params = plan.space(trial)  # the draws are recorded, also those of the defaults trial
    if trial.user_attrs.get("defaults"):
        params = {}  # the model as given: exactly its defaults, whatever the space derives
    callbacks = (_pruning_callback(trial, type(study.pruner).__name__),) if plan.neural else ()
    est = plan.configure(params, callbacks)
    start = time.perf_counter()
    result = backtest(
        est, plan.df, n_windows=plan.run.n_windows, step=plan.run.step, **plan.fit_params
    )
    trial.set_user_attr("fit_seconds", round(time.perf_counter() - start, 3))
    scores = {k: float(v) for k, v in result.summary().items()}
    actual, pred = result.forecasts["y"].to_numpy(), result.forecasts["y_pred"].to_numpy()
    if (actual != 0).all():
        scores["mape"] = METRICS["mape"](actual, pred)
    for key, value in scores.items():
        trial.set_user_attr(key, value)
    cutoffs = result.forecasts["cutoff"]
    trial.set_user_attr("first_cutoff", str(cutoffs.min()))
    trial.set_user_attr("last_cutoff", str(cutoffs.max()))
    value = scores.get(plan.run.metric, math.nan)
    if not math.isfinite(value):
        why = (
            "the forecasts are not finite (did the training diverge? try a smaller learning_rate)"
            if not np.isfinite(pred).all()
            else "the metric is undefined on these data (mape with a true value of 0?)"
        )
        raise ValueError(f"{plan.run.metric} is {value}: {why}.")
    return value


def _pruning_callback(trial: optuna.Trial, pruner: str) -> Callable[[int, dict], None]:
    """``callback(epoch, metrics)`` for the network's training: report, and stop when told.

    A closure, not an object holding the trial: ``sklearn.clone`` deep-copies parameters but
    leaves functions as they are, so every clone the backtest makes reports to this trial.
    """

    def report(epoch: int, metrics: dict) -> None:
        name = "val_loss" if "val_loss" in metrics else "train_loss"
        value = float(metrics[name])
        trial.report(value, epoch)
        if trial.should_prune():
            reason = f"pruned at epoch {epoch}: {name} {value:.4g} ({pruner})"
            trial.set_user_attr("reason", reason)
            raise optuna.TrialPruned(reason)

    return report


def _reason(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0] if lines else ''}"[:500]


# -- running the study --------------------------------------------------------------------------


def open_study(
    plan: Plan, storage, study_name, sampler, pruner, random_state, heartbeat_interval
) -> optuna.Study:
    """Create or load the study, refusing one that tunes another task."""
    _check_types(sampler, pruner)
    store = (
        storage
        if isinstance(storage, optuna.storages.BaseStorage)
        else make_storage(storage, heartbeat_interval)
    )
    name = study_name or f"tsattn-{plan.name}"
    existing = None
    if name in optuna.study.get_all_study_names(store):
        existing = optuna.load_study(study_name=name, storage=store)
        _check_same_task(existing, plan, name)
    count = len(existing.get_trials(deepcopy=False)) if existing else 0
    if sampler is None:
        seed = None if random_state is None else random_state + count
        sampler = optuna.samplers.TPESampler(seed=seed)
    if pruner is None:
        pruner = (
            optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
            if plan.neural
            else optuna.pruners.NopPruner()
        )
    study = optuna.create_study(
        storage=store,
        study_name=name,
        sampler=sampler,
        pruner=pruner,
        direction="minimize",
        load_if_exists=True,
    )
    _check_same_task(study, plan, name)
    attrs = {
        "model": plan.name,
        "metric": plan.run.metric,
        "direction": "minimize",
        "horizon": plan.base.horizon,
        "n_windows": plan.run.n_windows,
        "tsattn_version": tsattn.__version__,
        "search_space": plan.space_description,
    }
    for key, value in attrs.items():
        if study.user_attrs.get(key) != value:
            study.set_user_attr(key, value)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)  # a dead worker's trial, even with no budget left
    _warn_running(study, store)
    if plan.run.start_from_defaults and count == 0:  # a new study
        _enqueue_defaults(study, plan)
    return study


def _enqueue_defaults(study: optuna.Study, plan: Plan) -> None:
    """Queue the estimator's own settings as a trial, when they are a point of the space.

    The study then never ends worse (on its own windows) than not tuning at all. Only a new
    study gets it; ``skip_if_exists`` keeps workers that start together on one new study from
    queueing it twice (all but the same instant).
    """
    if not isinstance(plan.space, SearchSpace) or not plan.space.distributions:
        return
    defaults = plan.defaults()
    params = {n: defaults.get(n, _MISSING) for n in plan.space.distributions}
    outside = [n for n, d in plan.space.distributions.items() if not _holds(d, params[n])]
    if outside:
        log.debug("no trial of the defaults: the search space leaves out %s", outside)
        return
    study.enqueue_trial(params, user_attrs={"defaults": True}, skip_if_exists=True)


_MISSING = object()
#: Every state but WAITING: the trials a worker has started.
_STARTED = tuple(s for s in TrialState if s != TrialState.WAITING)


def _holds(dist: BaseDistribution, value: Any) -> bool:
    """Whether ``value`` is one of the values ``dist`` can draw."""
    if isinstance(dist, CategoricalDistribution):
        return any(type(c) is type(value) and c == value for c in dist.choices)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if isinstance(dist, IntDistribution) and not isinstance(value, int):
        return False
    if not number or not dist.low <= value <= dist.high:
        return False
    return not dist.step or math.isclose(
        round((value - dist.low) / dist.step) * dist.step, value - dist.low
    )


def _check_types(sampler: Any, pruner: Any) -> None:
    if sampler is not None and not isinstance(sampler, optuna.samplers.BaseSampler):
        raise TypeError(f"sampler must be an Optuna sampler, got {type(sampler).__name__}.")
    if pruner is not None and not isinstance(pruner, optuna.pruners.BasePruner):
        raise TypeError(f"pruner must be an Optuna pruner, got {type(pruner).__name__}.")


def _check_same_task(study: optuna.Study, plan: Plan, name: str) -> None:
    attrs = study.user_attrs
    have = {
        "direction": "/".join(d.name.lower() for d in study.directions),
        "model": attrs.get("model", plan.name),
        "metric": attrs.get("metric", plan.run.metric),
        "horizon": attrs.get("horizon", plan.base.horizon),
    }
    want = {
        "direction": "minimize",
        "model": plan.name,
        "metric": plan.run.metric,
        "horizon": plan.base.horizon,
    }
    if have != want:
        what = ", ".join(f"{k} {v}" for k, v in have.items())
        asked = ", ".join(f"{k} {v}" for k, v in want.items())
        raise ValueError(
            f"study {name!r} exists in this storage with {what}, but this call has {asked}; "
            "pass another study_name, or the same model, metric and horizon to resume it."
        )


def _warn_running(study: optuna.Study, store: Any) -> None:
    if not isinstance(store, optuna.storages.journal.JournalStorage):
        return
    running = [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))]
    if running:
        log.warning(
            "study %r has RUNNING trials %s. A journal storage has no heartbeat (Optuna 5.0), "
            "so the trial of a worker that died stays RUNNING and counts towards n_trials; use "
            "an RDB storage (sqlite:///..., postgresql+psycopg://...) to have it failed.",
            study.study_name,
            running,
        )


def run_study(study: optuna.Study, plan: Plan, tracked: StudyRun | None) -> None:
    """Optimise until the study holds ``n_trials`` trials or ``timeout`` passes (``tracked``
    logs each finished trial as a nested MLflow run)."""
    # a queued trial (the defaults) is WAITING: it is one of the trials still to run
    done = len(study.get_trials(deepcopy=False, states=_STARTED))
    total = f", {plan.run.n_trials} in total" if plan.run.n_trials else ""
    plan.say(
        f"tuning {plan.name} by {plan.run.metric} over the last {plan.run.n_windows} "
        f"backtest windows of each series: study {study.study_name!r}, {done} trials so "
        f"far{total}",
    )
    callbacks: list[Callable] = [_progress(plan)] if plan.run.verbose else []
    callbacks += [tracked] if tracked is not None else []
    n_trials = None
    if plan.run.n_trials is not None:
        n_trials = plan.run.n_trials - done
        if n_trials <= 0:
            plan.say(f"the study has its n_trials={plan.run.n_trials} trials: nothing to run")
            return
        callbacks.append(optuna.study.MaxTrialsCallback(plan.run.n_trials, states=None))
    study.optimize(
        _objective(plan, study),
        n_trials=n_trials,
        timeout=plan.run.timeout,
        catch=(Exception,),
        callbacks=callbacks,
    )


def _progress(plan: Plan) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    """Study callback: one line per finished trial."""

    def line(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        total = plan.run.n_trials if plan.run.n_trials is not None else "?"
        if trial.state == TrialState.COMPLETE:
            what = f"{plan.run.metric} {trial.value:.4g}"
        else:
            reason = trial.user_attrs.get("reason", "")
            what = reason if trial.state == TrialState.PRUNED else f"failed: {reason}"
        if trial.user_attrs.get("defaults"):
            what += " (the model's defaults)"
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        best = min(completed, key=lambda t: t.value, default=None)
        so_far = f"best {best.value:.4g} (trial {best.number})" if best else "none completed yet"
        log.info("trial %d (%d/%s): %s; %s", trial.number, trial.number + 1, total, what, so_far)

    return line


@contextlib.contextmanager
def tuning_logs(verbose: int) -> Iterator[None]:
    """Optuna's own logging at WARNING (INFO with verbose >= 2), the ``tsattn.tuning`` logger's
    at INFO."""
    old_optuna, old_level = optuna.logging.get_verbosity(), log.level
    optuna.logging.set_verbosity(optuna.logging.INFO if verbose >= 2 else optuna.logging.WARNING)
    handler = None
    if verbose:
        log.setLevel(logging.INFO)
        if not log.hasHandlers():
            handler = logging.StreamHandler(sys.stderr)
            log.addHandler(handler)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(old_optuna)
        log.setLevel(old_level)
        if handler is not None:
            log.removeHandler(handler)
