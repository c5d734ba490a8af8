"""Neural forecasters: one global network over all series, behind the scikit-learn facade.

``fit`` validates, holds out the last ``val_size`` of every series for early stopping, fits the
per-series scaler on the training rows only, builds past-only and known-future features, and
trains with :class:`tsattn.train.Trainer`. ``predict`` scales the supplied (or fitted) history,
appends the horizon's known-future covariates and calendar features, runs the network on the
last window of every series and maps the forecast back to the original units.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from tsattn.data.features import SCALER_METHODS, SeriesScaler, build_features
from tsattn.data.panel import Panel, ValidationReport
from tsattn.data.splits import split_by_fraction
from tsattn.data.windows import make_windows
from tsattn.forecaster import BaseForecaster, check_choice, check_param, check_quantiles
from tsattn.train import LOSSES, Trainer

__all__ = [
    "AttentionLSTMForecaster",
    "LSTMForecaster",
    "LinearForecaster",
    "NeuralForecaster",
    "TransformerForecaster",
]


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
        Training limits: passes, optimiser steps, wall-clock seconds.
    patience : int, optional
        Epochs without validation improvement before stopping (best weights restored).
    val_size : float
        Share of each series' end held out for early stopping (0 to 0.5).
    loss : {'mse', 'mae', 'huber', 'quantile'}
        Training loss (``'quantile'`` is implied by ``quantiles``).
    quantiles : list of float, optional
        Train quantile outputs at these levels (the median is added for ``y_pred``).
    scaler : {'standard', 'robust', 'minmax', None}
        Per-series scaling fitted on the training rows only.
    revin : {'last', 'mean', True, False}
        Per-window normalisation inside the network. The default ``'last'`` centres each
        window on its last value, so an untrained network forecasts the naive forecast and
        training moves it away only where the data reward it: robust on random-walk-like
        series such as prices. ``'mean'`` (or True) is classic RevIN.
    calendar : bool
        Add calendar features of the timestamps as known-future inputs.
    fill : {'ffill', 'interpolate', 'zero', None}
        How to fill missing values (None: raise).
    device : str
        'auto' (cuda, then mps, then cpu), 'cpu', 'cuda', 'cuda:N' or 'mps'.
    random_state : int, optional
        Seed for weights, dropout and window order (bit-identical refits on CPU).
    verbose : int
        1 logs one line per epoch.
    model_options : dict, optional
        Network-specific options, e.g. ``{"attention": "additive"}`` or ``{"segment_length": 12}``.
    """

    model_name = ""

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
        max_epochs: int = 50,
        max_steps: int | None = None,
        time_budget: float | None = None,
        patience: int | None = 5,
        val_size: float = 0.2,
        loss: str = "mse",
        quantiles: Sequence[float] | None = None,
        scaler: str | None = "standard",
        revin: bool | str = "last",
        calendar: bool = True,
        fill: str | None = None,
        device: str = "auto",
        random_state: int | None = 0,
        verbose: int = 0,
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
        self.val_size = val_size
        self.loss = loss
        self.quantiles = quantiles
        self.scaler = scaler
        self.revin = revin
        self.calendar = calendar
        self.fill = fill
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.model_options = model_options

    # -- parameters ----------------------------------------------------------------------------
    def _check_params(self) -> None:
        check_param("hidden_size", self.hidden_size, low=1, integer=True, allow_none=True)
        check_param("num_layers", self.num_layers, low=1, integer=True, allow_none=True)
        check_param("dropout", self.dropout, low=0, high=0.9, allow_none=True)
        check_param("learning_rate", self.learning_rate, low=0, low_open=True)
        check_param("batch_size", self.batch_size, low=1, integer=True)
        check_param("max_epochs", self.max_epochs, low=1, integer=True)
        check_param("max_steps", self.max_steps, low=1, integer=True, allow_none=True)
        check_param("time_budget", self.time_budget, low=0, low_open=True, allow_none=True)
        check_param("patience", self.patience, low=1, integer=True, allow_none=True)
        check_param("val_size", self.val_size, low=0, high=0.5)
        check_param("random_state", self.random_state, low=0, integer=True, allow_none=True)
        check_param("verbose", self.verbose, low=0, integer=True)
        check_choice("loss", self.loss, LOSSES)
        check_choice("scaler", self.scaler, [*SCALER_METHODS, None])
        check_choice("fill", self.fill, ["ffill", "interpolate", "zero", None])
        check_choice("revin", self.revin, [True, False, "mean", "last"])
        check_choice("calendar", self.calendar, [True, False])
        check_quantiles("quantiles", self.quantiles)
        if self.loss == "quantile" and not self.quantiles:
            raise ValueError("loss='quantile' needs quantiles=[...], e.g. [0.1, 0.5, 0.9].")
        if not isinstance(self.device, str):
            raise ValueError(
                f"device={self.device!r} is invalid; expected 'auto', 'cpu', 'cuda' or 'mps'."
            )
        self._model_options()  # unknown network options fail before any data work

    def _model_options(self) -> dict[str, Any]:
        """Network-specific constructor arguments, checked against the network's signature."""
        import inspect

        from tsattn.models import MODELS

        options = dict(self.model_options or {})
        accepted = set(inspect.signature(MODELS[self.model_name]).parameters)
        reserved = {
            "lookback",
            "horizon",
            "n_past_covariates",
            "n_future_covariates",
            "n_static",
            "n_quantiles",
        }
        unknown = sorted(set(options) - (accepted - reserved))
        if unknown:
            raise ValueError(
                f"model_options {unknown} are not options of the {self.model_name!r} network; "
                f"allowed: {sorted(accepted - reserved)}."
            )
        return options

    def _levels(self) -> list[float]:
        """Quantile levels the network emits: the requested ones plus the median (``y_pred``)."""
        if not self.quantiles:
            return []
        return sorted({*check_quantiles("quantiles", self.quantiles), 0.5})

    # -- fit --------------------------------------------------------------------------------------
    def _fit(self, panel: Panel) -> None:
        cols = self.columns_
        split = split_by_fraction(panel, self.lookback, (1 - self.val_size, self.val_size, 0.0))
        self.scaler_ = SeriesScaler(self.scaler, covariates=[*cols["past"], *cols["future"]]).fit(
            panel, bounds=split.train
        )
        target, past, future = self._features(panel, self.scaler_)
        static = self._static(panel, fit=True)
        parts = [
            make_windows(
                panel,
                self.lookback,
                self.horizon,
                bounds=b,
                target=target,
                past_covariates=past,
                future_covariates=future,
                static=static,
            )
            if self._fits(b)
            else None
            for b in (split.train, split.val)
        ]
        if parts[0] is None:
            raise ValueError(
                f"no training window fits: with val_size={self.val_size} the training part of the "
                f"longest series is shorter than lookback + horizon = {self.lookback + self.horizon}; "
                "pass longer series, a smaller lookback or a smaller val_size."
            )
        levels = self._levels()
        options = {
            k: v
            for k, v in (
                ("hidden_size", self.hidden_size),
                ("num_layers", self.num_layers),
                ("dropout", self.dropout),
            )
            if v is not None
        }
        self.network_params_ = {
            "lookback": self.lookback,
            "horizon": self.horizon,
            "n_past_covariates": 0 if past is None else past.shape[1],
            "n_future_covariates": 0 if future is None else future.shape[1],
            "n_static": 0 if static is None else static.shape[1],
            "n_quantiles": max(1, len(levels)),
            "revin": self.revin,
            **options,
            **self._model_options(),
        }
        from tsattn.data.loader import make_loaders
        from tsattn.models import build_model

        if self.random_state is not None:
            torch.manual_seed(self.random_state)
        self.model_ = build_model(self.model_name, **self.network_params_)
        train, val = make_loaders(*parts, batch_size=self.batch_size, seed=self.random_state)
        trainer = Trainer(
            max_epochs=self.max_epochs,
            max_steps=self.max_steps,
            time_budget=self.time_budget,
            learning_rate=self.learning_rate,
            patience=self.patience,
            loss="quantile" if levels else self.loss,
            quantiles=levels or None,
            device=self.device,
            random_state=self.random_state,
            verbose=self.verbose,
        )
        self.training_history_ = trainer.fit(self.model_, train, val)
        self.model_.to("cpu")

    def _fits(self, bounds: np.ndarray) -> bool:
        return bool(((bounds[:, 1] - bounds[:, 0]) >= self.lookback + self.horizon).any())

    def _features(self, panel: Panel, scaler: SeriesScaler):
        cols = self.columns_
        feats = build_features(
            panel, past=cols["past"], future=cols["future"], calendar=self.calendar, scaler=scaler
        )
        target = scaler.transform(panel).target
        return target, feats.past, feats.future

    def _static(self, panel: Panel, *, fit: bool) -> np.ndarray | None:
        names = self.columns_["static"]
        if not names:
            return None
        raw = np.stack([panel.covariates[c] for c in names], axis=1)  # (N, Cs)
        first = raw[panel.offsets[:-1]]  # (S, Cs)
        varies = np.flatnonzero((np.repeat(first, panel.lengths, axis=0) != raw).any(axis=1))
        if len(varies):
            row = int(varies[0])
            s = int(np.searchsorted(panel.offsets, row, side="right") - 1)
            raise ValueError(
                f"static covariates {names} must be constant within a series, but series "
                f"{panel.ids[s]!r} changes at row {row - panel.offsets[s]}; pass such columns as "
                "past_covariates or future_covariates instead."
            )
        if fit:
            self.static_center_ = first.mean(axis=0).tolist()
            self.static_scale_ = np.where(first.std(axis=0) > 0, first.std(axis=0), 1.0).tolist()
        return ((first - self.static_center_) / self.static_scale_).astype(np.float32)

    # -- predict ----------------------------------------------------------------------------------
    def _windows(
        self, data: Panel, scaler: SeriesScaler, bounds: np.ndarray, owner: Panel, stride: int = 1
    ):
        """Scaled windows of ``data`` inside ``bounds``; static features come from ``owner``."""
        target, past, fut = self._features(data, scaler)
        return make_windows(
            data,
            self.lookback,
            self.horizon,
            stride=stride,
            bounds=bounds,
            target=target,
            past_covariates=past,
            future_covariates=fut,
            static=self._static(owner, fit=False),
        )

    def _last_windows(self, panel: Panel, times: np.ndarray, future: np.ndarray | None):
        """The final window of every series, with the horizon's known-future inputs appended."""
        scaler = self._scaler_for(panel)
        ext = _extend(panel, times, future, self.columns_["future"])
        end = ext.offsets[1:]
        bounds = np.stack([end - self.horizon - self.lookback, end], axis=1)  # (S, 2)
        return self._windows(ext, scaler, bounds, owner=panel), scaler

    def _output_columns(self, quantiles: list[float]) -> list[int]:
        """Network outputs for ``y_pred`` (the median when quantiles are trained) and ``quantiles``."""
        levels = self._levels()
        return ([levels.index(0.5)] if levels else [0]) + [levels.index(q) for q in quantiles]

    @torch.no_grad()
    def _run(
        self, windows, *, return_attention: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None]:
        self.model_.eval()
        preds, weights = [], []
        for i in range(0, len(windows), 1024):
            b = windows.gather(np.arange(i, min(i + 1024, len(windows))))
            out = self.model_(
                b.past_target,
                b.past_covariates,
                b.future_covariates,
                b.static,
                return_attention=return_attention,
            )
            if return_attention:
                out, attn = out
                weights.append(attn)
            preds.append(out)
        attention = None
        if return_attention and weights and weights[0] is not None:
            attention = torch.cat(weights).numpy()
        return torch.cat(preds).numpy(), attention  # (S, H, Q), (S, H, n) or None

    def _native_quantiles(self) -> list[float]:
        return self._levels()

    def _scaler_for(self, panel: Panel) -> SeriesScaler:
        scaler = self.scaler_
        known = set(scaler.ids_)
        if panel is not self.history_ and any(i not in known for i in panel.ids):
            # a global model: series unseen in fit are scaled by their own history
            scaler = SeriesScaler.from_state(scaler.get_state()).add_series(panel)
        return scaler

    def _predict_windows(
        self, panel: Panel, origins: np.ndarray, quantiles: list[float]
    ) -> np.ndarray:
        """All backtest windows in one batched pass (no loop over windows)."""
        scaler = self._scaler_for(panel)
        n = origins.shape[1]
        step = int(origins[0, 1] - origins[0, 0]) if n > 1 else 1
        begin = panel.offsets[:-1] + origins[:, 0] - self.lookback  # (S,)
        end = begin + self.lookback + (n - 1) * step + self.horizon  # (S,)
        windows = self._windows(
            panel, scaler, np.stack([begin, end], axis=1), owner=panel, stride=step
        )
        pred, _ = self._run(windows)  # (S * n, H, Q)
        pred = scaler.inverse_transform(pred, np.repeat(scaler.series_numbers(panel.ids), n))
        columns = self._output_columns(quantiles)
        return pred[..., columns].reshape(panel.n_series, n, self.horizon, len(columns))

    def _predict(
        self, panel: Panel, times: np.ndarray, future: np.ndarray | None, quantiles: list[float]
    ) -> np.ndarray:
        windows, scaler = self._last_windows(panel, times, future)
        pred, _ = self._run(windows)
        pred = scaler.inverse_transform(pred, scaler.series_numbers(panel.ids))  # (S, H, Q)
        return pred[..., self._output_columns(quantiles)]  # (S, H, 1 + len(quantiles))

    def export_onnx(self, path: str | Path, *, opset: int | None = None) -> Path:
        """Write the network, with the target scaling inside the graph, as one ONNX file.

        See :func:`tsattn.export.export_onnx` for the inputs and :func:`tsattn.export.onnx_inputs`
        to build them; needs ``pip install 'tsattn[onnx]'``.
        """
        from tsattn.export import export_onnx

        return export_onnx(self, path, opset=opset)

    def predict_attention(self, df: Any = None, *, X_future: Any = None) -> np.ndarray:
        """Attention of each forecast step over the lookback, ``(S, H, n)``; rows sum to 1.

        ``n`` is the number of encoder steps or lookback segments the network attends over.
        Raises ``ValueError`` for a network without attention.
        """
        panel, times, future = self._prepare_predict(df, X_future)
        _, attention = self._run(self._last_windows(panel, times, future)[0], return_attention=True)
        if attention is None:
            raise ValueError(
                f"{type(self).__name__} has no attention weights; use AttentionLSTMForecaster or TransformerForecaster."
            )
        return attention


