"""Statistical baselines behind the same facade as the networks, so every table has them.

The naive family is vectorised over series (one array operation for all of them); ETS, (S)ARIMA
and Theta fit one statsmodels model per series, in parallel with joblib (``n_jobs``). They fit at
predict time on the history they are given (the fitted data by default): a local model has
nothing to carry from one series to another, and persistence stays a JSON file.

Models with a season take ``season_length=None`` by default: ``fit`` sets ``season_length_`` to
the natural season of the data's frequency (hourly 24, daily 7, monthly 12, ...; see
:func:`tsattn.data.timestamps.season_length`). Every model here continues a constant series as
that constant. When statsmodels does not converge, each forecast call (``predict``, ``score``,
``calibrate``, each fit of a backtest with all its windows) gives one ``ConvergenceWarning``
naming the series concerned, not one per series.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import numpy as np

from tsattn import baselines
from tsattn.data import timestamps
from tsattn.data.frames import ColumnRoles
from tsattn.data.panel import Panel
from tsattn.forecaster import BaseForecaster
from tsattn.params import check_bounds, check_choice, check_param

__all__ = [
    "ARIMAForecaster",
    "DriftForecaster",
    "ETSForecaster",
    "MeanForecaster",
    "NaiveForecaster",
    "SeasonalNaiveForecaster",
    "ThetaForecaster",
]


def _last_values(panel: Panel, length: int) -> np.ndarray:
    """``(S, length)`` last values of every series (all series are at least that long)."""
    idx = panel.offsets[1:, None] - length + np.arange(length)  # (S, length)
    return panel.target[idx].astype(np.float64)


#: Fewest series whose per-series statsmodels fits get a progress bar (in a terminal).
PROGRESS_MIN_SERIES = 20


class StatisticalForecaster(BaseForecaster):
    """Shared parts of the statistical forecasters; ``lookback=None`` uses the whole history.

    Every one takes ``bounds=(low, high)`` (None for an open side): forecasts and intervals are
    clipped to it, e.g. ``(0, None)`` for counts that cannot be negative.
    """

    def _check_params(self) -> None:
        check_param("horizon", self.horizon, low=1, integer=True)
        check_param("lookback", self.lookback, low=1, integer=True, allow_none=True)
        check_bounds("bounds", self.bounds)

    @property
    def min_history(self) -> int:
        return self.lookback or 1

    def _fit(self, panel: Panel) -> None:
        self.n_series_ = panel.n_series

    def restore(self, config: dict[str, Any], history: Panel, weights: Any = None):
        super().restore(config, history)
        self.n_series_ = history.n_series
        return self

    def _predict(
        self, panel: Panel, times: np.ndarray, future: np.ndarray | None, quantiles: list[float]
    ) -> np.ndarray:
        return self._forecast(panel)[..., None]  # (S, H, 1): quantiles come from calibrate()

    def _forecast(self, panel: Panel) -> np.ndarray:  # (S, H)
        raise NotImplementedError


class _NaiveFamily(StatisticalForecaster):
    def __init__(
        self,
        horizon: int = 24,
        lookback: int | None = None,
        *,
        bounds: tuple[float | None, float | None] | None = None,
    ) -> None:
        self.horizon = horizon
        self.lookback = lookback
        self.bounds = bounds

    @property
    def min_history(self) -> int:
        return self.lookback or 2

    def _forecast(self, panel: Panel) -> np.ndarray:
        if self.lookback:
            return self._rule(_last_values(panel, self.lookback))
        return self._whole_history(panel)

    def _whole_history(self, panel: Panel) -> np.ndarray:
        return self._rule(_last_values(panel, 1))


class NaiveForecaster(_NaiveFamily):
    """Repeat each series' last value."""

    def _rule(self, past: np.ndarray) -> np.ndarray:
        return baselines.naive(past, self.horizon)


class MeanForecaster(_NaiveFamily):
    """The mean of the last ``lookback`` values (of the whole history when None)."""

    def _rule(self, past: np.ndarray) -> np.ndarray:
        return baselines.mean(past, self.horizon)

    def _whole_history(self, panel: Panel) -> np.ndarray:
        means = (
            np.add.reduceat(panel.target.astype(np.float64), panel.offsets[:-1]) / panel.lengths
        )  # (S,)
        return np.repeat(means[:, None], self.horizon, axis=1)  # (S, H)


