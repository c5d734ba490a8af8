"""Neural forecasters: one global network over all series, behind the forecaster contract.

``fit`` holds out the last ``val_size`` of every series for early stopping, fits the per-series
scaler on the training rows only, builds past-only and known-future features, cuts zero-copy
windows and trains with :class:`tsattn.train.Trainer`. ``predict`` scales the history, appends
the horizon's known-future covariates and calendar features, runs the network on the last window
of every series (or on every backtest window in one batched pass) and maps the forecast back to
the original units.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from tsattn.data.features import build_features, static_features
from tsattn.data.loader import make_loaders
from tsattn.data.panel import Panel, ValidationReport
from tsattn.data.scaling import SCALER_METHODS, SeriesScaler
from tsattn.data.splits import Split, split_by_fraction
from tsattn.data.timestamps import season_length
from tsattn.data.windows import Windows, make_windows
from tsattn.forecaster import BaseForecaster
from tsattn.models import MODELS, build_model
from tsattn.params import check_bounds, check_choice, check_param, check_quantiles
from tsattn.train import LOSSES, History, Trainer, resolve_device

__all__ = [
    "AttentionLSTMForecaster",
    "LSTMForecaster",
    "LinearForecaster",
    "NeuralForecaster",
    "TransformerForecaster",
    "run_network",
]

#: Arguments of every network that the forecaster sets itself from the data.
_DATA_ARGUMENTS = {
    "lookback",
    "horizon",
    "n_past_covariates",
    "n_future_covariates",
    "n_static",
    "n_quantiles",
}


class NeuralForecaster(BaseForecaster):
    """A global network over all series with the scikit-learn ``fit`` / ``predict`` contract.

    Parameters
    ----------
    horizon, lookback : int
        Steps forecast; past steps the network sees.
    hidden_size, num_layers, dropout : optional
        Network size; None keeps the network's own default (see ``tsattn.models``).
    learning_rate, batch_size : float, int
        AdamW learning rate (warm-up then cosine decay) and windows per step.
    max_epochs, max_steps, time_budget : optional
        Training limits: passes, optimiser steps, wall-clock seconds. ``max_epochs=None``: the
        network's budget (``default_max_epochs``: 50; the attention LSTM 20, where it fits the
        Quick Start's 17,520 hourly points in about a minute more accurately than its earlier
        attention did in 50: ``benchmarks/RESULTS.md``).
    patience : int, optional
        Epochs without validation improvement before stopping (best weights restored).
    ema_epochs : float, 'auto' or None
        Validate, keep and return a moving average of the weights over about the last
        ``ema_epochs`` epochs (``tsattn.train.Trainer``); None: the raw weights. ``'auto'``:
        ``default_ema_epochs``, 1 for the three networks and None for DLinear (chosen on
        validation, ``benchmarks/RESULTS.md``).
    val_size : float
        Share of each series' end held out for early stopping (0 to 0.5).
    refit_with_val : bool
        After early stopping, train afresh (same seed, scaler refit) on the whole history for
        the best number of epochs, as NeuralForecast's ``refit_with_val``; a second training.
    max_val_windows : int, optional
        Validation windows per epoch (an evenly spread subset, fixed across epochs); None: all.
    loss : {'mae', 'mse', 'huber', 'quantile'}
        Training loss (``'quantile'`` is implied by ``quantiles``); MAE fits the median (MASE).
    quantiles : list of float, optional
        Train quantile outputs at these levels (the median is added for ``y_pred``).
    scaler : {'standard', 'robust', 'minmax', None}
        Per-series scaling fitted on the training rows only (all rows with refit_with_val).
    revin : {'last', 'mean', True, False}
        Per-window normalisation inside the network: ``'last'`` centres each window on its
        last value (an untrained network gives the naive forecast: robust on prices);
        ``'mean'`` (or True) is classic RevIN.
    calendar : bool
        Add calendar features of the timestamps as known-future inputs.
    bounds : (low, high), optional
        Clip forecasts and quantiles to this range, e.g. ``(0, None)`` for counts.
    fill : {'ffill', 'interpolate', 'zero', None}
        How to fill missing values and timestamps (None: NaN is an error; windows stay inside
        gap-free stretches).
    max_fill : int, optional
        Longest run of missing timestamps ``fill`` fills (default: any); longer ones stay gaps.
    device, predict_batch_size : str, int
        Where fit and predict run: 'auto' (cuda, then mps, then cpu), 'cpu', 'cuda', 'cuda:N'
        or 'mps'; windows per network call in predict.
    random_state : int, optional
        Seed for weights, dropout and window order (bit-identical refits on CPU).
    verbose : int, optional
        None: a progress bar in an interactive terminal; 0 silent; 1 bar + a line per epoch.
    callbacks : list of callables, optional
        ``callback(epoch, metrics)`` after every epoch of the early-stopped training (metrics
        ``train_loss``, ``val_loss``, ...); an exception stops the fit (Optuna pruning does).
    model_options : dict, optional
        Network options, e.g. ``{"attention": "additive"}``; ``segment_length`` defaults to the
        data's season (hourly 24, daily 7, ...: ``tsattn.data.timestamps.season_length``), at
        most ``lookback``.
    """

    model_name = ""
    #: Passes over the data when ``max_epochs`` is None.
    default_max_epochs = 50
    #: Epochs the weights are averaged over when ``ema_epochs='auto'``.
    default_ema_epochs: float | None = 1.0

    def __init__(
        self,
        horizon: int = 24,
        lookback: int = 96,
        *,
        hidden_size: int | None = None,
        num_layers: int | None = None,
        dropout: float | None = None,
        learning_rate: float = 1e-3,
        batch_size: int = 256,
        max_epochs: int | None = None,
        max_steps: int | None = None,
        time_budget: float | None = None,
        patience: int | None = 5,
        ema_epochs: float | str | None = "auto",
        val_size: float = 0.2,
        refit_with_val: bool = True,
        max_val_windows: int | None = 10_000,
        loss: str = "mae",
        quantiles: Sequence[float] | None = None,
        scaler: str | None = "standard",
        revin: bool | str = "last",
        calendar: bool = True,
        bounds: tuple[float | None, float | None] | None = None,
        fill: str | None = None,
        max_fill: int | None = None,
        device: str = "auto",
        predict_batch_size: int = 1024,
        random_state: int | None = 0,
        verbose: int | None = None,
        callbacks: Sequence[Callable[[int, dict], None]] | None = None,
        model_options: dict[str, Any] | None = None,
    ) -> None:
        self.horizon = horizon
        self.lookback = lookback
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.max_steps = max_steps
        self.time_budget = time_budget
        self.patience = patience
        self.ema_epochs = ema_epochs
        self.val_size = val_size
        self.refit_with_val = refit_with_val
        self.max_val_windows = max_val_windows
        self.loss = loss
        self.quantiles = quantiles
        self.scaler = scaler
        self.revin = revin
        self.calendar = calendar
        self.bounds = bounds
        self.fill = fill
        self.max_fill = max_fill
        self.device = device
        self.predict_batch_size = predict_batch_size
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.model_options = model_options

    # -- parameters ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        super()._check_params()
        _check_training_params(self)
        self._model_options()  # unknown network options fail before any data work

    def _model_options(self) -> dict[str, Any]:
        """Network-specific constructor arguments, checked against the network's signature."""
        options = dict(self.model_options or {})
        allowed = set(inspect.signature(MODELS[self.model_name]).parameters) - _DATA_ARGUMENTS
        unknown = sorted(set(options) - allowed)
        if unknown:
            raise ValueError(
                f"model_options {unknown} are not options of the {self.model_name!r} network; "
                f"allowed: {sorted(allowed)}."
            )
        return options

    @property
    def quantile_levels(self) -> list[float]:
        """Quantile levels the network emits: the requested ones plus the median (``y_pred``)."""
        if not self.quantiles:
            return []
        return sorted({*check_quantiles("quantiles", self.quantiles), 0.5})

    def _native_quantiles(self) -> list[float]:
        return self.quantile_levels

    def _min_fit_length(self) -> int:
        return self.lookback + self.horizon

    # -- fit --------------------------------------------------------------------------------------
    def _fit(self, panel: Panel) -> None:
        split = split_by_fraction(panel, self.lookback, (1 - self.val_size, self.val_size, 0.0))
        static = _static_inputs(self, panel, fit=True)
        self.scaler_, train, val = _fit_windows(self, panel, self._features, static, split)
        options = self._model_options()
        self.network_params_ = _network_params(
            self, train.past_covariates, train.future_covariates, static, options
        )
        self.model_, self.training_history_ = _train(self, train, val)
        if self.refit_with_val:  # the same seed, the whole history, the best number of epochs
            self.scaler_, train, _ = _fit_windows(self, panel, self._features, static, None)
            epochs = self.training_history_.best_epoch + 1
            self.model_, self.refit_history_ = _train(self, train, None, epochs=epochs)
        self.device_ = torch.device(self.training_history_.device)
        self.validation_report_ = _report_windows(self, panel, train, val)

    def _features(self, panel: Panel, scaler: SeriesScaler):
        """Scaled target ``(N,)``, past-only ``(N, Cp)`` and known-future ``(N, Cf)`` inputs."""
        roles = self.columns_
        feats = build_features(
            panel, past=roles.past, future=roles.future, calendar=self.calendar, scaler=scaler
        )
        return scaler.transform(panel).target, feats.past, feats.future

    def restore(
        self, config: dict[str, Any], history: Panel, weights: dict[str, Any] | None = None
    ) -> NeuralForecaster:
        network = config.get("network", {})
        saved = (network.get("name"), network.get("params", {}).get("n_quantiles"))
        if saved != (self.model_name, max(1, len(self.quantile_levels))):
            raise ValueError(
                f"the saved network {saved[0]!r} with n_quantiles={saved[1]} does not belong to "
                f"{type(self).__name__}(quantiles={self.quantiles})."
            )
        model = build_model(network["name"], **network["params"])
        model.load_state_dict(weights, strict=True)  # tsattn.load checked names and shapes
        super().restore(config, history)
        self.model_ = model.eval()
        self.network_params_ = network["params"]
        self.scaler_ = SeriesScaler.from_state(config["scaler"])
        if "static" in config:
            self.static_center_ = config["static"]["center"]
            self.static_scale_ = config["static"]["scale"]
        return self

    # -- predict ----------------------------------------------------------------------------------
    def _windows(
        self, data: Panel, scaler: SeriesScaler, bounds: np.ndarray, owner: Panel, stride: int = 1
    ) -> Windows:
        """Scaled windows of ``data`` inside ``bounds``; static features come from ``owner``."""
        target, past, future = self._features(data, scaler)
        return make_windows(
            data,
            self.lookback,
            self.horizon,
            stride=stride,
            bounds=bounds,
            target=target,
            past_covariates=past,
            future_covariates=future,
            static=_static_inputs(self, owner, fit=False),
            split_at_gaps=False,  # predict_panel checked that no window spans a gap
        )

    def last_windows(
        self, panel: Panel, future: np.ndarray | None = None
    ) -> tuple[Windows, SeriesScaler]:
        """The final window of every series with the horizon's known-future inputs appended.

        Parameters
        ----------
        panel : Panel
            History, at least ``lookback`` steps per series.
        future : numpy.ndarray, optional
            ``(S, H, Cf)`` known-future covariates (``predict_inputs`` builds them).

        Returns
        -------
        (Windows, SeriesScaler)
            One scaled window per series (what the network sees) and the scaler whose rows
            ``scaler.series_numbers(panel.ids)`` map the forecasts back to original units.
        """
        self.check_fitted()
        scaler = _scaler_for(self, panel)
        names = self.columns_.future
        ahead = {} if future is None else {c: future[..., k] for k, c in enumerate(names)}
        ext = panel.extend(panel.future_times(self.horizon), ahead)
        end = ext.offsets[1:]
        bounds = np.stack([end - self.horizon - self.lookback, end], axis=1)  # (S, 2)
        return self._windows(ext, scaler, bounds, owner=panel), scaler

    def _predict_windows(
        self, panel: Panel, origins: np.ndarray, quantiles: list[float]
    ) -> np.ndarray:
        """All backtest windows in one batched pass (no loop over windows)."""
        scaler = _scaler_for(self, panel)
        n = origins.shape[1]
        step = int(origins[0, 1] - origins[0, 0]) if n > 1 else 1
        begin = panel.offsets[:-1] + origins[:, 0] - self.lookback  # (S,)
        end = begin + self.lookback + (n - 1) * step + self.horizon  # (S,)
        bounds = np.stack([begin, end], axis=1)  # (S, 2)
        windows = self._windows(panel, scaler, bounds, owner=panel, stride=step)
        pred, _ = _run_fitted(self, windows)  # (S * n, H, Q)
        pred = scaler.inverse_transform(pred, np.repeat(scaler.series_numbers(panel.ids), n))
        columns = _output_columns(self, quantiles)
        return pred[..., columns].reshape(panel.n_series, n, self.horizon, len(columns))

    def _predict(
        self, panel: Panel, times: np.ndarray, future: np.ndarray | None, quantiles: list[float]
    ) -> np.ndarray:
        windows, scaler = self.last_windows(panel, future)
        pred, _ = _run_fitted(self, windows)
        pred = scaler.inverse_transform(pred, scaler.series_numbers(panel.ids))  # (S, H, Q)
        return pred[..., _output_columns(self, quantiles)]  # (S, H, 1 + len(quantiles))

    def predict_attention(self, df: Any = None, *, X_future: Any = None) -> np.ndarray:
        """Attention of each forecast step over the lookback, ``(S, H, P)``; rows sum to 1.

        ``P`` is what the network attends over: the attention LSTM's ``L`` lookback steps
        (oldest first; column ``j`` is the step ``L - j`` steps before the last observed one:
        :func:`tsattn.plotting.attention_by_lag` re-indexes by lag before each forecast step,
        ``plot_attention(align="lag")`` draws it; the Transformer's lag attention alike), or
        lookback segments (``resolution="segment"``; the Transformer's patches with
        ``attention="none"``). Raises ``ValueError`` for a network without attention.
        """
        panel, future = self.predict_inputs(df, X_future)
        windows, _ = self.last_windows(panel, future)
        _, attention = _run_fitted(self, windows, return_attention=True)
        if attention is None:
            raise ValueError(
                f"{type(self).__name__} has no attention weights; use AttentionLSTMForecaster or TransformerForecaster."
            )
        return attention