def _extend(
    panel: Panel, times: np.ndarray, future: np.ndarray | None, future_names: list[str]
) -> Panel:
    """The panel with the ``H`` forecast rows appended to every series (target NaN)."""
    n_series, horizon = times.shape
    shift = np.arange(n_series) * horizon  # (S,)
    hist_pos = np.arange(panel.n_rows) + np.repeat(shift, panel.lengths)  # (N,)
    fut_pos = ((panel.offsets[1:] + shift)[:, None] + np.arange(horizon)).ravel()  # (S * H,)
    n = panel.n_rows + n_series * horizon

    def place(history: np.ndarray, ahead: np.ndarray | None, dtype) -> np.ndarray:
        out = np.full(n, np.nan, dtype=dtype) if ahead is None else np.empty(n, dtype=dtype)
        out[hist_pos] = history
        if ahead is not None:
            out[fut_pos] = ahead.ravel()
        return out

    time = np.empty(n, dtype=panel.time.dtype)
    time[hist_pos], time[fut_pos] = panel.time, times.ravel()
    covariates = {}
    for name, values in panel.covariates.items():
        ahead = future[..., future_names.index(name)] if name in future_names else None
        covariates[name] = place(values, ahead, np.float32)
    offsets = panel.offsets + np.arange(n_series + 1) * horizon
    return Panel(
        ids=panel.ids,
        offsets=offsets,
        time=time,
        target=place(panel.target, None, np.float32),
        covariates=covariates,
        freq=panel.freq,
        tz=panel.tz,
        report=ValidationReport(counts=panel.report.counts),
        id_col=panel.id_col,
        time_col=panel.time_col,
        target_col=panel.target_col,
    )


class LSTMForecaster(NeuralForecaster):
    """LSTM encoder over lookback segments with a direct multi-horizon head."""

    model_name = "lstm"


class TransformerForecaster(NeuralForecaster):
    """Temporal Transformer over lookback patches with horizon queries (see ``TransformerNet``)."""

    model_name = "transformer"


class LinearForecaster(NeuralForecaster):
    """DLinear: trend/remainder decomposition with two linear maps (a strong baseline)."""

    model_name = "linear"


class AttentionLSTMForecaster(NeuralForecaster):
    """LSTM encoder-decoder whose every decoder step attends over all encoder states."""

    model_name = "attention_lstm"