class DriftForecaster(_NaiveFamily):
    """The line through the first and last of the last ``lookback`` values (whole history when None)."""

    def _rule(self, past: np.ndarray) -> np.ndarray:
        return baselines.drift(past, self.horizon)

    def _whole_history(self, panel: Panel) -> np.ndarray:
        first = panel.target[panel.offsets[:-1]].astype(np.float64)  # (S,)
        last = panel.target[panel.offsets[1:] - 1].astype(np.float64)  # (S,)
        slope = (last - first) / np.maximum(panel.lengths - 1, 1)  # (S,)
        return last[:, None] + slope[:, None] * np.arange(1, self.horizon + 1)  # (S, H)


class _SeasonalForecaster(StatisticalForecaster):
    """A statistical forecaster with a season of ``season_length`` steps.

    ``season_length=None`` is resolved when fitting, from the data's frequency, into the fitted
    attribute ``season_length_`` that the model uses everywhere (``min_history`` included).
    """

    def _check_params(self) -> None:
        super()._check_params()
        check_param("season_length", self.season_length, low=1, integer=True, allow_none=True)

    def fit_panel(self, panel: Panel, roles: ColumnRoles | None = None) -> _SeasonalForecaster:
        self._check_params()
        self.season_length_ = self._resolve_season(panel.freq)  # before min_history is checked
        return super().fit_panel(panel, roles)

    def restore(self, config: dict[str, Any], history: Panel, weights: Any = None):
        super().restore(config, history, weights)
        self.season_length_ = self._resolve_season(config["freq"])
        return self

    def _resolve_season(self, freq: str | int) -> int:
        if self.season_length is None:
            return timestamps.season_length(freq)
        return int(self.season_length)

    @property
    def _season(self) -> int:
        """The season in use: ``season_length_`` once fitted, else ``season_length``.

        Before fit, ``season_length=None`` does not know its season yet; it counts as 1 (no
        season), so ``min_history`` is then a lower bound, exact once fitted.
        """
        if hasattr(self, "season_length_"):
            return self.season_length_
        return 1 if self.season_length is None else int(self.season_length)


class SeasonalNaiveForecaster(_SeasonalForecaster):
    """Repeat each series' last full season.

    Parameters
    ----------
    season_length : int, optional
        Steps per season; None (default): the natural season of the data's frequency, set at
        fit as ``season_length_`` (hourly 24, daily 7, monthly 12; 1, i.e. naive, for integer
        time).
    """

    def __init__(
        self,
        horizon: int = 24,
        season_length: int | None = None,
        lookback: int | None = None,
        *,
        bounds: tuple[float | None, float | None] | None = None,
    ) -> None:
        self.horizon = horizon
        self.season_length = season_length
        self.lookback = lookback
        self.bounds = bounds

    @property
    def min_history(self) -> int:
        return self._season

    def _forecast(self, panel: Panel) -> np.ndarray:
        season = self._season
        return baselines.seasonal_naive(_last_values(panel, season), self.horizon, season)


