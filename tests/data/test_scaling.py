"""Per-series scalers: training rows only, sklearn parity, inverse of forecasts, JSON state."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler

from tsattn.data import check_panel, make_windows, split_by_fraction
from tsattn.data.panel import Panel
from tsattn.data.scaling import SeriesScaler

LOOKBACK, HORIZON = 8, 4


@pytest.mark.parametrize("method", ["standard", "robust", "minmax", None])
def test_scaler_learns_from_the_training_rows_only(panel, method, with_target):
    train = split_by_fraction(panel, LOOKBACK).train
    scaler = SeriesScaler(method).fit(panel, bounds=train)
    outside = np.ones(panel.n_rows, dtype=bool)
    for begin, end in train:
        outside[begin:end] = False
    changed = panel.target.copy()
    changed[outside] = 1e6  # a wild test part must not move the statistics
    temp = np.where(outside, -1e6, panel.covariates["temp"])
    wild = dataclasses.replace(with_target(panel, changed), covariates={"temp": temp})
    other = SeriesScaler(method).fit(wild, bounds=train)
    np.testing.assert_array_equal(scaler.center_, other.center_)
    np.testing.assert_array_equal(scaler.scale_, other.scale_)
    # and a fit on the whole series does see them
    if method is not None:
        leaky = SeriesScaler(method).fit(wild)
        assert (leaky.scale_ != scaler.scale_).all()


@pytest.mark.parametrize(
    ("method", "reference"),
    [("robust", RobustScaler()), ("standard", StandardScaler()), ("minmax", MinMaxScaler())],
)
def test_scaler_matches_sklearn_on_each_series(panel, method, reference):
    train = split_by_fraction(panel, LOOKBACK).train
    scaled = SeriesScaler(method).fit(panel, bounds=train).transform(panel)
    for s, (begin, end) in enumerate(train):
        values = np.stack([panel.target, panel.covariates["temp"]], 1).astype(np.float64)
        expected = clone(reference).fit(values[begin:end]).transform(values[panel.rows(s)])
        got = np.column_stack([scaled.target, scaled.covariates])[panel.rows(s)]
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_scaler_round_trip_and_inverse_of_forecasts(panel):
    scaler = SeriesScaler("robust").fit(panel, bounds=split_by_fraction(panel, LOOKBACK).train)
    scaled = scaler.transform(panel)
    assert scaled.target.dtype == np.float32 and scaled.covariates.shape == (panel.n_rows, 1)
    series = panel.series_index()
    back = scaler.inverse_transform(scaled.target.astype(np.float64), series)
    np.testing.assert_allclose(back, panel.target, rtol=1e-6)

    # forecasts (B, H, Q) from windows, numpy and torch alike, map back to the raw target
    windows = make_windows(panel, LOOKBACK, HORIZON, target=scaled.target)
    batch = windows.gather(np.arange(len(windows)))
    forecast = batch.target.repeat(1, 1, 3).double()  # (B, H, Q)
    raw = windows_target(panel, batch)[..., None]  # (B, H, 1)
    out = scaler.inverse_transform(forecast, batch.series)
    assert isinstance(out, torch.Tensor) and out.shape == forecast.shape
    np.testing.assert_allclose(out.numpy(), np.broadcast_to(raw, out.shape), rtol=1e-5)
    out_np = scaler.inverse_transform(forecast[..., 0].numpy(), batch.series.numpy())  # (B, H)
    np.testing.assert_allclose(out_np, raw[..., 0], rtol=1e-5)


def windows_target(panel: Panel, batch) -> np.ndarray:
    rows = batch.start.numpy()[:, None] + LOOKBACK + np.arange(HORIZON)  # (B, H)
    return panel.target[rows]


def test_constant_series_get_scale_one(panel, with_target):
    flat = panel.target.copy()
    flat[panel.rows(1)] = 123.25
    for method in ("standard", "robust", "minmax"):
        scaler = SeriesScaler(method, covariates=()).fit(with_target(panel, flat))
        assert scaler.scale_[1, 0] == 1.0
        scaled = scaler.transform(with_target(panel, flat))
        assert np.isfinite(scaled.target).all() and scaled.covariates is None


def test_scaler_is_a_sklearn_estimator(panel):
    scaler = SeriesScaler("robust", covariates=("temp",), quantile_range=(10.0, 90.0))
    assert scaler.get_params() == {
        "method": "robust",
        "covariates": ("temp",),
        "quantile_range": (10.0, 90.0),
    }
    twin = clone(scaler)
    assert twin is not scaler and twin.get_params() == scaler.get_params()
    assert twin.set_params(method="minmax").method == "minmax"
    with pytest.raises(NotFittedError):
        scaler.transform(panel)
    with pytest.raises(NotFittedError):
        scaler.inverse_transform(np.zeros((2, 3)), np.zeros(2, dtype=np.int64))
    fitted = scaler.fit(panel)
    assert not hasattr(clone(fitted), "center_")  # clone drops the fitted state
    train = split_by_fraction(panel, LOOKBACK).train
    direct = SeriesScaler().fit_transform(panel, bounds=train)
    np.testing.assert_array_equal(
        direct.target, SeriesScaler().fit(panel, train).transform(panel).target
    )


def test_scaler_state_survives_json(panel):
    scaler = SeriesScaler("robust", quantile_range=(5.0, 95.0)).fit(panel)
    state = json.loads(json.dumps(scaler.get_state()))
    again = SeriesScaler.from_state(state)
    assert again.get_params() == scaler.get_params()
    np.testing.assert_array_equal(again.center_, scaler.center_)
    np.testing.assert_array_equal(again.scale_, scaler.scale_)
    np.testing.assert_array_equal(again.transform(panel).target, scaler.transform(panel).target)
    with pytest.raises(ValueError, match="expected keys"):
        SeriesScaler.from_state({"center": []})
    with pytest.raises(ValueError, match="version 99 is not supported"):
        SeriesScaler.from_state({**state, "version": 99})


def test_unseen_series_need_their_own_history(panel, make_frame):
    known = check_panel(make_frame(lengths=(40, 25)))
    scaler = SeriesScaler().fit(known)
    with pytest.raises(ValueError, match=r"no scaling statistics \(first: \['s2'\]\).*add_series"):
        scaler.transform(panel)
    before = scaler.center_.copy()
    scaler.add_series(panel)  # learns s2 from its history, keeps s0 and s1
    assert list(scaler.ids_) == ["s0", "s1", "s2"]
    np.testing.assert_array_equal(scaler.center_[:2], before)
    alone = SeriesScaler().fit(check_panel(make_frame()[lambda d: d.unique_id == "s2"]))
    np.testing.assert_allclose(scaler.center_[2], alone.center_[0])
    assert scaler.series_numbers(["s2", "s0"]).tolist() == [2, 0]
    head = np.stack([panel.offsets[:-1], panel.offsets[:-1] + 10], axis=1)  # first 10 rows
    scaler.add_series(panel, bounds=head, overwrite=True)  # refits the known series too
    np.testing.assert_allclose(scaler.center_[0, 0], panel.target[:10].mean(), rtol=1e-6)


def test_scaler_errors_name_the_fix(panel, make_frame):
    with pytest.raises(TypeError, match=r"expected a Panel, got DataFrame.*check_panel"):
        SeriesScaler().fit(make_frame())
    with pytest.raises(ValueError, match="Unknown scaling method 'zscore'"):
        SeriesScaler("zscore").fit(panel)
    with pytest.raises(ValueError, match=r"covariates \['rain'\] are not in the panel"):
        SeriesScaler(covariates=["rain"]).fit(panel)
    with pytest.raises(TypeError, match=r"bounds=split.train"):
        SeriesScaler().fit(panel, bounds=split_by_fraction(panel, LOOKBACK))
    empty = np.stack([panel.offsets[:-1], panel.offsets[:-1]], axis=1)
    with pytest.raises(ValueError, match="no rows inside bounds"):
        SeriesScaler().fit(panel, bounds=empty)
    scaler = SeriesScaler().fit(panel)
    with pytest.raises(ValueError, match=r"series numbers must lie in \[0, 3\)"):
        scaler.inverse_transform(np.zeros((1, 2)), np.array([3]))
