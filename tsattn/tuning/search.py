"""``tune``: plan the study, open it, run it (tracked in MLflow when asked) and return its result."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import optuna
from sklearn.base import clone

from tsattn.data.frames import ColumnRoles, FrameLike
from tsattn.forecaster import BaseForecaster
from tsattn.tracking.runs import ready_tracker
from tsattn.tracking.studies import tracked_study
from tsattn.tuning.plan import Plan, Settings, make_plan
from tsattn.tuning.plots import save_plots
from tsattn.tuning.result import TuneResult, make_result
from tsattn.tuning.study import open_study, run_study, tuning_logs


def tune(
    model: str | type[BaseForecaster] | BaseForecaster,
    df: FrameLike,
    *,
    n_trials: int | None = None,
    timeout: float | None = None,
    metric: str = "mase",
    search_space: Mapping[str, Any] | Callable[[optuna.Trial], dict] | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    sampler: optuna.samplers.BaseSampler | None = None,
    pruner: optuna.pruners.BasePruner | None = None,
    n_windows: int = 3,
    step: int | None = None,
    refit: bool = True,
    random_state: int | None = 0,
    verbose: int = 1,
    heartbeat_interval: int | None = 10,
    fixed_params: Mapping[str, Any] | None = None,
    start_from_defaults: bool = True,
    tracking: Any = None,
    **fit_params: Any,
) -> TuneResult:
    """Search an estimator's hyperparameters by rolling-origin backtests of the end of ``df``.

    Each trial scores ``backtest(est, df, n_windows=n_windows, step=step, **fit_params)`` by
    ``summary()[metric]`` (lower is better). **Keep test data out of** ``df``. See :mod:`tsattn.tuning`.

    Parameters
    ----------
    model : str, estimator class or instance
        A registered name (``"lstm"``, ...), a class, or an instance whose set parameters
        (those that differ from the class defaults) stay fixed.
    df : DataFrame
        Long format as for ``fit``; ``fit_params`` name its columns (``id_col``, ...).
    n_trials, timeout : int, float, optional
        The study's total of trials (all workers, all states); this worker's seconds.
    metric : {'mase', 'mae', 'mse', 'rmse', 'smape', 'mape'}
        The backtest metric minimised (MASE at the data's natural season).
    search_space : dict or callable, optional
        ``{parameter: distribution, [choices] or (low, high[, 'log'])}`` or ``trial -> dict``;
        default: :func:`default_search_space` of the model and the data.
    storage, study_name, heartbeat_interval : optional
        Optuna URL or journal file (:func:`make_storage`), study (``"tsattn-<model>"``).
    sampler, pruner : optional
        Default: ``TPESampler(seed=random_state)``; ``MedianPruner`` for networks, else none.
    n_windows, step, refit : int, int, bool
        Backtest origins per series, the steps between them (default: the horizon); refit the
        best parameters on all of ``df`` as ``best_estimator_``.
    fixed_params, start_from_defaults : dict, bool
        Parameters not searched, even at their defaults (``{"lookback": 96}``); whether a new
        study's first trial is the model's own settings (when the space holds them).
    random_state, verbose : int
        Seeds the default sampler, and the estimator unless the instance sets its own (None:
        unseeded); 0 quiet, 1 a line per trial, 2 Optuna's log too.
    tracking : bool, str or tsattn.tracking.Tracker, optional
        Log to MLflow: a parent run per study (shared by workers) and a nested run per trial.

    Returns
    -------
    TuneResult

    Raises
    ------
    ValueError, TypeError, ConnectionError
        Before any trial: bad arguments, spaces, storages, study conflicts, tracking store.

    Examples
    --------
    >>> tsattn.tune("lstm", train_df, n_trials=30).best_estimator_.predict()  # doctest: +SKIP
    """
    with tuning_logs(verbose):
        tracking = ready_tracker(tracking)  # an unreachable store fails before any trial
        run = Settings(metric, n_trials, timeout, n_windows, step, verbose, start_from_defaults)
        plan = make_plan(model, df, search_space, run, random_state, fit_params, fixed_params)
        study = open_study(
            plan, storage, study_name, sampler, pruner, random_state, heartbeat_interval
        )
        return _run_tracked(study, plan, refit, tracking)


def _run_tracked(study: optuna.Study, plan: Plan, refit: bool, tracking: Any) -> TuneResult:
    """:func:`run_study` and :func:`make_result`, inside the study's MLflow run when ``tracking``."""
    settings = {"model": plan.name, "metric": plan.run.metric, "n_trials": plan.run.n_trials}
    settings.update({"n_windows": plan.run.n_windows, "step": plan.run.step})
    settings["study"] = study.study_name
    panel = None
    if tracking:
        roles = ColumnRoles.from_kwargs(**plan.fit_params)
        panel = clone(plan.base).check_frame(plan.df, roles=roles)
    data_name = getattr(plan.df, "attrs", {}).get("name")
    with tracked_study(tracking, study, settings, panel, data_name) as tracked:
        run_study(study, plan, tracked)
        result = make_result(study, plan, refit)
        if tracked is not None:
            plots = partial(save_plots, study)
            tracked.finish(result.best_params_, result.best_score_, result.trials_, plots)
    return result
