"""Search spaces: the default space of every estimator, and spaces given as dicts."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

from tsattn.estimators import ESTIMATORS, get_estimator
from tsattn.forecaster import BaseForecaster
from tsattn.models import MODELS
from tsattn.neural import NeuralForecaster


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
        dists, derive = _network_space(cls, base, max_lookback, fixed)
    else:
        name = registry_name(cls)
        if name not in _STATISTICAL_SPACES:
            raise ValueError(
                f"{cls.__name__} has no default search space; pass search_space={{...}} or a "
                "callable trial -> dict of its parameters."
            )
        dists, derive = _STATISTICAL_SPACES[name](season, base, max_lookback, fixed)
    return SearchSpace({k: d for k, d in dists.items() if k not in fixed}, derive)


#: Network lookbacks in seasons: up to 30 of them, a month of hourly data (720 steps, the
#: longest lookback of the long-horizon literature) or 30 weeks of daily data (14 weeks = 98
#: days covers the networks' default of 96 steps). The 21 and 30 were added after validation
#: preferred L=512 to L=336 on ETTh1 for the LSTM and the attention LSTM, and L=720 on
#: Trondheim traffic for the LSTM (benchmarks/RESULTS.md); longer candidates than the data
#: allow are dropped.
NETWORK_MULTIPLES = (1, 2, 4, 7, 14, 21, 30)


def _lookbacks(base: int, max_lookback: int | None, multiples=(1, 2, 4, 7)) -> list[int]:
    values = [m * base for m in multiples]
    if max_lookback is None:
        return values
    return [v for v in values if v <= max_lookback] or [max(1, int(max_lookback))]


def _network_space(cls: type, base: int, max_lookback: int | None, fixed: dict):
    net = cls.model_name
    # the defaults are choices too, so that a study can start from them (tune's first trial)
    lookbacks = set(_lookbacks(base, max_lookback, NETWORK_MULTIPLES))
    default_lookback = inspect.signature(cls).parameters["lookback"].default
    if max_lookback is None or default_lookback <= max_lookback:
        lookbacks.add(default_lookback)
    dists: dict[str, BaseDistribution] = {
        "learning_rate": FloatDistribution(1e-4, 1e-2, log=True),
        "batch_size": CategoricalDistribution([64, 128, 256]),
        "lookback": CategoricalDistribution(sorted(lookbacks)),
        "dropout": FloatDistribution(0.0, 0.3),
    }
    if net == "linear":
        dists["kernel_size"] = CategoricalDistribution([5, 13, 25, 49])
    else:
        dists["hidden_size"] = CategoricalDistribution([32, 64, 128, 256])
        dists["num_layers"] = IntDistribution(1, 3)
        segment = inspect.signature(MODELS[net]).parameters["segment_length"].default
        dists["segment_length"] = CategoricalDistribution(
            sorted({max(1, base // 2), base, 2 * base, segment})
        )
    if net == "attention_lstm":
        # not "additive": per step it builds a (batch, H, L, D) tensor, slow and large on CPU
        dists["attention"] = CategoricalDistribution(["general", "dot"])
    if net == "transformer":
        width = fixed.get("hidden_size")
        heads = [h for h in (1, 2, 4, 8) if width is None or width % h == 0]
        dists["n_heads"] = CategoricalDistribution(heads)
    return dists, partial(_derive_network, lookback=fixed.get("lookback"))


def _derive_network(draws: dict, *, lookback: int | None) -> dict:
    """Segments no longer than the lookback (the transformer's stride follows its segments)."""
    params = dict(draws)
    window = params.get("lookback", lookback)
    if "segment_length" in params and window:
        params["segment_length"] = min(params["segment_length"], window)
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


def space_from_dict(space: Mapping[str, Any]) -> SearchSpace:
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


def registry_name(cls: type) -> str:
    return next((name for name, c in ESTIMATORS.items() if c is cls), cls.__name__)
