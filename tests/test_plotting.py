"""Forecast and attention figures: structure, PNG output and input errors."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import polars as pl
import pytest
import torch

from tsattn import neural
from tsattn.demo import attention_caption
from tsattn.plotting import MAX_SERIES, attention_by_lag, plot_attention, plot_forecast

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def history_frame(ids=("a", "b"), n: int = 48) -> pd.DataFrame:
    t = np.arange(n)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                    "y": 10.0 * (k + 1) + np.sin(2 * np.pi * t / 12),
                }
            )
            for k, uid in enumerate(ids)
        ],
        ignore_index=True,
    )


def forecast_frame(history: pd.DataFrame, horizon: int = 6, quantiles=(0.1, 0.9)) -> pd.DataFrame:
    """A frame shaped like ``predict(quantiles=...)`` output, continuing every series."""
    parts = []
    for uid, part in history.groupby("unique_id", sort=False):
        ds = pd.date_range(part["ds"].max(), periods=horizon + 1, freq="h")[1:]
        level = part["y"].iloc[-12:].mean()
        frame = pd.DataFrame({"unique_id": uid, "ds": ds, "y_pred": level + np.zeros(horizon)})
        for q in quantiles:
            frame[f"y_pred_q{q:g}"] = level + 2 * (q - 0.5) * np.arange(1, horizon + 1)
        parts.append(frame)
    return pd.concat(parts, ignore_index=True)


def actuals_frame(forecast: pd.DataFrame) -> pd.DataFrame:
    return forecast[["unique_id", "ds"]].assign(y=forecast["y_pred"] + 0.5)


def check_png(fig, path) -> None:
    fig.savefig(path)
    data = path.read_bytes()
    assert len(data) > 1000
    assert data[:8] == PNG_SIGNATURE


# -- plot_forecast -------------------------------------------------------------------------------


def test_forecast_figure_has_one_subplot_per_series(tmp_path):
    history = history_frame()
    forecast = forecast_frame(history)
    fig = plot_forecast(history, forecast, actuals=actuals_frame(forecast))
    assert len(fig.axes) == 2
    for ax, uid in zip(fig.axes, ("a", "b"), strict=True):
        assert [line.get_label() for line in ax.get_lines()] == ["history", "forecast", "actual"]
        assert len(ax.collections) == 1  # the shaded interval
        assert uid in ax.get_title()
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["history", "interval q0.1–0.9", "forecast", "actual"]
    check_png(fig, tmp_path / "forecast.png")


def test_forecast_from_a_fitted_model_in_polars(tmp_path):
    history = history_frame(n=80)
    model = neural.LinearForecaster(horizon=6, lookback=24, max_epochs=1, quantiles=[0.1, 0.9])
    forecast = model.fit(history).predict(quantiles=[0.1, 0.9])
    fig = plot_forecast(pl.from_pandas(history), pl.from_pandas(forecast), last_n=30)
    assert len(fig.axes) == 2
    history_line, forecast_line = fig.axes[0].get_lines()
    assert len(history_line.get_xdata()) == 30
    assert np.allclose(forecast_line.get_ydata()[1:], forecast["y_pred"].to_numpy()[:6])
    check_png(fig, tmp_path / "fitted.png")


def test_interval_choice_and_point_forecasts():
    history = history_frame(ids=("a",))
    forecast = forecast_frame(history, quantiles=(0.05, 0.1, 0.9, 0.95))
    widest = plot_forecast(history, forecast).axes[0].collections[0]
    inner = plot_forecast(history, forecast, quantiles=(0.1, 0.9)).axes[0].collections[0]
    assert np.ptp(widest.get_paths()[0].vertices[:, 1]) > np.ptp(
        inner.get_paths()[0].vertices[:, 1]
    )
    point = plot_forecast(history, forecast[["unique_id", "ds", "y_pred"]])
    assert len(point.axes[0].collections) == 0
    assert len(point.axes[0].get_lines()) == 2


def test_series_selection_and_cap(caplog):
    ids = [f"s{k}" for k in range(MAX_SERIES + 2)]
    history = history_frame(ids=ids)
    forecast = forecast_frame(history)
    with caplog.at_level(logging.INFO, logger="tsattn.plotting"):
        fig = plot_forecast(history, forecast)
    assert len(fig.axes) == MAX_SERIES
    assert "series=[...]" in caplog.text
    assert len(plot_forecast(history, forecast, series="s7").axes) == 1
    assert len(plot_forecast(history, forecast, series=["s1", "s3"]).axes) == 2
    with pytest.raises(ValueError, match=r"series \['nope'\] are not in the forecast"):
        plot_forecast(history, forecast, series=["s1", "nope"])
    with pytest.raises(ValueError, match=r"selects 7 series; pass between 1 and 6"):
        plot_forecast(history, forecast, series=ids[:7])


def test_given_axes_and_frames_without_ids():
    import matplotlib.pyplot as plt

    history = history_frame(ids=("a",))
    forecast = forecast_frame(history)
    fig, ax = plt.subplots()
    assert plot_forecast(history.drop(columns="unique_id"), forecast, ax=ax) is fig
    assert len(ax.get_lines()) == 2
    two = history_frame()
    with pytest.raises(ValueError, match="ax= draws one series but 2 are selected"):
        plot_forecast(two, forecast_frame(two), ax=ax)
    with pytest.raises(ValueError, match="history has no id column 'unique_id'"):
        plot_forecast(two.drop(columns="unique_id"), forecast_frame(two))


def test_integer_time_and_custom_columns():
    history = pd.DataFrame({"item": "x", "step": np.arange(40), "sales": np.arange(40.0)})
    forecast = pd.DataFrame({"item": "x", "step": np.arange(40, 46), "y_pred": np.ones(6)})
    fig = plot_forecast(history, forecast, id_col="item", time_col="step", target_col="sales")
    assert fig.axes[0].get_xlabel() == "step (forecast 40 to 45)"
    assert fig.axes[0].get_ylabel() == "sales"


def test_forecast_input_errors():
    history = history_frame()
    forecast = forecast_frame(history)
    with pytest.raises(ValueError, match=r"history lacks column\(s\) \['y'\].*target_col="):
        plot_forecast(history.rename(columns={"y": "value"}), forecast)
    with pytest.raises(ValueError, match=r"forecast lacks column\(s\) \['y_pred'\]"):
        plot_forecast(history, forecast.drop(columns="y_pred"))
    with pytest.raises(ValueError, match=r"actuals lacks column\(s\) \['y'\]"):
        plot_forecast(history, forecast, actuals=forecast)
    with pytest.raises(ValueError, match=r"no column for quantile\(s\) \[0.2\]"):
        plot_forecast(history, forecast, quantiles=(0.2, 0.9))
    with pytest.raises(ValueError, match="expected two increasing levels"):
        plot_forecast(history, forecast, quantiles=(0.9, 0.1))
    with pytest.raises(ValueError, match="last_n=0 is invalid"):
        plot_forecast(history, forecast, last_n=0)
    with pytest.raises(ValueError, match=r"history has no rows for series \['b'\]"):
        plot_forecast(history[history["unique_id"] == "a"], forecast)
    with pytest.raises(TypeError, match="history must be a pandas or polars DataFrame"):
        plot_forecast(history.to_numpy(), forecast)


# -- plot_attention ------------------------------------------------------------------------------


def attention(n_series: int = 2, horizon: int = 12, n: int = 8) -> np.ndarray:
    logits = np.random.default_rng(0).normal(size=(n_series, horizon, n))
    weights = np.exp(logits)
    return weights / weights.sum(axis=-1, keepdims=True)  # (S, H, n), rows sum to 1


def test_attention_heatmap_with_colourbar(tmp_path):
    weights = attention()
    fig = plot_attention(weights, series_index=1, lookback=96, segment_length=12, title="w")
    heatmap, colourbar = fig.axes
    assert np.array_equal(heatmap.images[0].get_array(), weights[1])
    assert colourbar.get_ylabel() == "attention weight"
    assert heatmap.get_ylabel() == "forecast step h"
    assert "t = last observed step" in heatmap.get_xlabel()
    assert heatmap.get_title() == "w"
    fig.canvas.draw()
    ticks = [t.get_text() for t in heatmap.get_xticklabels()]
    assert "t" in ticks and "t-84" in ticks  # the newest and the oldest segment end
    check_png(fig, tmp_path / "attention.png")


def test_attention_per_step_overlapping_and_unlabelled_columns():
    per_step = plot_attention(attention(1, 4, 24)[0], lookback=24)  # (H, n), one column per step
    assert per_step.axes[0].get_title() == "attention, series 0"
    assert per_step.axes[0].get_xlabel().startswith("lookback step")
    patches = plot_attention(attention(1, 4, 11), lookback=96, segment_length=16, stride=8)
    patches.canvas.draw()
    assert "t-80" in [t.get_text() for t in patches.axes[0].get_xticklabels()]
    plain = plot_attention(torch.from_numpy(attention(1, 4, 5)))
    assert plain.axes[0].get_xlabel() == "encoder position (oldest → newest)"


def test_attention_of_a_fitted_model_on_given_axes():
    import matplotlib.pyplot as plt

    df = history_frame(n=80)
    model = neural.AttentionLSTMForecaster(horizon=6, lookback=24, max_epochs=1, hidden_size=16)
    model.set_params(model_options={"segment_length": 12, "resolution": "segment"})
    weights = model.fit(df).predict_attention()  # (2, 6, 2): two 12-step segments
    fig, ax = plt.subplots()
    assert (
        plot_attention(weights, ax=ax, lookback=24, segment_length=model.model_.segment_length)
        is fig
    )
    assert ax.images[0].get_array().shape == (6, 2)
    per_step = model.set_params(model_options={}).fit(df).predict_attention()  # the default
    fig = plot_attention(per_step, lookback=24, align="lag", marks=(12,))
    assert fig.axes[0].images[0].get_array().shape == (6, 24 + 6 - 1)


def test_attention_input_errors():
    weights = attention()
    for bad in (weights[0, 0], weights[None], np.zeros((2, 0, 3))):
        with pytest.raises(ValueError, match=r"weights must be \(S, H, n\)"):
            plot_attention(bad)
    with pytest.raises(ValueError, match="series_index=2 is out of range for 2 series"):
        plot_attention(weights, series_index=2)
    nan = weights.copy()
    nan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        plot_attention(nan)
    with pytest.raises(ValueError, match="lookback=96 but the weights have 8 columns"):
        plot_attention(weights, lookback=96)
    with pytest.raises(ValueError, match="give 4 segments but the weights have 8 columns"):
        plot_attention(weights, lookback=96, segment_length=24)
    for name in ("lookback", "segment_length", "stride"):
        with pytest.raises(ValueError, match=f"{name}=0 is invalid"):
            plot_attention(weights, **{name: 0})


# -- backend and laziness ------------------------------------------------------------------------


def test_matplotlib_loads_lazily_with_agg_when_headless():
    code = (
        "import sys, numpy as np, tsattn.plotting as p; "
        "print('matplotlib' in sys.modules); "
        "fig = p.plot_attention(np.full((2, 3), 1 / 3)); "
        "import matplotlib; print(matplotlib.get_backend().lower())"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("MPLBACKEND", None)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    lazy, backend = out.stdout.split()
    assert lazy == "False"
    if sys.platform.startswith("linux"):
        assert backend == "agg"


def test_figures_are_never_shown(monkeypatch):
    import matplotlib.pyplot as plt

    def refuse(*args, **kwargs):
        raise AssertionError("plt.show() was called")

    monkeypatch.setattr(plt, "show", refuse)
    history = history_frame()
    plot_forecast(history, forecast_frame(history))
    plot_attention(attention())


def test_the_forecast_line_starts_at_the_last_observation():
    t = pd.date_range("2024-01-01", periods=48, freq="h")
    history = pd.DataFrame({"unique_id": "a", "ds": t, "y": np.arange(48.0)})
    forecast = pd.DataFrame(
        {"unique_id": "a", "ds": t[-1] + pd.to_timedelta(np.arange(1, 7), "h"), "y_pred": 50.0}
    )
    fig = plot_forecast(history, forecast)
    _, line = fig.axes[0].get_lines()
    assert line.get_ydata()[0] == 47.0 and list(line.get_ydata()[1:]) == [50.0] * 6
    assert "forecast 2024-01-03 00:00:00 to 2024-01-03 05:00:00" in fig.axes[0].get_xlabel()


def test_attention_colours_span_the_data_and_marks_name_the_lags():
    weights = np.full((1, 4, 48), 1 / 48)
    weights[0, :, -25] += 0.01  # a little more on t-24
    fig = plot_attention(weights, lookback=48, segment_length=1, marks=(24,))
    image = fig.axes[0].images[0]
    low, high = image.get_clim()
    assert low == pytest.approx(weights.min()) and high == pytest.approx(weights.max())
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["t-24", "t"]
    zero = plot_attention(weights, lookback=48, segment_length=1, color_scale="zero")
    assert zero.axes[0].images[0].get_clim()[0] == 0.0


def test_attention_by_lag_lines_each_forecast_step_up_with_its_own_lags():
    weights = np.zeros((3, 10))  # H = 3 forecast steps over L = 10 lookback steps
    for h in range(3):
        weights[h, 10 + h - 4] = 1.0  # every forecast step looks 4 steps before itself
    by_lag = attention_by_lag(weights)
    assert by_lag.shape == (3, 12)
    assert (by_lag[:, 3] == 1.0).all()  # column 3 = lag 4 for every row
    assert np.isnan(by_lag[2, :2]).all() and np.isnan(by_lag[0, 10:]).all()  # not in the lookback
    fig = plot_attention(weights, lookback=10, marks=(4,), align="lag")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["lag 4"]
    with pytest.raises(ValueError, match="align='lag' needs per-step weights"):
        plot_attention(np.full((3, 2), 0.5), lookback=10, segment_length=5, align="lag")


def test_demo_caption_reads_the_mass_by_lag():
    weights = np.full((24, 168), 0.5 / 166)
    for h in range(24):
        weights[h, 168 + h - 24] += 0.25  # the same hour yesterday
        weights[h, 168 + h - 168] += 0.25  # and last week
    caption = attention_caption(weights, (24, 168))
    near = {int(lag): float(pct) for lag, pct in re.findall(r"lag (\d+)±1 ([\d.]+)%", caption)}
    assert near[24] > 20 and near[168] > 20, caption  # evenly spread: 1.8% per 3 lags