def _static_inputs(est: NeuralForecaster, panel: Panel, *, fit: bool) -> np.ndarray | None:
    """``(S, Cs)`` standardised static covariates (statistics learnt when ``fit``)."""
    if not est.columns_.static:
        return None
    first = static_features(panel, est.columns_.static)  # (S, Cs)
    if fit:
        est.static_center_ = first.mean(axis=0).tolist()
        est.static_scale_ = np.where(first.std(axis=0) > 0, first.std(axis=0), 1.0).tolist()
    return ((first - est.static_center_) / est.static_scale_).astype(np.float32)


def _scaler_for(est: NeuralForecaster, panel: Panel) -> SeriesScaler:
    """The fitted scaler, plus statistics of series unseen in fit from their own history."""
    scaler = est.scaler_
    known = set(scaler.ids_)
    if panel is not est.history_ and any(i not in known for i in panel.ids):
        scaler = SeriesScaler.from_state(scaler.get_state()).add_series(panel)
    return scaler


def _output_columns(est: NeuralForecaster, quantiles: list[float]) -> list[int]:
    """Network outputs for ``y_pred`` (the median when quantiles are trained) and ``quantiles``."""
    levels = est.quantile_levels
    return ([levels.index(0.5)] if levels else [0]) + [levels.index(q) for q in quantiles]


