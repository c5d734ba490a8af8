"""ONNX export: the graph with scaling inside matches the network and ``predict``."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from tsattn import neural, statistical
from tsattn.export import export_onnx, onnx_inputs

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxscript")
onnx = pytest.importorskip("onnx")

NEURAL = [
    neural.LSTMForecaster,
    neural.AttentionLSTMForecaster,
    neural.TransformerForecaster,
    neural.LinearForecaster,
]
QUANTILES = [0.1, 0.9]
TOL = {"rtol": 1e-4, "atol": 1e-4}


def frame(n: int = 90, ids=("a", "b", "c")) -> pd.DataFrame:
    """Hourly series on different levels, with past-only, known-future and static covariates."""
    t = np.arange(n)
    parts = [
        pd.DataFrame(
            {
                "unique_id": uid,
                "ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                "y": 50.0 * (k + 1) + 5 * np.sin(2 * np.pi * t / 12) + np.cos(t / 7),
                "temp": np.cos(2 * np.pi * t / 24) + k,
                "promo": (t % 10 < 3).astype(float),
                "size": float(k + 1),
            }
        )
        for k, uid in enumerate(ids)
    ]
    return pd.concat(parts, ignore_index=True)


COVARIATES = {
    "past_covariates": ["temp"],
    "future_covariates": ["promo"],
    "static_covariates": ["size"],
}
COVARIATE_INPUTS = ["past_covariates", "future_covariates", "static"]


def make(cls, **params):
    small = {"horizon": 6, "lookback": 24, "max_epochs": 1, "batch_size": 64, **params}
    if cls is not neural.LinearForecaster:
        small["hidden_size"] = 16
    return cls(**small)


def future_frame(df: pd.DataFrame, horizon: int = 6) -> pd.DataFrame:
    last = df.groupby("unique_id")["ds"].max()
    rows = [
        {"unique_id": uid, "ds": end + pd.Timedelta(hours=h + 1), "promo": float(h % 2)}
        for uid, end in last.items()
        for h in range(horizon)
    ]
    return pd.DataFrame(rows)


def torch_forecast(forecaster, inputs: dict[str, np.ndarray]) -> np.ndarray:
    """The network with the scaling done by hand, for comparison with the graph."""
    x = {k: torch.from_numpy(v) for k, v in inputs.items()}
    center, scale = x["center"][:, :, None], x["scale"][:, :, None]  # (B, 1, 1)
    with torch.no_grad():
        out = forecaster.model_.eval()(
            (x["past_target"] - center) / scale,
            x.get("past_covariates"),
            x.get("future_covariates"),
            x.get("static"),
        )
    return (out * scale + center).numpy()  # (B, H, Q)


@pytest.mark.slow
@pytest.mark.parametrize("cls", NEURAL, ids=lambda c: c.__name__)
def test_graph_matches_torch_and_predict(cls, tmp_path):
    df = frame()
    forecaster = make(cls, quantiles=QUANTILES).fit(df, **COVARIATES)
    path = export_onnx(forecaster, tmp_path / "model.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    x_future = future_frame(df)
    inputs = onnx_inputs(forecaster, df, X_future=x_future)
    expected_names = ["past_target", "center", "scale", *COVARIATE_INPUTS]
    assert [i.name for i in session.get_inputs()] == expected_names
    assert list(inputs) == expected_names
    out = session.run(None, inputs)[0]
    assert out.shape == (3, 6, 3)  # (S, H, Q): levels 0.1, 0.5, 0.9
    np.testing.assert_allclose(out, torch_forecast(forecaster, inputs), **TOL)

    pred = forecaster.predict(df, X_future=x_future, quantiles=QUANTILES)
    columns = ["y_pred_q0.1", "y_pred", "y_pred_q0.9"]  # the graph's quantile order
    expected = np.stack([pred[c].to_numpy().reshape(3, 6) for c in columns], axis=-1)
    np.testing.assert_allclose(out, expected, **TOL)

    # dynamic batch: one row and many rows give the same per-row forecasts
    one = session.run(None, {k: v[1:2] for k, v in inputs.items()})[0]
    many = session.run(None, {k: np.concatenate([v] * 5) for k, v in inputs.items()})[0]
    np.testing.assert_allclose(one, out[1:2], **TOL)
    np.testing.assert_allclose(many, np.concatenate([out] * 5), **TOL)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A point-forecast LinearForecaster without covariates, fitted and exported once."""
    df = frame()[["unique_id", "ds", "y"]]
    forecaster = make(neural.LinearForecaster, calendar=False).fit(df)
    folder = tmp_path_factory.mktemp("onnx") / "nested"
    return forecaster, export_onnx(forecaster, folder / "linear.onnx", opset=18)