class _StatsmodelsForecaster(_SeasonalForecaster):
    """One statsmodels model per series, fitted in parallel.

    A series that is constant over the values the model sees is forecast as that constant
    without statsmodels, whose models invent a trend or fail there. Non-convergence is reported
    with one ``ConvergenceWarning`` per forecast call, naming the series, not one per series.
    """

    def _predict(
        self, panel: Panel, times: np.ndarray, future: np.ndarray | None, quantiles: list[float]
    ) -> np.ndarray:
        return self._predict_windows(panel, panel.lengths[:, None], quantiles)[:, 0]  # (S, H, 1)

    def _predict_windows(
        self, panel: Panel, origins: np.ndarray, quantiles: list[float]
    ) -> np.ndarray:
        forecasts, unconverged = [], []
        for k in range(origins.shape[1]):
            values, failed = self._fit_series(panel.cut(origins[:, k]))
            forecasts.append(values)
            unconverged += [i for i in failed if i not in unconverged]
        if unconverged:
            from statsmodels.tools.sm_exceptions import ConvergenceWarning

            shown = ", ".join(repr(i) for i in unconverged[:5])
            more = f" and {len(unconverged) - 5} more" if len(unconverged) > 5 else ""
            warnings.warn(
                f"{type(self).__name__}: statsmodels' fit did not converge for "
                f"{len(unconverged)} of {panel.n_series} series ({shown}{more}); their forecasts "
                "may be poor. Try a longer history or a simpler model (fewer terms, no trend or "
                "season).",
                ConvergenceWarning,
                stacklevel=2,
            )
        return np.stack(forecasts, axis=1)[..., None]  # (S, n, H, 1)

    def _fit_series(self, panel: Panel) -> tuple[np.ndarray, list]:
        """``(S, H)`` forecasts after the end of every series, and the ids that did not converge."""
        from joblib import Parallel, delayed

        series = [panel.target[panel.rows(s)].astype(np.float64) for s in range(panel.n_series)]
        if self.lookback:
            series = [y[-self.lookback :] for y in series]
        jobs = (delayed(self._fit_one)(y) for y in _progress(series, type(self).__name__))
        results = Parallel(n_jobs=self.n_jobs)(jobs)
        failed = [
            panel.ids[s]
            for s, (f, _) in enumerate(results)
            if f is None or not np.isfinite(f).all()
        ]
        if failed:
            raise ValueError(
                f"{type(self).__name__} could not fit series {failed[:5]}; try another "
                "configuration (e.g. no seasonality) or a longer history."
            )
        unconverged = [panel.ids[s] for s, (_, converged) in enumerate(results) if not converged]
        return np.stack([f for f, _ in results]), unconverged  # (S, H)

    def _fit_one(self, y: np.ndarray) -> tuple[np.ndarray | None, bool]:
        """The forecast (None when the fit fails) and whether the fit converged."""
        if (y == y[0]).all():
            return np.full(self.horizon, y[0]), True
        from statsmodels.tools.sm_exceptions import ConvergenceWarning

        with warnings.catch_warnings(record=True) as caught:
            # The rest of statsmodels' warnings are noise here: starting values it replaced,
            # steps the optimiser took, index frequency (we pass arrays). The fit copes with
            # them and a user could do nothing about them; failures surface as NaN or errors.
            warnings.simplefilter("ignore")
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                forecast = np.asarray(self._statsmodels_forecast(y), dtype=np.float64)
            except (ValueError, np.linalg.LinAlgError):
                forecast = None
        converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        return forecast, converged


def _progress(series: list, name: str) -> Any:
    """``series`` with a progress bar over the per-series fits: in an interactive terminal,
    for many series (a statsmodels fit takes up to seconds each)."""
    from tqdm.auto import tqdm

    show = len(series) >= PROGRESS_MIN_SERIES and sys.stderr.isatty()
    return tqdm(series, desc=f"{name} fits", unit="series", leave=False, disable=not show)


class ETSForecaster(_StatsmodelsForecaster):
    """Exponential smoothing (statsmodels ``ETSModel``), additive errors.

    Parameters
    ----------
    season_length : int, optional
        Period of the seasonal component; None (default): the natural season of the data's
        frequency, set at fit as ``season_length_``. A season of 1 means no seasonal component.
    trend : {'add', None}
        Additive trend (damped when ``damped_trend``).
    seasonal : {'add', 'mul', None}
        Seasonal component with period ``season_length_``.
    """

    def __init__(
        self,
        horizon: int = 24,
        season_length: int | None = None,
        *,
        trend: str | None = "add",
        damped_trend: bool = True,
        seasonal: str | None = "add",
        lookback: int | None = None,
        n_jobs: int = 1,
        bounds: tuple[float | None, float | None] | None = None,
    ) -> None:
        self.horizon = horizon
        self.season_length = season_length
        self.trend = trend
        self.damped_trend = damped_trend
        self.seasonal = seasonal
        self.lookback = lookback
        self.n_jobs = n_jobs
        self.bounds = bounds

    def _check_params(self) -> None:
        super()._check_params()
        check_choice("trend", self.trend, ["add", None])
        check_choice("seasonal", self.seasonal, ["add", "mul", None])

    @property
    def min_history(self) -> int:
        return max(2 * self._season, 10) if self.seasonal else 10

    def _statsmodels_forecast(self, y: np.ndarray) -> Any:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        season = self.season_length_
        seasonal = self.seasonal if season > 1 else None
        model = ETSModel(
            y,
            error="add",
            trend=self.trend,
            damped_trend=self.damped_trend and self.trend is not None,
            seasonal=seasonal,
            seasonal_periods=season if seasonal else None,
        )
        return model.fit(disp=False).forecast(self.horizon)


