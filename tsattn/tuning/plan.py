"""The plan of a study: the model, its fixed parameters, the data and the space, all checked
before anything touches the storage."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import optuna
from sklearn.base import clone

from tsattn.data.frames import ColumnRoles, FrameLike
from tsattn.data.timestamps import season_length as natural_season
from tsattn.estimators import get_estimator
from tsattn.forecaster import BaseForecaster
from tsattn.metrics import METRICS
from tsattn.models import MODELS
from tsattn.neural import NeuralForecaster, default_segment_length
from tsattn.params import check_choice, check_param
from tsattn.tuning.spaces import SearchSpace, default_search_space, registry_name, space_from_dict

log = logging.getLogger("tsattn.tuning")

#: Most epochs a network trains per trial unless the instance given to ``tune`` sets max_epochs.
TUNING_MAX_EPOCHS = 20
#: Metrics a study can minimise.
TUNING_METRICS = ("mase", *METRICS)
#: Network arguments the forecaster sets from the data: never searched.
_DATA_ARGUMENTS = frozenset(
    {"lookback", "horizon", "n_past_covariates", "n_future_covariates", "n_static", "n_quantiles"}
)
#: Estimator parameters that define the task or the plumbing, not the model.
_NOT_TUNABLE = frozenset({"horizon", "callbacks", "model_options"})


@dataclass(frozen=True)
class Settings:
    """How the study runs and scores trials; checked when made."""

    metric: str
    n_trials: int | None
    timeout: float | None
    n_windows: int
    step: int | None
    verbose: int
    start_from_defaults: bool = True

    def __post_init__(self) -> None:
        check_choice("metric", self.metric, list(TUNING_METRICS))
        if self.n_trials is None and self.timeout is None:
            raise ValueError(
                "pass n_trials (the study's total number of trials) or timeout (seconds per "
                "worker), or both."
            )
        check_param("n_trials", self.n_trials, low=1, integer=True, allow_none=True)
        check_param("timeout", self.timeout, low=0, low_open=True, allow_none=True)
        check_param("n_windows", self.n_windows, low=1, integer=True)
        check_param("step", self.step, low=1, integer=True, allow_none=True)
        check_param("verbose", self.verbose, low=0, integer=True)


@dataclass
class Plan:
    """Everything a trial needs, checked before the first one runs."""

    name: str
    base: BaseForecaster
    fixed: dict[str, Any]
    options: frozenset[str]
    space: Callable[[optuna.Trial], dict[str, Any]]
    space_description: dict[str, str]
    df: FrameLike
    fit_params: dict[str, Any]
    run: Settings
    season: int = 1

    @property
    def neural(self) -> bool:
        return isinstance(self.base, NeuralForecaster)

    def configure(self, params: dict[str, Any], callbacks: tuple = ()) -> BaseForecaster:
        """A clone of the base estimator with ``params`` (network options into model_options)."""
        est = clone(self.base)
        est.set_params(**self.estimator_params(params))
        if callbacks:
            est.set_params(callbacks=[*(self.base.get_params()["callbacks"] or ()), *callbacks])
        return est

    def estimator_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` as estimator keyword arguments: network options go into model_options."""
        direct = {k: v for k, v in params.items() if k not in self.options}
        options = {k: v for k, v in params.items() if k in self.options}
        if options:
            direct["model_options"] = {**(self.base.get_params()["model_options"] or {}), **options}
        return direct

    def say(self, message: str) -> None:
        """Log ``message`` at INFO when ``verbose`` asks for progress."""
        if self.run.verbose:
            log.info(message)

    def defaults(self) -> dict[str, Any]:
        """What each parameter is when nothing sets it: the estimator's value, or for a network
        size left at None and for the network options, the network's own default."""
        params = self.base.get_params()
        if not self.neural:
            return params
        signature = inspect.signature(MODELS[self.base.model_name]).parameters
        network = {k: p.default for k, p in signature.items() if p.default is not p.empty}
        segment = default_segment_length(self.base.model_name, self.season, params["lookback"])
        if segment is not None:
            network["segment_length"] = segment  # what the estimator picks for these data
        given = {k: v for k, v in params.items() if v is not None}
        return network | (params["model_options"] or {}) | given


def _resolve_model(
    model: Any, fixed_params: Mapping[str, Any] | None = None
) -> tuple[str, BaseForecaster, dict[str, Any]]:
    """Registered name, a fresh estimator and its fixed parameters: those an instance sets
    explicitly (different from the class defaults) and ``fixed_params``."""
    if isinstance(model, str):
        est = get_estimator(model)()
    elif isinstance(model, type) and issubclass(model, BaseForecaster):
        est = model()
    elif isinstance(model, BaseForecaster):
        est = clone(model)
    else:
        raise TypeError(
            f"model must be an estimator name such as 'lstm', an estimator class or an "
            f"instance; got {type(model).__name__}."
        )
    unknown = sorted(set(fixed_params or {}) - set(est.get_params()))
    if unknown:
        raise ValueError(
            f"fixed_params {unknown} are not parameters of {type(est).__name__}; it has "
            f"{sorted(est.get_params())}."
        )
    est.set_params(**(fixed_params or {}))
    defaults = type(est)().get_params()
    fixed = {k: v for k, v in est.get_params().items() if _differs(v, defaults[k])}
    return registry_name(type(est)), est, fixed | dict(fixed_params or {})


