"""The tsattn MLflow model: logged, loaded as pyfunc and as the estimator, never unpickled."""

from __future__ import annotations

import json

import mlflow
import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.exceptions import NotFittedError

import tsattn
from tsattn.tracking import Tracker, load_model, log_model, set_alias
from tsattn.tracking.flavor import requirements
from tsattn.tracking.store import using_uri

from .test_tracking import hourly


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return Tracker(tmp_path_factory.mktemp("flavor") / "store", experiment="flavor")


@pytest.fixture(scope="module")
def data():
    return hourly(n_series=3, length=300, seed=1)


@pytest.fixture(scope="module")
def network(data):
    est = tsattn.LSTMForecaster(
        horizon=12, lookback=48, max_epochs=3, quantiles=[0.1, 0.9], random_state=0
    )
    return est.fit(data)


@pytest.fixture(scope="module")
def logged(network, store):
    return log_model(network, "model", registered_model_name="flavor-lstm", tracking=store)


def model_folder(store: Tracker, info) -> object:
    with using_uri(store.uri):
        return mlflow.artifacts.download_artifacts(info.model_uri)


def test_pyfunc_predict_equals_the_estimator_with_quantiles(network, logged, data, store):
    with using_uri(store.uri):
        model = mlflow.pyfunc.load_model(logged.model_uri)
        got = model.predict(data, params={"quantiles": [0.1, 0.9]})
        plain = model.predict(data)
    expected = network.predict(data, quantiles=[0.1, 0.9])
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_exact=True)
    # no params: the levels the network was trained for, as predict() gives them
    assert list(plain.columns) == ["unique_id", "ds", "y_pred", "y_pred_q0.1", "y_pred_q0.9"]
    pd.testing.assert_frame_equal(plain.reset_index(drop=True), network.predict(data))
    np.testing.assert_array_equal(plain["y_pred"], expected["y_pred"])


def test_load_model_returns_the_estimator_by_alias(network, logged, data, store):
    set_alias("flavor-lstm", "champion", logged.registered_model_version, tracking=store)
    est = load_model("models:/flavor-lstm@champion", tracking=store)
    assert type(est) is tsattn.LSTMForecaster and est.get_params()["lookback"] == 48
    pd.testing.assert_frame_equal(est.predict(data), network.predict(data), check_exact=True)
    by_version = load_model(
        f"models:/flavor-lstm/{logged.registered_model_version}", tracking=store
    )
    pd.testing.assert_frame_equal(by_version.predict(), network.predict(), check_exact=True)


def test_the_model_holds_no_pickle_and_pins_its_requirements(logged, store):
    folder = model_folder(store, logged)
    from pathlib import Path

    files = [p.name for p in Path(folder).rglob("*") if p.is_file()]
    assert not [f for f in files if f.endswith((".pkl", ".pickle", ".cloudpickle"))], files
    assert "model.safetensors" in files or any(f.endswith(".safetensors") for f in files)
    spec = yaml.safe_load((Path(folder) / "MLmodel").read_text())
    pyfunc = spec["flavors"]["python_function"]
    assert pyfunc["loader_module"] == "tsattn.tracking.flavor"
    assert "python_model" not in pyfunc and "cloudpickle_version" not in pyfunc
    pins = (Path(folder) / "requirements.txt").read_text().split()
    assert pins == requirements() and all("==" in p for p in pins)
    assert pins[0] == f"tsattn=={tsattn.__version__}"
    signature = spec["signature"]
    assert [c["name"] for c in json.loads(signature["inputs"])] == ["unique_id", "ds", "y"]
    assert json.loads(signature["params"])[0]["name"] == "quantiles"
    example = json.loads((Path(folder) / "input_example.json").read_text())
    assert example["columns"] == ["unique_id", "ds", "y"] and len(example["data"]) == 2 * 48


def test_a_statistical_model_round_trips_too(data, store):
    est = tsattn.SeasonalNaiveForecaster(horizon=12).fit(data)
    info = log_model(est, "naive", tracking=store)
    with using_uri(store.uri):
        got = mlflow.pyfunc.load_model(info.model_uri).predict(data)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), est.predict(data), check_exact=True)
    run = store.connect().get_run(info.run_id)
    assert run.data.params["estimator"] == "SeasonalNaiveForecaster"