#: Lookback, in seasons, from which the networks in :data:`TWO_SEASON_SEGMENTS` get segments of
#: two seasons: 14 (336 hourly steps, two weeks).
LONG_LOOKBACK_SEASONS = 14
#: Networks whose default segments double at long lookbacks. The LSTM: on validation, segments
#: of 48 beat 24 on ETTh1 at L=336 (three seeds) and L=720 and on Trondheim traffic at L=336,
#: were level at L=720 and lost on I-94 at L=336; the attention LSTM and the Transformer did
#: better with 24 at L=336.
TWO_SEASON_SEGMENTS = frozenset({"lstm"})


def default_segment_length(model_name: str, season: int, lookback: int) -> int | None:
    """The ``segment_length`` a network gets when its options do not set one (None: it has none).

    One segment per season of the data (a day of hourly steps, a week of days), so that
    segments line up with the cycle; the network's own default without a season; never longer
    than the lookback. The LSTM's segments are two seasons long once the lookback holds
    :data:`LONG_LOOKBACK_SEASONS` seasons (48 steps from L=336 on hourly data): chosen on
    validation, where the attention LSTM and the Transformer kept one season
    (``benchmarks/RESULTS.md``, "The LSTM's segments at long lookbacks").
    """
    signature = inspect.signature(MODELS[model_name]).parameters
    if "segment_length" not in signature:
        return None
    if season <= 1:
        return min(signature["segment_length"].default, lookback)
    if model_name in TWO_SEASON_SEGMENTS and lookback >= LONG_LOOKBACK_SEASONS * season:
        return 2 * season
    return min(season, lookback)


