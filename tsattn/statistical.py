"""Statistical baselines behind the same facade as the networks, so every table has them.

The naive family is vectorised over series (one array operation for all of them); ETS, (S)ARIMA
and Theta fit one statsmodels model per series, in parallel with joblib (``n_jobs``). They fit at
predict time on the history they are given (the fitted data by default): a local model has
nothing to carry from one series to another, and persistence stays a JSON file.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tsattn import baselines
from tsattn.data.panel import Panel
from tsattn.forecaster import BaseForecaster
from tsattn.params import check_choice, check_param

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


class StatisticalForecaster(BaseForecaster):
    """Shared parts of the statistical forecasters; ``lookback=None`` uses the whole history."""

    def _check_params(self) -> None:
        check_param("horizon", self.horizon, low=1, integer=True)
        check_param("lookback", self.lookback, low=1, integer=True, allow_none=True)

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
    def __init__(self, horizon: int = 24, lookback: int | None = None) -> None:
        self.horizon = horizon
        self.lookback = lookback

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


class SeasonalNaiveForecaster(StatisticalForecaster):
    """Repeat each series' last full season of ``season_length`` steps."""

    def __init__(
        self, horizon: int = 24, season_length: int = 24, lookback: int | None = None
    ) -> None:
        self.horizon = horizon
        self.season_length = season_length
        self.lookback = lookback

    def _check_params(self) -> None:
        super()._check_params()
        check_param("season_length", self.season_length, low=1, integer=True)

    @property
    def min_history(self) -> int:
        return self.season_length

    def _forecast(self, panel: Panel) -> np.ndarray:
        return baselines.seasonal_naive(
            _last_values(panel, self.season_length), self.horizon, self.season_length
        )


class _StatsmodelsForecaster(StatisticalForecaster):
    """One statsmodels model per series, fitted in parallel."""

    def _forecast(self, panel: Panel) -> np.ndarray:
        from joblib import Parallel, delayed

        series = [panel.target[panel.rows(s)].astype(np.float64) for s in range(panel.n_series)]
        if self.lookback:
            series = [y[-self.lookback :] for y in series]
        jobs = (delayed(self._fit_one)(y) for y in series)
        forecasts = Parallel(n_jobs=self.n_jobs)(jobs)
        failed = [
            panel.ids[s] for s, f in enumerate(forecasts) if f is None or not np.isfinite(f).all()
        ]
        if failed:
            raise ValueError(
                f"{type(self).__name__} could not fit series {failed[:5]}; try another "
                "configuration (e.g. no seasonality) or a longer history."
            )
        return np.stack(forecasts)  # (S, H)

    def _fit_one(self, y: np.ndarray) -> np.ndarray | None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # convergence chatter; failures surface as NaN
            try:
                return np.asarray(self._statsmodels_forecast(y), dtype=np.float64)
            except (ValueError, np.linalg.LinAlgError):
                return None


class ETSForecaster(_StatsmodelsForecaster):
    """Exponential smoothing (statsmodels ``ETSModel``), additive errors.

    Parameters
    ----------
    trend : {'add', None}
        Additive trend (damped when ``damped_trend``).
    seasonal : {'add', 'mul', None}
        Seasonal component with period ``season_length``.
    """

    def __init__(
        self,
        horizon: int = 24,
        season_length: int = 24,
        *,
        trend: str | None = "add",
        damped_trend: bool = True,
        seasonal: str | None = "add",
        lookback: int | None = None,
        n_jobs: int = 1,
    ) -> None:
        self.horizon = horizon
        self.season_length = season_length
        self.trend = trend
        self.damped_trend = damped_trend
        self.seasonal = seasonal
        self.lookback = lookback
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        super()._check_params()
        check_param("season_length", self.season_length, low=1, integer=True)
        check_choice("trend", self.trend, ["add", None])
        check_choice("seasonal", self.seasonal, ["add", "mul", None])

    @property
    def min_history(self) -> int:
        return max(2 * self.season_length, 10) if self.seasonal else 10

    def _statsmodels_forecast(self, y: np.ndarray) -> Any:
        from statsmodels.tsa.exponential_smoothing.ets import ETSModel

        seasonal = self.seasonal if self.season_length > 1 else None
        model = ETSModel(
            y,
            error="add",
            trend=self.trend,
            damped_trend=self.damped_trend and self.trend is not None,
            seasonal=seasonal,
            seasonal_periods=self.season_length if seasonal else None,
        )
        return model.fit(disp=False).forecast(self.horizon)


class ARIMAForecaster(_StatsmodelsForecaster):
    """(S)ARIMA (statsmodels ``ARIMA``) with a fixed order.

    Parameters
    ----------
    order : tuple of int
        ``(p, d, q)``.
    seasonal_order : tuple of int
        ``(P, D, Q)`` at period ``season_length``; ``(0, 0, 0)`` for none.
    """

    def __init__(
        self,
        horizon: int = 24,
        season_length: int = 24,
        *,
        order: tuple[int, int, int] = (2, 1, 1),
        seasonal_order: tuple[int, int, int] = (0, 1, 1),
        lookback: int | None = 1000,
        n_jobs: int = 1,
    ) -> None:
        self.horizon = horizon
        self.season_length = season_length
        self.order = order
        self.seasonal_order = seasonal_order
        self.lookback = lookback
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        super()._check_params()
        check_param("season_length", self.season_length, low=1, integer=True)
        for name, value in (("order", self.order), ("seasonal_order", self.seasonal_order)):
            if len(tuple(value)) != 3 or not all(isinstance(v, int) and v >= 0 for v in value):
                raise ValueError(
                    f"{name}={value!r} is invalid; expected three non-negative integers."
                )

    @property
    def min_history(self) -> int:
        return max(3 * self.season_length, 20)

    def _statsmodels_forecast(self, y: np.ndarray) -> Any:
        from statsmodels.tsa.arima.model import ARIMA

        seasonal = tuple(self.seasonal_order)
        if self.season_length <= 1 or seasonal == (0, 0, 0):
            seasonal_order = (0, 0, 0, 0)
        else:
            seasonal_order = (*seasonal, self.season_length)
        model = ARIMA(y, order=tuple(self.order), seasonal_order=seasonal_order)
        return model.fit().forecast(self.horizon)


class ThetaForecaster(_StatsmodelsForecaster):
    """The Theta method (statsmodels ``ThetaModel``), deseasonalised at ``season_length``."""

    def __init__(
        self,
        horizon: int = 24,
        season_length: int = 24,
        *,
        lookback: int | None = None,
        n_jobs: int = 1,
    ) -> None:
        self.horizon = horizon
        self.season_length = season_length
        self.lookback = lookback
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        super()._check_params()
        check_param("season_length", self.season_length, low=1, integer=True)

    @property
    def min_history(self) -> int:
        return max(2 * self.season_length, 4)

    def _statsmodels_forecast(self, y: np.ndarray) -> Any:
        from statsmodels.tsa.forecasting.theta import ThetaModel

        period = self.season_length if self.season_length > 1 else None
        model = ThetaModel(y, period=period, deseasonalize=period is not None)
        return model.fit().forecast(self.horizon)
