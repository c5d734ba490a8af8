"""Hyperparameter search with Optuna: every trial is a rolling-origin backtest of the data given.

:func:`tune` draws parameters with an Optuna sampler, scores each draw with
:func:`tsattn.backtest` (``n_windows`` forecast origins at the **end** of ``df``) and keeps the
best. Networks report their validation loss after every epoch so that Optuna's pruner can stop
poor trials early.

.. warning::
   Model selection sees only ``df``, and its last ``n_windows`` windows are what every trial is
   scored on. Keep your own test period **out of** ``df`` (e.g. ``tune(model, train_df, ...)``,
   then evaluate ``result.best_estimator_`` on the later data): a score of the tuned model on
   data that chose it is optimistic.

Storage
-------
Trials live in an Optuna storage so that a study can be resumed and shared by several workers
(processes or machines running ``tune`` with the same ``storage`` and ``study_name``):

* ``storage=None``: the SQLite file ``tsattn_tuning.db`` in the working folder.
* A SQLAlchemy URL (``sqlite:///x.db``, ``postgresql+psycopg://user@host/db``, ``mysql+...``):
  an ``RDBStorage`` with a heartbeat. A worker that dies leaves its trial RUNNING; the next
  worker to start or continue the study marks it FAIL, reason ``worker died (no heartbeat)``,
  once it has had no heartbeat for ``2 * heartbeat_interval`` seconds. Workers that create a
  new database at the same moment retry until one of them has made Optuna's tables.
* A path ending in ``.log`` or ``.jsonl``, or ``journal:PATH``:
  ``JournalStorage(JournalFileBackend(PATH))``, with **no heartbeat** (Optuna 5.0's journal
  storage does not implement one): the trial of a killed worker stays RUNNING and counts
  towards ``n_trials``, and ``tune`` warns when it finds such trials. Use an RDB storage for
  workers that may die.

``n_trials`` is the total of the study, shared by all its workers and counted over trials in any
state (complete, pruned, failed, running): a rerun with the same storage and ``study_name``
continues up to it (and runs nothing when the study already has that many); trial numbers are
``0 .. n_trials - 1``. Each worker stops when the study holds ``n_trials`` trials (Optuna's
``MaxTrialsCallback(n_trials, states=None)``, checked after each trial), and a trial whose number
is ``n_trials`` or more (two workers asking at the same instant) is not run: it ends PRUNED with
reason ``skipped: ...``. ``timeout`` is per worker.

The default sampler is ``TPESampler(seed=random_state + number of trials already in the study)``:
a fresh single-worker study is reproducible, and a resumed one does not replay its first draws.
Workers started at the same moment see the same count, so give each its own ``random_state``
(e.g. ``seed + worker index``) or ``random_state=None``.

Default search spaces
---------------------
``season`` is the natural season of the data's frequency
(:func:`tsattn.data.timestamps.season_length`: hourly 24, daily 7, monthly 12, ...); ``base`` is
the season, or the horizon when the data have none (integer time). Lookbacks are those of
``base * {1, 2, 4, 7}`` (networks: ``{1, 2, 4, 7, 14}``) that leave a training window in every
series before the first backtest origin. A parameter fixed by the instance passed to ``tune`` is left out.

================  ===============================================================================
model             parameters searched
================  ===============================================================================
lstm,             ``learning_rate`` log-uniform 1e-4..1e-2, ``batch_size`` {64, 128, 256},
attention_lstm,   ``lookback`` (above), ``dropout`` uniform 0..0.3, ``hidden_size``
transformer       {32, 64, 128, 256}, ``num_layers`` 1..3, ``segment_length``
                  {base/2, base, 2 base} (at most the lookback); attention_lstm: ``attention``
                  {general, dot} (additive per step: a B x H x L x D tensor); transformer:
                  ``n_heads`` {1, 2, 4, 8} and ``stride = segment_length // 2``
linear            ``learning_rate``, ``batch_size``, ``lookback``, ``dropout`` as above;
                  ``kernel_size`` {5, 13, 25, 49}
ets               ``trend`` {add, None}, ``damped_trend`` {True, False}, ``seasonal``
                  {add, None} (with a season)
arima             ``order`` = (``p`` 0..2, ``d`` 0..1, ``q`` 0..2); with a season
                  ``seasonal_order`` = (``seasonal_p``, ``seasonal_d``, ``seasonal_q``) 0..1 each
theta             ``season_length`` {1, season} and ``method`` {additive, multiplicative} (with a
                  season), ``lookback`` {None, 4 base, 8 base}
seasonal_naive    ``season_length`` {1, season, 2 season} ({1, 2, 4, 7, 12, 24} without a season)
mean, drift       ``lookback`` {None} and the lookbacks above
naive             nothing (every trial is the same forecast)
================  ===============================================================================

Networks train for at most ``max_epochs=20`` per trial (early stopping as usual) unless the
instance sets ``max_epochs``. ``loss`` is not searched by default: the pruner compares
validation losses across trials, which is meaningless between different loss functions.

A ``search_space`` can also be a dict ``{parameter: spec}`` (spec: an Optuna
``FloatDistribution`` / ``IntDistribution`` / ``CategoricalDistribution``, a list of choices,
or a range ``(low, high)`` / ``(low, high, "log")``) or a callable ``trial -> dict`` of estimator
parameters. Network options (``segment_length``, ``attention``, ``n_heads``, ``kernel_size``,
...) are named directly; they go into ``model_options``.

Progress
--------
With ``verbose >= 1`` each finished trial logs one line to the ``tsattn.tuning`` logger at INFO
(a stderr handler is added for the run when logging is not configured), e.g.::

    trial 3 (4/20): mase 0.8123; best 0.7011 (trial 1)
    trial 4 (5/20): pruned at epoch 2: val_loss 0.5312 (MedianPruner); best 0.7011 (trial 1)
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import random
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.exceptions import ExperimentalWarning
from optuna.trial import TrialState
from sklearn.base import clone

import tsattn
from tsattn.data.frames import ColumnRoles, FrameLike
from tsattn.data.timestamps import season_length as natural_season
from tsattn.estimators import ESTIMATORS, get_estimator
from tsattn.evaluation import backtest
from tsattn.forecaster import BaseForecaster
from tsattn.metrics import METRICS
from tsattn.models import MODELS
from tsattn.neural import NeuralForecaster
from tsattn.params import check_choice, check_param
from tsattn.plotting import pyplot
from tsattn.tracking.runs import ready_tracker
from tsattn.tracking.studies import StudyRun, tracked_study

__all__ = [
    "DEFAULT_STORAGE",
    "TUNING_MAX_EPOCHS",
    "TUNING_METRICS",
    "WORKER_DIED",
    "SearchSpace",
    "TuneResult",
    "default_search_space",
    "make_storage",
    "save_plots",
    "trials_frame",
    "tune",
]

log = logging.getLogger(__name__)

#: File name of the default SQLite storage, in the working folder.
DEFAULT_STORAGE = "tsattn_tuning.db"
#: Most epochs a network trains per trial unless the instance given to ``tune`` sets max_epochs.
TUNING_MAX_EPOCHS = 20
#: Metrics a study can minimise.
TUNING_METRICS = ("mase", *METRICS)
#: Reason recorded for the RUNNING trial of a worker that stopped sending heartbeats.
WORKER_DIED = "worker died (no heartbeat)"
#: Tries to open an RDB storage that other workers are creating at the same moment.
_OPEN_ATTEMPTS = 5
#: Network arguments the forecaster sets from the data: never searched.
_DATA_ARGUMENTS = frozenset(
    {"lookback", "horizon", "n_past_covariates", "n_future_covariates", "n_static", "n_quantiles"}
)
#: Estimator parameters that define the task or the plumbing, not the model.
_NOT_TUNABLE = frozenset({"horizon", "callbacks", "model_options"})


# -- search spaces --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SearchSpace:
    """Named Optuna distributions, drawn in order, and how the draws become estimator parameters.

    Calling it on a trial suggests every distribution (``trial.suggest_float`` / ``_int`` /
    ``_categorical``) and returns the estimator's keyword arguments: the draws themselves, or
    ``derive(draws)`` (e.g. ARIMA's ``p, d, q`` as ``order``).
    """

    distributions: dict[str, BaseDistribution]
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None

    def __call__(self, trial: optuna.Trial) -> dict[str, Any]:
        draws = {name: _draw(trial, name, d) for name, d in self.distributions.items()}
        return self.derive(draws) if self.derive else draws

    def describe(self) -> dict[str, str]:
        """One readable line per parameter, e.g. ``{'learning_rate': 'float 0.0001..0.01 log'}``."""
        return {name: _describe(d) for name, d in self.distributions.items()}


def _draw(trial: optuna.Trial, name: str, dist: BaseDistribution) -> Any:
    """Suggest ``name`` from ``dist`` through the trial's public ``suggest_*`` methods."""
    if isinstance(dist, FloatDistribution):
        return trial.suggest_float(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high, step=dist.step, log=dist.log)
    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    raise TypeError(f"cannot draw {name!r} from {dist!r}; use a Float/Int/CategoricalDistribution.")


def _describe(dist: BaseDistribution) -> str:
    if isinstance(dist, CategoricalDistribution):
        return f"one of {list(dist.choices)}"
    kind = "float" if isinstance(dist, FloatDistribution) else "int"
    extra = (" log" if dist.log else "") + (f" step {dist.step}" if dist.step else "")
    return f"{kind} {dist.low:g}..{dist.high:g}{extra}"


def default_search_space(
    model: str | type[BaseForecaster],
    *,
    season_length: int = 1,
    horizon: int = 24,
    max_lookback: int | None = None,
    fixed: Mapping[str, Any] | None = None,
) -> SearchSpace:
    """The default search space of an estimator (see the table in :mod:`tsattn.tuning`).

    Parameters
    ----------
    model : str or estimator class
        A registered name (``"lstm"``, ``"ets"``, ...) or the class.
    season_length : int
        The data's natural season (1: none); ``tune`` passes that of the data's frequency.
    horizon : int
        The forecast horizon: the base of the lookbacks when the data have no season.
    max_lookback : int, optional
        Longest lookback the data allow; longer candidates are dropped.
    fixed : dict, optional
        Parameters (and network options) that stay as they are: not searched. A fixed
        ``hidden_size`` limits ``n_heads`` to its divisors; a fixed ``lookback`` caps
        ``segment_length``.

    Returns
    -------
    SearchSpace
        Callable ``trial -> dict`` of estimator parameters.

    Examples
    --------
    >>> space = default_search_space("ets", season_length=24)
    >>> sorted(space.describe())
    ['damped_trend', 'seasonal', 'trend']
    """
    cls = get_estimator(model) if isinstance(model, str) else model
    fixed = dict(fixed or {})
    season = max(1, int(season_length))
    base = season if season > 1 else max(1, int(horizon))
    if issubclass(cls, NeuralForecaster):
        dists, derive = _network_space(cls.model_name, base, max_lookback, fixed)
    else:
        name = _registry_name(cls)
        if name not in _STATISTICAL_SPACES:
            raise ValueError(
                f"{cls.__name__} has no default search space; pass search_space={{...}} or a "
                "callable trial -> dict of its parameters."
            )
        dists, derive = _STATISTICAL_SPACES[name](season, base, max_lookback, fixed)
    return SearchSpace({k: d for k, d in dists.items() if k not in fixed}, derive)


#: Network lookbacks in seasons: up to two weeks of daily or hourly cycles (14 x 7 days = 98
#: days covers the networks' default of 96 steps on daily data).
NETWORK_MULTIPLES = (1, 2, 4, 7, 14)


def _lookbacks(base: int, max_lookback: int | None, multiples=(1, 2, 4, 7)) -> list[int]:
    values = [m * base for m in multiples]
    if max_lookback is None:
        return values
    return [v for v in values if v <= max_lookback] or [max(1, int(max_lookback))]


def _network_space(net: str, base: int, max_lookback: int | None, fixed: dict):
    dists: dict[str, BaseDistribution] = {
        "learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
        "batch_size": CategoricalDistribution([64, 128, 256]),
        "lookback": CategoricalDistribution(_lookbacks(base, max_lookback, NETWORK_MULTIPLES)),
        "dropout": FloatDistribution(0.0, 0.3),
    }
    if net == "linear":
        dists["kernel_size"] = CategoricalDistribution([5, 13, 25, 49])
    else:
        dists["hidden_size"] = CategoricalDistribution([32, 64, 128, 256])
        dists["num_layers"] = IntDistribution(1, 3)
        dists["segment_length"] = CategoricalDistribution(
            sorted({max(1, base // 2), base, 2 * base})
        )
    if net == "attention_lstm":
        # not "additive": per step it builds a (batch, H, L, D) tensor, slow and large on CPU
        dists["attention"] = CategoricalDistribution(["general", "dot"])
    if net == "transformer":
        width = fixed.get("hidden_size")
        heads = [h for h in (1, 2, 4, 8) if width is None or width % h == 0]
        dists["n_heads"] = CategoricalDistribution(heads)
    derive = partial(
        _derive_network,
        lookback=fixed.get("lookback"),
        stride=net == "transformer" and "stride" not in fixed,
    )
    return dists, derive


def _derive_network(draws: dict, *, lookback: int | None, stride: bool) -> dict:
    """Segments no longer than the lookback; the transformer's segments overlap by half."""
    params = dict(draws)
    if "segment_length" in params:
        window = params.get("lookback", lookback)
        if window:
            params["segment_length"] = min(params["segment_length"], window)
        if stride:
            params["stride"] = max(1, params["segment_length"] // 2)
    return params


# Statistical spaces: (season, base, max_lookback, fixed) -> (distributions, derive or None).


def _naive_space(season, base, max_lookback, fixed):
    return {}, None


def _window_space(season, base, max_lookback, fixed):
    windows = [v for v in _lookbacks(base, max_lookback) if v >= 2]  # drift needs two values
    return {"lookback": CategoricalDistribution([None, *windows])}, None


def _seasonal_naive_space(season, base, max_lookback, fixed):
    seasons = [1, season, 2 * season] if season > 1 else [1, 2, 4, 7, 12, 24]
    seasons = [s for s in seasons if max_lookback is None or s <= max_lookback] or [1]
    return {"season_length": CategoricalDistribution(seasons)}, None


def _ets_space(season, base, max_lookback, fixed):
    dists = {
        "trend": CategoricalDistribution(["add", None]),
        "damped_trend": CategoricalDistribution([True, False]),
    }
    if season > 1:
        dists["seasonal"] = CategoricalDistribution(["add", None])
    return dists, None


def _arima_space(season, base, max_lookback, fixed):
    dists: dict[str, BaseDistribution] = {}
    if "order" not in fixed:
        dists |= {
            "p": IntDistribution(0, 2),
            "d": IntDistribution(0, 1),
            "q": IntDistribution(0, 2),
        }
    if season > 1 and "seasonal_order" not in fixed:
        dists |= {f"seasonal_{k}": IntDistribution(0, 1) for k in "pdq"}
    return dists, _derive_arima


def _derive_arima(draws: dict) -> dict:
    """``p, d, q`` as ``order`` and ``seasonal_p, _d, _q`` as ``seasonal_order``."""
    params = {}
    if "p" in draws:
        params["order"] = (draws["p"], draws["d"], draws["q"])
    if "seasonal_p" in draws:
        params["seasonal_order"] = tuple(draws[f"seasonal_{k}"] for k in "pdq")
    return params


def _theta_space(season, base, max_lookback, fixed):
    dists: dict[str, BaseDistribution] = {}
    if season > 1:
        dists["season_length"] = CategoricalDistribution([1, season])
        dists["method"] = CategoricalDistribution(["additive", "multiplicative"])
    windows = [m * base for m in (4, 8) if max_lookback is None or m * base <= max_lookback]
    dists["lookback"] = CategoricalDistribution([None, *windows])
    return dists, None


_STATISTICAL_SPACES = {
    "naive": _naive_space,
    "mean": _window_space,
    "drift": _window_space,
    "seasonal_naive": _seasonal_naive_space,
    "ets": _ets_space,
    "arima": _arima_space,
    "theta": _theta_space,
}


def _space_from_dict(space: Mapping[str, Any]) -> SearchSpace:
    """A :class:`SearchSpace` from ``{parameter: distribution, list of choices or range}``."""
    return SearchSpace({name: _as_distribution(name, spec) for name, spec in space.items()})


def _as_distribution(name: Any, spec: Any) -> BaseDistribution:
    if not isinstance(name, str):
        raise TypeError(f"search_space keys must be parameter names, got {name!r}.")
    where = f"search_space[{name!r}]"
    if isinstance(spec, FloatDistribution | IntDistribution | CategoricalDistribution):
        return spec
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"{where} is an empty list of choices; give at least one value.")
        bad = [c for c in spec if c is not None and not isinstance(c, bool | int | float | str)]
        if bad:
            raise TypeError(
                f"{where} has choice {bad[0]!r}; choices must be None, bool, int, float or str."
            )
        return CategoricalDistribution(spec)
    if isinstance(spec, tuple) and len(spec) in (2, 3):
        low, high, *scale = spec
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (low, high))
        if not numbers or scale not in ([], ["log"]):
            raise TypeError(
                f"{where}={spec!r} is not a range; write (low, high) or (low, high, 'log')."
            )
        if low > high:
            raise ValueError(f"{where}={spec!r} is an inverted range: low {low} > high {high}.")
        if scale and low <= 0:
            raise ValueError(f"{where}={spec!r} is a log range, so low must be > 0.")
        if isinstance(low, int) and isinstance(high, int):
            return IntDistribution(low, high, log=bool(scale))
        return FloatDistribution(float(low), float(high), log=bool(scale))
    raise TypeError(
        f"{where} must be an Optuna FloatDistribution, IntDistribution or "
        f"CategoricalDistribution, a list of choices or a (low, high[, 'log']) range; got "
        f"{type(spec).__name__}."
    )


# -- storage ----------------------------------------------------------------------------------------


def make_storage(
    url: str | None = None, heartbeat_interval: int | None = 10
) -> optuna.storages.BaseStorage:
    """The Optuna storage for ``url`` (see the storage table in :mod:`tsattn.tuning`).

    Parameters
    ----------
    url : str, optional
        None: ``sqlite:///`` file ``tsattn_tuning.db`` in the working folder; a SQLAlchemy URL:
        an ``RDBStorage``; a path ending in ``.log`` or ``.jsonl``, or ``journal:PATH``: a
        ``JournalStorage`` on that file.
    heartbeat_interval : int, optional
        Seconds between a running trial's heartbeats (RDB storages only; None: no heartbeat).
        A RUNNING trial without a heartbeat for twice that long is marked FAIL with reason
        ``worker died (no heartbeat)`` when a worker starts or continues the study.

    Raises
    ------
    ValueError
        When the storage cannot be opened (naming the URL, password hidden).
    """
    check_param("heartbeat_interval", heartbeat_interval, low=1, integer=True, allow_none=True)
    if url is None:
        url = f"sqlite:///{(Path.cwd() / DEFAULT_STORAGE).as_posix()}"
    if not isinstance(url, str):
        raise TypeError(f"storage must be a URL or file path string, got {type(url).__name__}.")
    journal = _journal_path(url)
    if journal is not None:
        if not journal.parent.is_dir():
            raise ValueError(
                f"cannot open the journal storage {url!r}: folder {journal.parent} does not exist."
            )
        backend = optuna.storages.journal.JournalFileBackend(str(journal))
        return optuna.storages.journal.JournalStorage(backend)
    if "://" not in url:
        raise ValueError(
            f"storage {url!r} is neither a database URL (sqlite:///tuning.db, "
            "postgresql+psycopg://user@host/db) nor a journal file (a path ending in .log or "
            ".jsonl, or journal:PATH)."
        )
    return _rdb_storage(url, heartbeat_interval)


def _journal_path(url: str) -> Path | None:
    if url.startswith("journal:"):
        return Path(url.removeprefix("journal:")).expanduser()
    if "://" not in url and url.lower().endswith((".log", ".jsonl")):
        return Path(url).expanduser()
    return None


def _rdb_storage(url: str, heartbeat_interval: int | None) -> optuna.storages.RDBStorage:
    import sqlalchemy

    kwargs: dict[str, Any] = {}
    if heartbeat_interval is not None:
        # 'failed_trial_callback' was renamed 'heartbeat_stale_trial_callback' in Optuna 4.9
        names = inspect.signature(optuna.storages.RDBStorage).parameters
        callback = next(
            n for n in ("heartbeat_stale_trial_callback", "failed_trial_callback") if n in names
        )
        kwargs = {
            "heartbeat_interval": heartbeat_interval,
            "grace_period": 2 * heartbeat_interval,
            callback: _record_dead_worker,
        }
    engine_kwargs = {}
    if url.startswith("postgresql") and "connect_timeout" not in url:
        engine_kwargs = {"connect_args": {"connect_timeout": 10}}  # never hang on a dead host
    for attempt in range(_OPEN_ATTEMPTS):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)  # heartbeat_interval
                return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs, **kwargs)
        except (sqlalchemy.exc.SQLAlchemyError, ImportError, OSError, ValueError) as err:
            if _lost_creation_race(err) and attempt + 1 < _OPEN_ATTEMPTS:
                time.sleep(0.2 + random.random() * (attempt + 1))
                continue
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise ValueError(
                f"cannot open the Optuna storage {_shown(url)!r}: {type(err).__name__}: {first}"
            ) from err
    raise AssertionError("unreachable: the last attempt returns or raises")


def _lost_creation_race(err: BaseException) -> bool:
    """Whether another worker was creating Optuna's tables in the same new database.

    Workers started together on a fresh database all create the schema and stamp its version;
    all but one fail on a duplicate row or table, and then find the schema ready.
    """
    import sqlalchemy

    if isinstance(err, sqlalchemy.exc.IntegrityError):
        return True
    text = str(err).lower()
    return isinstance(err, sqlalchemy.exc.DBAPIError) and (
        "already exists" in text or "database is locked" in text
    )


def _shown(url: str) -> str:
    """``url`` with its password hidden."""
    import sqlalchemy

    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


def _record_dead_worker(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    """Heartbeat-stale callback: the trial is FAIL already, so the reason goes on the study."""
    study.set_user_attr(f"reason:trial {trial.number}", WORKER_DIED)


# -- the plan of a study ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Settings:
    """How the study runs and scores trials; checked when made."""

    metric: str
    n_trials: int | None
    timeout: float | None
    n_windows: int
    step: int | None
    verbose: int

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
class _Plan:
    """Everything a trial needs, checked before the first one runs."""

    name: str
    base: BaseForecaster
    fixed: dict[str, Any]
    options: frozenset[str]
    space: Callable[[optuna.Trial], dict[str, Any]]
    space_description: dict[str, str]
    df: FrameLike
    fit_params: dict[str, Any]
    run: _Settings

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
    return _registry_name(type(est)), est, fixed | dict(fixed_params or {})


def _registry_name(cls: type) -> str:
    return next((name for name, c in ESTIMATORS.items() if c is cls), cls.__name__)


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


def _make_plan(
    model: Any,
    df: FrameLike,
    search_space: Any,
    run: _Settings,
    random_state: int | None,
    fit_params: dict[str, Any],
    fixed_params: Mapping[str, Any] | None = None,
) -> _Plan:
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
        space = _space_from_dict(search_space)
    elif callable(search_space):
        space = search_space
    else:
        raise TypeError(
            "search_space must be None (the default), a dict {parameter: distribution} or a "
            f"callable trial -> dict; got {type(search_space).__name__}."
        )
    plan = _Plan(
        name,
        base,
        fixed,
        _network_options(base),
        space,
        _space_description(space),
        df,
        dict(fit_params),
        run,
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


def _check_space(plan: _Plan) -> None:
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


# -- the objective ------------------------------------------------------------------------------


def _objective(plan: _Plan, study: optuna.Study) -> Callable[[optuna.Trial], float]:
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


def _evaluate(plan: _Plan, study: optuna.Study, trial: optuna.Trial) -> float:
    """Backtest the trial's parameters; record every metric, the time and the cutoffs."""
    params = plan.space(trial)
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


def _open_study(
    plan: _Plan, storage, study_name, sampler, pruner, random_state, heartbeat_interval
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
    return study


def _check_types(sampler: Any, pruner: Any) -> None:
    if sampler is not None and not isinstance(sampler, optuna.samplers.BaseSampler):
        raise TypeError(f"sampler must be an Optuna sampler, got {type(sampler).__name__}.")
    if pruner is not None and not isinstance(pruner, optuna.pruners.BasePruner):
        raise TypeError(f"pruner must be an Optuna pruner, got {type(pruner).__name__}.")


def _check_same_task(study: optuna.Study, plan: _Plan, name: str) -> None:
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


def _run(study: optuna.Study, plan: _Plan, tracked: StudyRun | None) -> None:
    """Optimise until the study holds ``n_trials`` trials or ``timeout`` passes (``tracked``
    logs each finished trial as a nested MLflow run)."""
    done = len(study.get_trials(deepcopy=False))
    total = f", {plan.run.n_trials} in total" if plan.run.n_trials else ""
    _say(
        plan,
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
            _say(plan, f"the study has its n_trials={plan.run.n_trials} trials: nothing to run")
            return
        callbacks.append(optuna.study.MaxTrialsCallback(plan.run.n_trials, states=None))
    study.optimize(
        _objective(plan, study),
        n_trials=n_trials,
        timeout=plan.run.timeout,
        catch=(Exception,),
        callbacks=callbacks,
    )


def _say(plan: _Plan, message: str) -> None:
    """Log ``message`` at INFO when ``verbose`` asks for progress."""
    if plan.run.verbose:
        log.info(message)


def _progress(plan: _Plan) -> Callable[[optuna.Study, optuna.trial.FrozenTrial], None]:
    """Study callback: one line per finished trial."""

    def line(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        total = plan.run.n_trials if plan.run.n_trials is not None else "?"
        if trial.state == TrialState.COMPLETE:
            what = f"{plan.run.metric} {trial.value:.4g}"
        else:
            reason = trial.user_attrs.get("reason", "")
            what = reason if trial.state == TrialState.PRUNED else f"failed: {reason}"
        completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        best = min(completed, key=lambda t: t.value, default=None)
        so_far = f"best {best.value:.4g} (trial {best.number})" if best else "none completed yet"
        log.info("trial %d (%d/%s): %s; %s", trial.number, trial.number + 1, total, what, so_far)

    return line


@contextlib.contextmanager
def _logging(verbose: int) -> Iterator[None]:
    """Optuna's own logging at WARNING (INFO with verbose >= 2), this module's at INFO."""
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


# -- the result ---------------------------------------------------------------------------------


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
        rebuilds the model. The raw draws are ``study.best_params``.
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


def _result(study: optuna.Study, plan: _Plan, refit: bool) -> TuneResult:
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
    best_params = plan.estimator_params(params)
    _say(plan, f"best trial {best.number}: {plan.run.metric} {best.value:.4g} with {best_params}")
    estimator = None
    if refit:
        estimator = plan.configure(params).fit(plan.df, **plan.fit_params)
        _say(plan, f"refitted the best {type(estimator).__name__} on all of the data given")
    return TuneResult(study, best_params, float(best.value), estimator, trials, plan.run.metric)


# -- the entry point ------------------------------------------------------------------------------


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
    fixed_params : dict, optional
        Parameters kept out of the search even at their defaults (``{"lookback": 96}``).
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
        Optuna URL or journal file (see :func:`make_storage`), study (``"tsattn-<model>"``):
        the same pair resumes.
    sampler, pruner : optional
        Default: ``TPESampler(seed=random_state)``; ``MedianPruner`` for networks, else none.
    n_windows, step : int
        Backtest origins per series and the steps between them (default: the horizon).
    refit : bool
        Fit the best parameters on all of ``df`` as ``best_estimator_``.
    random_state : int, optional
        Seeds the default sampler, and the estimator unless the instance sets its own.
    verbose : int
        0 quiet, 1 a line per trial, 2 Optuna's log too.
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
    with _logging(verbose):
        tracking = ready_tracker(tracking)  # an unreachable store fails before any trial
        run = _Settings(metric, n_trials, timeout, n_windows, step, verbose)
        plan = _make_plan(model, df, search_space, run, random_state, fit_params, fixed_params)
        study = _open_study(
            plan, storage, study_name, sampler, pruner, random_state, heartbeat_interval
        )
        return _run_tracked(study, plan, refit, tracking)


def _run_tracked(study: optuna.Study, plan: _Plan, refit: bool, tracking: Any) -> TuneResult:
    """:func:`_run` and :func:`_result`, inside the study's MLflow run when ``tracking``."""
    settings = {"model": plan.name, "metric": plan.run.metric, "n_trials": plan.run.n_trials}
    settings.update({"n_windows": plan.run.n_windows, "step": plan.run.step})
    settings["study"] = study.study_name
    panel = None
    if tracking:
        roles = ColumnRoles.from_kwargs(**plan.fit_params)
        panel = clone(plan.base).check_frame(plan.df, roles=roles)
    data_name = getattr(plan.df, "attrs", {}).get("name")
    with tracked_study(tracking, study, settings, panel, data_name) as tracked:
        _run(study, plan, tracked)
        result = _result(study, plan, refit)
        if tracked is not None:
            plots = partial(save_plots, study)
            tracked.finish(result.best_params_, result.best_score_, result.trials_, plots)
    return result


# -- plots ----------------------------------------------------------------------------------------


def save_plots(study: optuna.Study, folder: str | Path) -> list[Path]:
    """Write Optuna's optimisation history and parameter importances of ``study`` as PNG files.

    ``optimization_history.png`` always; ``param_importances.png`` when at least two trials
    completed with parameters that vary (otherwise skipped, with a log note);
    ``intermediate_values.png`` when trials reported learning curves (networks).

    Returns
    -------
    list of pathlib.Path
        The files written, in ``folder`` (created when missing).
    """
    from optuna.visualization import matplotlib as vis

    plt = pyplot()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = study.user_attrs.get("metric", "Objective Value")
    plots = [
        ("optimization_history.png", partial(vis.plot_optimization_history, target_name=target))
    ]
    why = _no_importances(study)
    if why:
        log.info("param_importances.png skipped: %s", why)
    else:
        plots.append(
            ("param_importances.png", partial(vis.plot_param_importances, target_name=target))
        )
    if any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
        plots.append(("intermediate_values.png", vis.plot_intermediate_values))
    written = []
    old = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        for filename, draw in plots:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                figure = draw(study).figure
            figure.savefig(folder / filename, dpi=110, bbox_inches="tight")
            plt.close(figure)
            written.append(folder / filename)
    finally:
        optuna.logging.set_verbosity(old)
    return written


def _no_importances(study: optuna.Study) -> str:
    """Why parameter importances cannot be computed ('' when they can)."""
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(completed) < 2:
        return f"it needs at least 2 completed trials, the study has {len(completed)}"
    common = set.intersection(*(set(t.params) for t in completed))
    varying = [p for p in common if len({repr(t.params[p]) for t in completed}) > 1]
    if not varying:
        return "no parameter varies across the completed trials"
    return ""