def _network_params(
    est: NeuralForecaster, past, future, static, options: dict[str, Any]
) -> dict[str, Any]:
    """The network's constructor arguments: sizes given by the data, then the user's options."""
    sizes = {"hidden_size": est.hidden_size, "num_layers": est.num_layers, "dropout": est.dropout}
    segment = default_segment_length(est.model_name, season_length(est.freq_), est.lookback)
    if segment is not None and "segment_length" not in options:
        options = {**options, "segment_length": segment}
    return {
        "lookback": est.lookback,
        "horizon": est.horizon,
        "n_past_covariates": 0 if past is None else past.shape[1],
        "n_future_covariates": 0 if future is None else future.shape[1],
        "n_static": 0 if static is None else static.shape[1],
        "n_quantiles": max(1, len(est.quantile_levels)),
        "revin": est.revin,
        **{k: v for k, v in sizes.items() if v is not None},
        **options,
    }


def _trainer(est: NeuralForecaster, epochs: int | None = None) -> Trainer:
    """The Trainer for ``est``'s training parameters; ``epochs``: exactly that many (at most
    ``max_steps``), no early stopping, the last weights kept."""
    levels = est.quantile_levels
    return Trainer(
        max_epochs=epochs or est.max_epochs or est.default_max_epochs,
        max_steps=est.max_steps,
        time_budget=est.time_budget,
        learning_rate=est.learning_rate,
        patience=None if epochs else est.patience,
        ema_epochs=est.default_ema_epochs if est.ema_epochs == "auto" else est.ema_epochs,
        restore_best=not epochs,
        loss="quantile" if levels else est.loss,
        quantiles=levels or None,
        device=est.device,
        random_state=est.random_state,
        verbose=est.verbose,
        callbacks=() if epochs else list(est.callbacks or ()),  # not again in the refit
    )