def _differs(a: Any, b: Any) -> bool:
    try:
        return bool(a != b)
    except (TypeError, ValueError):  # arrays and other values without a truth value
        return a is not b


def _network_options(est: BaseForecaster) -> frozenset[str]:
    """Options of the estimator's network that are not estimator parameters (model_options)."""
    if not isinstance(est, NeuralForecaster):
        return frozenset()
    names = set(inspect.signature(MODELS[est.model_name]).parameters) - _DATA_ARGUMENTS
    return frozenset(names - set(est.get_params()))


def _fixed_names(fixed: dict[str, Any]) -> dict[str, Any]:
    """Fixed parameters with the fixed network options flattened in."""
    flat = {k: v for k, v in fixed.items() if k != "model_options"}
    return flat | dict(fixed.get("model_options") or {})


def _max_lookback(est: BaseForecaster, lengths: np.ndarray, n_windows: int, step: int) -> int:
    """Longest lookback every series allows before the first backtest origin.

    The backtest fits on the rows before its first origin and needs ``lookback + horizon`` of
    them; a network needs that many in the training part, before its validation rows.
    """
    available = int(lengths.min()) - est.horizon - (n_windows - 1) * step
    if isinstance(est, NeuralForecaster):
        available = int(available * (1 - est.val_size))
    return available - est.horizon


def make_plan(
    model: Any,
    df: FrameLike,
    search_space: Any,
    run: Settings,
    random_state: int | None,
    fit_params: dict[str, Any],
    fixed_params: Mapping[str, Any] | None = None,
) -> Plan:
    """Check the model, the data and the search space; nothing touches the storage yet."""
    name, base, fixed = _resolve_model(model, fixed_params)
    if isinstance(base, NeuralForecaster) and "max_epochs" not in fixed:
        base.set_params(max_epochs=TUNING_MAX_EPOCHS)
    if "random_state" in base.get_params() and "random_state" not in fixed:
        base.set_params(random_state=random_state)
    panel = base.check_frame(df, roles=ColumnRoles.from_kwargs(**fit_params))
    season = natural_season(panel.freq)
    if search_space is None:
        longest = _max_lookback(base, panel.lengths, run.n_windows, run.step or base.horizon)
        _check_long_enough(base, panel, longest, run.n_windows)
        space = default_search_space(
            type(base),
            season_length=season,
            horizon=base.horizon,
            max_lookback=longest,
            fixed=_fixed_names(fixed),
        )
    elif isinstance(search_space, Mapping):
        space = space_from_dict(search_space)
    elif callable(search_space):
        space = search_space
    else:
        raise TypeError(
            "search_space must be None (the default), a dict {parameter: distribution} or a "
            f"callable trial -> dict; got {type(search_space).__name__}."
        )
    plan = Plan(
        name,
        base,
        fixed,
        _network_options(base),
        space,
        _space_description(space),
        df,
        dict(fit_params),
        run,
        season,
    )
    _check_space(plan)
    return plan


def _check_long_enough(est: BaseForecaster, panel: Any, longest: int, n_windows: int) -> None:
    if longest >= 1:
        return
    s = int(np.argmin(panel.lengths))
    raise ValueError(
        f"series {panel.ids[s]!r} has {panel.lengths[s]} timesteps: too few to fit "
        f"{type(est).__name__} before {n_windows} backtest windows of horizon {est.horizon}; "
        "pass fewer n_windows, a smaller step or longer series."
    )


def _space_description(space: Any) -> dict[str, str]:
    if isinstance(space, SearchSpace):
        return space.describe()
    return {"callable": getattr(space, "__qualname__", type(space).__name__)}


def _check_space(plan: Plan) -> None:
    """Draw one set of parameters on a scratch in-memory trial and check their names."""
    scratch = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    try:
        params = plan.space(scratch.ask())
    except Exception as err:
        err.add_note("(raised by search_space on a scratch trial drawn to check it)")
        raise
    if not isinstance(params, dict):
        raise TypeError(
            f"search_space must return a dict of parameters, got {type(params).__name__}."
        )
    tunable = sorted((set(plan.base.get_params()) - _NOT_TUNABLE) | plan.options)
    fixed = _fixed_names(plan.fixed)
    for name in params:
        if name not in tunable:
            raise ValueError(
                f"search space names {name!r}, which is not a tunable parameter of "
                f"{type(plan.base).__name__}; tunable: {tunable}."
            )
        if name in fixed:
            raise ValueError(
                f"search space names {name!r}, which the given {type(plan.base).__name__} "
                f"instance fixes to {fixed[name]!r}; drop it from search_space or leave it at "
                "its default in the instance."
            )
    if "loss" in params and plan.neural:
        log.warning(
            "searching 'loss': the pruner compares validation losses across trials, which "
            "differ in scale between loss functions; consider pruner=optuna.pruners.NopPruner()."
        )