def test_metadata_single_file_and_point_forecast(exported):
    forecaster, path = exported
    assert sorted(p.name for p in path.parent.iterdir()) == ["linear.onnx"]  # no .data file
    model = onnx.load(str(path))
    meta = {p.key: p.value for p in model.metadata_props}
    assert meta["tsattn.model"] == "LinearForecaster"
    assert (meta["tsattn.lookback"], meta["tsattn.horizon"]) == ("24", "6")
    assert json.loads(meta["tsattn.quantiles"]) == []
    assert json.loads(meta["tsattn.inputs"]) == ["past_target", "center", "scale"]
    assert model.opset_import[0].version == 18
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    batch = session.get_inputs()[0].shape[0]
    assert isinstance(batch, str)  # a named, dynamic batch axis
    assert session.get_outputs()[0].shape[0] == batch

    out = session.run(None, onnx_inputs(forecaster))[0]
    expected = forecaster.predict()["y_pred"].to_numpy().reshape(3, 6, 1)
    np.testing.assert_allclose(out, expected, **TOL)


def test_new_series_bring_their_own_statistics(exported):
    forecaster, path = exported
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    new = frame(ids=("x", "y", "z", "w"))[["unique_id", "ds", "y"]]
    new["y"] = 3 * new["y"] + 1000  # a level the model never saw
    inputs = onnx_inputs(forecaster, new)
    assert inputs["center"].shape == (4, 1)
    assert inputs["center"].min() > 1000
    out = session.run(None, inputs)[0]
    expected = forecaster.predict(new)["y_pred"].to_numpy().reshape(4, 6, 1)
    np.testing.assert_allclose(out, expected, **TOL)


def test_export_leaves_the_forecaster_alone(tmp_path):
    df = frame()[["unique_id", "ds", "y"]]
    forecaster = make(neural.LinearForecaster, calendar=False).fit(df)
    forecaster.model_.train()
    before = {k: v.clone() for k, v in forecaster.model_.state_dict().items()}
    export_onnx(forecaster, tmp_path / "m.onnx")
    assert forecaster.model_.training
    after = forecaster.model_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_errors(tmp_path):
    df = frame()[["unique_id", "ds", "y"]]
    with pytest.raises(NotFittedError, match="call fit"):
        export_onnx(neural.LinearForecaster(), tmp_path / "m.onnx")
    naive = statistical.NaiveForecaster(horizon=6).fit(df)
    with pytest.raises(TypeError, match=r"needs a neural forecaster.*got NaiveForecaster"):
        export_onnx(naive, tmp_path / "m.onnx")
    with pytest.raises(TypeError, match="needs a neural forecaster"):
        onnx_inputs(naive)
    forecaster = make(neural.LinearForecaster, calendar=False).fit(df)
    for opset in (11, 18.0, "18"):
        with pytest.raises(ValueError, match=r"opset=.* is invalid; expected an integer >= 18"):
            export_onnx(forecaster, tmp_path / "m.onnx", opset=opset)
    assert not (tmp_path / "m.onnx").exists()


def test_missing_exporter_dependency_is_named(tmp_path, monkeypatch):
    df = frame()[["unique_id", "ds", "y"]]
    forecaster = make(neural.LinearForecaster, calendar=False).fit(df)
    monkeypatch.setitem(sys.modules, "onnxscript", None)  # as if not installed
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'tsattn\[onnx\]'"):
        export_onnx(forecaster, tmp_path / "m.onnx")