def test_a_model_with_future_covariates_takes_them_as_rows_without_target(store):
    df = hourly(n_series=2, length=300, seed=4)
    df["promo"] = (df["ds"].dt.hour % 5 == 0).astype(float)
    horizon = 12
    train = df.groupby("unique_id").head(288)
    ahead = df.groupby("unique_id").tail(horizon)
    est = tsattn.LinearForecaster(horizon=horizon, lookback=48, max_epochs=2)
    est.fit(train, future_covariates=["promo"])
    info = log_model(est, "covariates", tracking=store)
    request = pd.concat([train, ahead.assign(y=np.nan)], ignore_index=True)
    with using_uri(store.uri):
        got = mlflow.pyfunc.load_model(info.model_uri).predict(request)
    expected = est.predict(train, X_future=ahead.drop(columns="y"))
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_exact=True)


def test_logging_an_unfitted_forecaster_is_an_error(store):
    with pytest.raises(NotFittedError, match="not fitted yet"):
        log_model(tsattn.LSTMForecaster(), "m", tracking=store)
    with pytest.raises(TypeError, match="needs a tsattn forecaster"):
        log_model(object(), "m", tracking=store)


def test_unknown_models_versions_and_aliases_are_clear_errors(logged, store):
    with pytest.raises(ValueError, match="has no alias 'nope'"):
        load_model("models:/flavor-lstm@nope", tracking=store)
    with pytest.raises(ValueError, match="registered model 'no-such-model' does not exist"):
        load_model("models:/no-such-model/1", tracking=store)
    with pytest.raises(ValueError, match="was not found"):
        load_model("runs:/0123456789abcdef/model", tracking=store)
    with pytest.raises(ValueError, match=r"has no alias 'nope'.*champion -> v"):
        set_alias("flavor-lstm", "champion", 1, tracking=store)
        from tsattn.tracking.registry import promote

        promote("flavor-lstm", hourly(), challenger="nope", tracking=store)
    with pytest.raises(ValueError, match="registered model 'ghost' does not exist"):
        set_alias("ghost", "champion", 1, tracking=store)
    with pytest.raises(ValueError, match="alias '3' is invalid"):
        set_alias("flavor-lstm", "3", 1, tracking=store)


def test_a_tampered_model_fails_its_checksum_and_runs_no_code(network, store, tmp_path):
    info = log_model(network, "tampered", tracking=store)
    folder = store.connect().get_experiment(store.experiment_id).artifact_location
    from pathlib import Path
    from urllib.parse import urlparse

    root = Path(urlparse(folder).path)
    files = sorted(p for p in root.rglob("*.safetensors") if info.model_id in str(p))
    assert len(files) >= 1
    weights = files[0]
    raw = bytearray(weights.read_bytes())
    raw[-1] ^= 0xFF
    weights.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="does not match the sha256 recorded"):
        load_model(info.model_uri, tracking=store)
    with using_uri(store.uri), pytest.raises(ValueError, match="does not match the sha256"):
        mlflow.pyfunc.load_model(info.model_uri)


def test_an_mlmodel_pointing_elsewhere_is_refused(network, store):
    info = log_model(network, "edited", tracking=store)
    folder = store.connect().get_experiment(store.experiment_id).artifact_location
    from pathlib import Path
    from urllib.parse import urlparse

    (mlmodel,) = [
        p for p in Path(urlparse(folder).path).rglob("MLmodel") if info.model_id in str(p)
    ]
    spec = yaml.safe_load(mlmodel.read_text())
    spec["flavors"]["python_function"]["loader_module"] = "os"
    mlmodel.write_text(yaml.safe_dump(spec))
    with pytest.raises(ValueError, match="is not a tsattn model"):
        load_model(info.model_uri, tracking=store)
    spec["flavors"]["python_function"]["loader_module"] = "tsattn.tracking.flavor"
    spec["flavors"]["python_function"]["data"] = "../../../../etc"
    mlmodel.write_text(yaml.safe_dump(spec))
    with pytest.raises(ValueError, match="points outside the model folder"):
        load_model(info.model_uri, tracking=store)


def test_a_request_without_the_target_column_names_it(logged, data, store):
    from tsattn.tracking.flavor import PyfuncForecaster

    est = load_model(logged.model_uri, tracking=store)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['y'\]"):
        PyfuncForecaster(est).predict(data.drop(columns="y"))
    with using_uri(store.uri):
        model = mlflow.pyfunc.load_model(logged.model_uri)
        with pytest.raises(Exception, match="y"):
            model.predict(data.drop(columns="y"))