def _check_training_params(est: NeuralForecaster) -> None:
    """Check the network, training and data parameters of a neural forecaster."""
    check_param("hidden_size", est.hidden_size, low=1, integer=True, allow_none=True)
    check_param("num_layers", est.num_layers, low=1, integer=True, allow_none=True)
    check_param("dropout", est.dropout, low=0, high=0.9, allow_none=True)
    check_param("learning_rate", est.learning_rate, low=0, low_open=True)
    check_param("batch_size", est.batch_size, low=1, integer=True)
    check_param("max_epochs", est.max_epochs, low=1, integer=True, allow_none=True)
    check_param("max_steps", est.max_steps, low=1, integer=True, allow_none=True)
    check_param("time_budget", est.time_budget, low=0, low_open=True, allow_none=True)
    check_param("patience", est.patience, low=1, integer=True, allow_none=True)
    if est.ema_epochs != "auto":
        check_param("ema_epochs", est.ema_epochs, low=0, low_open=True, allow_none=True)
    check_param("val_size", est.val_size, low=0, high=0.5)
    check_choice("refit_with_val", est.refit_with_val, [True, False])
    check_param("max_val_windows", est.max_val_windows, low=1, integer=True, allow_none=True)
    check_param("predict_batch_size", est.predict_batch_size, low=1, integer=True)
    check_param("random_state", est.random_state, low=0, integer=True, allow_none=True)
    check_param("verbose", est.verbose, low=0, integer=True, allow_none=True)
    if est.callbacks is not None and not all(callable(c) for c in est.callbacks):
        raise TypeError(
            f"callbacks must be a list of callables callback(epoch, metrics), got {est.callbacks!r}."
        )
    check_choice("loss", est.loss, LOSSES)
    check_choice("scaler", est.scaler, [*SCALER_METHODS, None])
    check_choice("fill", est.fill, ["ffill", "interpolate", "zero", None])
    check_param("max_fill", est.max_fill, low=1, integer=True, allow_none=True)
    check_choice("revin", est.revin, [True, False, "mean", "last"])
    check_choice("calendar", est.calendar, [True, False])
    check_bounds("bounds", est.bounds)
    check_quantiles("quantiles", est.quantiles)
    if est.loss == "quantile" and not est.quantiles:
        raise ValueError("loss='quantile' needs quantiles=[...], e.g. [0.1, 0.5, 0.9].")
    if not isinstance(est.device, str):
        raise ValueError(
            f"device={est.device!r} is invalid; expected 'auto', 'cpu', 'cuda' or 'mps'."
        )