class ARIMAForecaster(_StatsmodelsForecaster):
    """(S)ARIMA (statsmodels ``ARIMA``) with a fixed order.

    Parameters
    ----------
    season_length : int, optional
        Period of the seasonal terms; None (default): the natural season of the data's
        frequency, set at fit as ``season_length_``. A season of 1 means no seasonal terms.
    order : tuple of int
        ``(p, d, q)``.
    seasonal_order : tuple of int
        ``(P, D, Q)`` at period ``season_length_``; ``(0, 0, 0)`` for none.
    """

    def __init__(
        self,
        horizon: int = 24,
        season_length: int | None = None,
        *,
        order: tuple[int, int, int] = (2, 1, 1),
        seasonal_order: tuple[int, int, int] = (0, 1, 1),
        lookback: int | None = 1000,
        n_jobs: int = 1,
        bounds: tuple[float | None, float | None] | None = None,
    ) -> None:
        self.horizon = horizon
        self.season_length = season_length
        self.order = order
        self.seasonal_order = seasonal_order
        self.lookback = lookback
        self.n_jobs = n_jobs
        self.bounds = bounds

    def _check_params(self) -> None:
        super()._check_params()
        for name, value in (("order", self.order), ("seasonal_order", self.seasonal_order)):
            if len(tuple(value)) != 3 or not all(isinstance(v, int) and v >= 0 for v in value):
                raise ValueError(
                    f"{name}={value!r} is invalid; expected three non-negative integers."
                )

    @property
    def min_history(self) -> int:
        return max(3 * self._season, 20)

    def _statsmodels_forecast(self, y: np.ndarray) -> Any:
        from statsmodels.tsa.arima.model import ARIMA

        season = self.season_length_
        seasonal = tuple(self.seasonal_order)
        if season <= 1 or seasonal == (0, 0, 0):
            seasonal_order = (0, 0, 0, 0)
        else:
            seasonal_order = (*seasonal, season)
        model = ARIMA(y, order=tuple(self.order), seasonal_order=seasonal_order)
        return model.fit().forecast(self.horizon)


class ThetaForecaster(_StatsmodelsForecaster):
    """The Theta method (statsmodels ``ThetaModel``).

    Parameters
    ----------
    season_length : int, optional
        Period at which the series is deseasonalised; None (default): the natural season of
        the data's frequency, set at fit as ``season_length_``. 1: not deseasonalised.
    method : {'additive', 'multiplicative'}
        How the season is removed and put back. Additive by default: multiplicative factors
        blow up where the series comes close to zero (night-time traffic: forecasts of twice
        the highest value ever seen).

    Theta forecasts one seasonal profile plus a smoothed level and drift. A series with two
    cycles needs the longer period: on hourly traffic (daily and weekly cycles)
    ``season_length=168`` beats seasonal naive (MASE 0.84 vs 0.95 over 14 days), while the
    default 24 does not (1.87; 3.28 multiplicative).
    """

    def __init__(
        self,
        horizon: int = 24,
        season_length: int | None = None,
        *,
        method: str = "additive",
        lookback: int | None = None,
        n_jobs: int = 1,
        bounds: tuple[float | None, float | None] | None = None,
    ) -> None:
        self.horizon = horizon
        self.season_length = season_length
        self.method = method
        self.lookback = lookback
        self.n_jobs = n_jobs
        self.bounds = bounds

    def _check_params(self) -> None:
        super()._check_params()
        check_choice("method", self.method, ["additive", "multiplicative"])

    @property
    def min_history(self) -> int:
        return max(2 * self._season, 4)

    def _statsmodels_forecast(self, y: np.ndarray) -> Any:
        from statsmodels.tsa.forecasting.theta import ThetaModel

        period = self.season_length_ if self.season_length_ > 1 else None
        model = ThetaModel(y, period=period, deseasonalize=period is not None, method=self.method)
        return model.fit().forecast(self.horizon)
