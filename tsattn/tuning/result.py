"""The outcome of a study: the trials table, the best parameters and the refitted estimator."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from tsattn.forecaster import BaseForecaster
from tsattn.tuning.plan import Plan


@dataclass
class TuneResult:
    """The outcome of :func:`tune`.

    Attributes
    ----------
    study : optuna.Study
        The study with every trial of every worker (plots: :func:`save_plots`).
    best_params_ : dict
        The best trial's parameters as estimator keyword arguments (network options in
        ``model_options``, merged with the instance's): ``clone(model).set_params(**best_params_)``
        rebuilds the model; ``{}`` when the best trial is the model's own defaults (trial
        attribute ``defaults``). The raw draws are ``study.best_params``.
    best_score_ : float
        The best trial's backtest ``metric`` (lower is better).
    best_estimator_ : BaseForecaster or None
        With ``refit=True``: the estimator with ``best_params_`` fitted on all of ``df``, ready
        to ``predict`` or ``save``.
    trials_ : pandas.DataFrame
        One row per trial: ``number, state, value, duration`` (seconds), ``reason`` (why a trial
        was pruned or failed), ``params`` (the draws), ``fit_seconds`` and every metric.
    metric : str
        The metric minimised.
    """

    study: optuna.Study = field(repr=False)
    best_params_: dict[str, Any]
    best_score_: float
    best_estimator_: BaseForecaster | None = field(repr=False)
    trials_: pd.DataFrame = field(repr=False)
    metric: str = "mase"

    def summary(self) -> pd.DataFrame:
        """A printable table, one row per trial (index: trial number), the best marked ``*``.

        Columns: ``best``, ``state``, the metric, ``seconds``, ``params`` (the draws as text)
        and ``reason`` (why a trial was pruned or failed).
        """
        trials = self.trials_.set_index("number")
        values = trials["value"].astype(float).where(trials["state"] == "COMPLETE")
        best = values.idxmin() if values.notna().any() else None
        table = pd.DataFrame(
            {
                "best": np.where(trials.index == best, "*", ""),
                "state": trials["state"].str.lower(),
                self.metric: trials["value"].astype(float),
                "seconds": trials["duration"],
                "params": trials["params"].map(
                    lambda p: ", ".join(
                        f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.items()
                    )
                ),
                "reason": trials["reason"],
            },
            index=trials.index,
        )
        return table


def trials_frame(study: optuna.Study) -> pd.DataFrame:
    """One row per trial of ``study``: number, state, value, duration, reason, params, metrics."""
    died = study.user_attrs
    rows = []
    for t in study.get_trials(deepcopy=False):
        done = t.datetime_start is not None and t.datetime_complete is not None
        reason = t.user_attrs.get("reason") or died.get(f"reason:trial {t.number}", "")
        rows.append(
            {
                "number": t.number,
                "state": t.state.name,
                "value": t.value,
                "duration": (t.datetime_complete - t.datetime_start).total_seconds()
                if done
                else math.nan,
                "reason": reason,
                "params": dict(t.params),
                **{k: v for k, v in t.user_attrs.items() if k != "reason"},
            }
        )
    columns = ["number", "state", "value", "duration", "reason", "params"]
    return pd.DataFrame(rows, columns=None if rows else columns)


def make_result(study: optuna.Study, plan: Plan, refit: bool) -> TuneResult:
    trials = trials_frame(study)
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not completed:
        counts = trials["state"].str.lower().value_counts().to_dict() if len(trials) else {}
        first = next((r for r in trials["reason"] if r), "") if len(trials) else ""
        raise ValueError(
            f"no trial of study {study.study_name!r} completed ({counts or 'no trials'})"
            + (f"; first reason: {first}" if first else "")
            + "; see optuna.load_study(...).trials or fix the search space."
        )
    best = min(completed, key=lambda t: t.value)
    params = plan.space(optuna.trial.FixedTrial(best.params, best.number))
    if best.user_attrs.get("defaults"):
        params = {}  # the model's defaults won: nothing to change
    best_params = plan.estimator_params(params)
    plan.say(f"best trial {best.number}: {plan.run.metric} {best.value:.4g} with {best_params}")
    estimator = None
    if refit:
        estimator = plan.configure(params).fit(plan.df, **plan.fit_params)
        plan.say(f"refitted the best {type(estimator).__name__} on all of the data given")
    return TuneResult(study, best_params, float(best.value), estimator, trials, plan.run.metric)