def _fit_windows(
    est: NeuralForecaster,
    panel: Panel,
    features: Callable[[Panel, SeriesScaler], tuple],
    static: np.ndarray | None,
    split: Split | None,
) -> tuple[SeriesScaler, Windows, Windows | None]:
    """The scaler fitted on the training rows, the training windows and the validation ones
    (None when none fits); ``split`` None: the whole history is training data."""
    rows = None if split is None else split.train
    roles = est.columns_
    scaler = SeriesScaler(est.scaler, covariates=[*roles.past, *roles.future])
    target, past, future = features(panel, scaler.fit(panel, bounds=rows))

    def windows(bounds: np.ndarray | None) -> Windows | None:
        ranges, _ = panel.stretches(bounds)  # (K, 2) gap-free row ranges
        if not (ranges[:, 1] - ranges[:, 0] >= est.lookback + est.horizon).any():
            return None
        return make_windows(
            panel,
            est.lookback,
            est.horizon,
            bounds=bounds,
            target=target,
            past_covariates=past,
            future_covariates=future,
            static=static,
        )

    train = windows(rows)
    if train is None:
        raise ValueError(
            f"no training window fits: with val_size={est.val_size} the training part of every "
            f"series (or of each gap-free stretch) is shorter than lookback + horizon = "
            f"{est.lookback + est.horizon}; pass longer series, a smaller lookback or a smaller "
            "val_size."
        )
    return scaler, train, None if split is None else windows(split.val)


def _train(
    est: NeuralForecaster, train: Windows, val: Windows | None, epochs: int | None = None
) -> tuple[nn.Module, History]:
    """A network built from ``est.random_state`` and trained (``epochs``: see ``_trainer``)."""
    with torch.random.fork_rng():  # seeding here leaves the caller's torch RNG as it was
        if est.random_state is not None:
            torch.manual_seed(est.random_state)
        model = build_model(est.model_name, **est.network_params_)
        loaders = make_loaders(
            train,
            val,
            batch_size=est.batch_size,
            seed=est.random_state,
            max_val_windows=est.max_val_windows,
        )
        return model, _trainer(est, epochs).fit(model, *loaders)


def _report_windows(
    est: NeuralForecaster, panel: Panel, train: Windows, val: Windows | None
) -> ValidationReport:
    """``panel``'s report plus columns ``train_windows`` and ``val_windows`` (windows per
    series); series that give none are noted in it and warned about."""
    n, length = panel.n_series, est.lookback + est.horizon
    counts = {
        "train_windows": train.counts_per_series(n),
        "val_windows": np.zeros(n, np.int64) if val is None else val.counts_per_series(n),
    }
    table = panel.report.counts.copy()
    for name, values in counts.items():
        table[name] = pd.Series(values, index=panel.ids).reindex(table.index, fill_value=0)
    report = replace(panel.report, counts=table, notes=list(panel.report.notes))
    if est.refit_with_val:
        where, fix = "whole history", "a smaller lookback"
    else:
        where = f"part before the last val_size={est.val_size}"
        fix = "refit_with_val=True, a smaller val_size"
    problems = [
        (
            "training",
            counts["train_windows"],
            f"no gap-free stretch of their {where} is as long as lookback + horizon = {length}, "
            f"so the network never trains on them; pass {fix} or fill the gaps",
        ),
        (
            "validation",
            counts["val_windows"] if est.val_size > 0 else np.ones(n),  # none asked for
            f"their last val_size={est.val_size} is shorter than horizon = {est.horizon} (or "
            "cut by a gap), so early stopping does not see them",
        ),
    ]
    for part, per_series, why in problems:
        ids = panel.ids[per_series == 0]
        if len(ids):
            names = ", ".join(repr(i.item() if isinstance(i, np.generic) else i) for i in ids[:5])
            more = f" and {len(ids) - 5} more" if len(ids) > 5 else ""
            message = f"{len(ids)} of {n} series give no {part} window ({names}{more}): {why}."
            report.note(message)
            warnings.warn(message, UserWarning, stacklevel=5)
    return report


def _run_fitted(
    est: NeuralForecaster, windows: Windows, *, return_attention: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`run_network` on the fitted device, in chunks of ``est.predict_batch_size``."""
    check_param("predict_batch_size", est.predict_batch_size, low=1, integer=True)
    if getattr(est, "device_", None) is None:  # loaded: restore built the network on the CPU
        est.device_ = resolve_device(est.device)
    return run_network(
        est.model_,
        windows,
        chunk_size=est.predict_batch_size,
        device=est.device_,
        return_attention=return_attention,
    )


@torch.no_grad()
def run_network(
    model: nn.Module,
    windows: Windows,
    *,
    chunk_size: int = 1024,
    device: str | torch.device | None = None,
    return_attention: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Forecasts ``(B, H, Q)`` (and attention ``(B, H, P)`` or None) for every window.

    The windows go through the network ``chunk_size`` at a time on ``device`` (default: where
    the network is, which is moved there); the results come back to the CPU.
    """
    check_param("chunk_size", chunk_size, low=1, integer=True)
    if device is None:
        device = next(model.parameters(), torch.empty(0)).device
    model.to(device).eval()
    preds, weights = [], []
    for i in range(0, len(windows), chunk_size):
        b = windows.gather(np.arange(i, min(i + chunk_size, len(windows)))).to(device)
        out = model(
            b.past_target,
            b.past_covariates,
            b.future_covariates,
            b.static,
            return_attention=return_attention,
        )
        if return_attention:
            out, attn = out
            weights.append(None if attn is None else attn.float().cpu())
        preds.append(out.float().cpu())
    attention = None
    if return_attention and weights and weights[0] is not None:
        attention = torch.cat(weights).numpy()
    return torch.cat(preds).numpy(), attention


class LSTMForecaster(NeuralForecaster):
    """LSTM encoder over lookback segments with a direct multi-horizon head."""

    model_name = "lstm"


class TransformerForecaster(NeuralForecaster):
    """Temporal Transformer over lookback segments with horizon queries and a per-step lag
    attention on top (see ``TransformerNet``)."""

    model_name = "transformer"


class LinearForecaster(NeuralForecaster):
    """DLinear: trend/remainder decomposition with two linear maps (a strong baseline)."""

    model_name = "linear"
    default_ema_epochs = None  # the average of its weights scored worse on validation


class AttentionLSTMForecaster(NeuralForecaster):
    """LSTM encoder-decoder whose every decoder step attends over all encoder states."""

    model_name = "attention_lstm"
    default_max_epochs = 20
