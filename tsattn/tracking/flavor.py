"""A fitted forecaster as an MLflow model: tsattn's own saved format inside, pyfunc outside.

:func:`log_model` saves the forecaster with ``forecaster.save`` (safetensors + JSON with
checksums; nothing is pickled) and logs that folder as the data of an MLflow
``python_function`` model whose ``loader_module`` is this module: MLflow loads it by calling the
installed :func:`_load_pyfunc`, never by unpickling or by running code from the artifact. The
model carries a signature (the history columns, and a ``quantiles`` parameter), an input
example and pinned requirements.

* ``mlflow.pyfunc.load_model(uri).predict(history, params={"quantiles": [0.1, 0.9]})`` returns
  the forecast frame (``unique_id, ds, y_pred[, y_pred_q0.1, ...]``); so does
  ``mlflow models serve -m models:/NAME@champion --env-manager local``.
* :func:`load_model` returns the estimator itself. It reads only the ``MLmodel`` file (as YAML
  data) and tsattn's checksummed files: a tampered model fails its checksum, and no code from
  the artifact runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from tsattn.estimators import load
from tsattn.forecaster import BaseForecaster
from tsattn.tracking.runs import Tracker, as_tracker, estimator_params
from tsattn.tracking.store import redact, using_uri

__all__ = ["PyfuncForecaster", "load_model", "log_model", "requirements"]

#: The module MLflow imports to load a tsattn model (written into ``MLmodel``).
LOADER_MODULE = __name__
#: Packages pinned in the model's requirements (tsattn itself first).
PINNED = ("tsattn", "torch", "numpy", "pandas", "scikit-learn", "statsmodels", "safetensors")
#: Folder name of the saved forecaster inside the model's ``data`` folder.
SAVED = "tsattn_model"


def requirements() -> list[str]:
    """``name==version`` of tsattn and what loading and predicting need, as installed here."""
    pins = []
    for name in (*PINNED, "mlflow"):
        version = metadata.version(name).split("+")[0]  # 2.13.0+cpu -> 2.13.0
        pins.append(f"{name}=={version}")
    return pins


def history_tail(forecaster: BaseForecaster, n_series: int = 2) -> pd.DataFrame:
    """The last ``min_history`` rows of the first ``n_series`` fitted series."""
    history = forecaster.history_.to_pandas()
    id_col = forecaster.columns_.id
    ids = history[id_col].drop_duplicates().iloc[:n_series]
    rows = history[history[id_col].isin(ids)]
    return rows.groupby(id_col, sort=False).tail(forecaster.min_history).reset_index(drop=True)


def input_example(forecaster: BaseForecaster) -> pd.DataFrame | None:
    """A valid request: the fitted history's tail (None for a model with known-future
    covariates, whose requests also need their future values, unknown here)."""
    return None if forecaster.columns_.future else history_tail(forecaster)


def signature(forecaster: BaseForecaster) -> Any:
    """Inputs: the history columns; outputs: the forecast frame; params: ``quantiles``."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types.schema import ParamSchema, ParamSpec

    example = history_tail(forecaster)
    output = None if forecaster.columns_.future else forecaster.predict(example)
    inferred = infer_signature(example, output)
    params = ParamSchema([ParamSpec("quantiles", "double", [], shape=(-1,))])
    return ModelSignature(inputs=inferred.inputs, outputs=inferred.outputs, params=params)


def model_version(client: Any, store: str, name: str, ref: str) -> Any:
    """Version ``ref`` (an alias, or a version number) of registered model ``name``; a
    ``ValueError`` listing the aliases when there is none."""
    from mlflow.exceptions import MlflowException

    try:
        if str(ref).isdigit():
            return client.get_model_version(name, str(ref))
        return client.get_model_version_by_alias(name, ref)
    except MlflowException as err:
        try:
            aliases = client.get_registered_model(name).aliases
        except MlflowException:
            raise ValueError(
                f"registered model {name!r} does not exist in {redact(store)}."
            ) from err
        known = ", ".join(f"{a} -> v{v}" for a, v in sorted(aliases.items())) or "none"
        what = "version" if str(ref).isdigit() else "alias"
        raise ValueError(
            f"registered model {name!r} has no {what} {ref!r} (aliases: {known}); set one with "
            f"tsattn.tracking.set_alias({name!r}, ALIAS, VERSION)."
        ) from err


def log_model(
    forecaster: BaseForecaster,
    name: str = "model",
    registered_model_name: str | None = None,
    *,
    tracking: bool | str | Tracker | None = None,
    run_id: str | None = None,
    await_registration_for: int = 300,
) -> Any:
    """Log a fitted forecaster as an MLflow model, optionally as a new registered version.

    Parameters
    ----------
    forecaster : BaseForecaster
        A fitted tsattn forecaster.
    name : str
        The model's name in its run.
    registered_model_name : str, optional
        Register the logged model as a new version of this registered model (created when
        missing).
    tracking : bool, str or Tracker, optional
        The store; default: :func:`tsattn.tracking.store.default_uri`.
    run_id : str, optional
        Attach the model to this run (e.g. the run of a tracked fit); default: a new run that
        records the estimator's parameters.

    Returns
    -------
    mlflow.models.model.ModelInfo
        ``model_uri`` loads it; ``registered_model_version`` is the new version (if any).
    """
    import mlflow
    from mlflow.models import Model

    if not isinstance(forecaster, BaseForecaster):
        raise TypeError(f"log_model needs a tsattn forecaster, got {type(forecaster).__name__}.")
    forecaster.check_fitted()
    tracker = as_tracker(tracking) or Tracker()
    example = input_example(forecaster)
    sig = signature(forecaster)
    tags = {"tsattn.estimator": type(forecaster).__name__, "tsattn.horizon": forecaster.horizon}
    with tempfile.TemporaryDirectory(prefix="tsattn-model-") as tmp:
        saved = forecaster.save(Path(tmp) / SAVED)
        with tracker.start(f"model {name}", run_id=run_id, tags={"tsattn.kind": "model"}) as run:
            if run is None:
                return None
            if run_id is None:
                run.params(estimator_params(forecaster))
            # MLflow files a logged model under the active run's experiment: make ours active
            with using_uri(tracker.uri), _active(run.run_id):
                return Model.log(
                    None,  # artifact_path: deprecated for name
                    name=name,
                    flavor=mlflow.pyfunc,
                    run_id=run.run_id,
                    registered_model_name=registered_model_name,
                    await_registration_for=await_registration_for,
                    tags=tags,
                    loader_module=LOADER_MODULE,
                    data_path=str(saved),
                    signature=sig,
                    input_example=example,
                    pip_requirements=requirements(),
                )


def load_model(model_uri: str, *, tracking: bool | str | Tracker | None = None) -> BaseForecaster:
    """The tsattn forecaster logged at ``model_uri`` (``models:/NAME@alias``, ``models:/NAME/3``,
    ``runs:/ID/model``, a ``models:/m-...`` id or a local folder).

    Only the ``MLmodel`` file (YAML data) and tsattn's checksummed files are read; nothing is
    unpickled and no code from the artifact runs.

    Raises
    ------
    ValueError
        For a URI that names nothing (an unknown model, version or alias), a model that is not
        a tsattn model, or files that fail their checksums.
    """
    import yaml
    from mlflow.artifacts import download_artifacts
    from mlflow.exceptions import MlflowException

    tracker = as_tracker(tracking) or Tracker()
    tracker.connect()
    with tempfile.TemporaryDirectory(prefix="tsattn-load-") as tmp:
        try:
            with using_uri(tracker.uri), _quiet_downloads():
                local = Path(download_artifacts(artifact_uri=model_uri, dst_path=tmp))
        except MlflowException as err:
            registered = re.fullmatch(r"models:/([^/@]+)(?:@([^/]+)|/(\d+))", model_uri)
            if registered:  # say which alias or version is missing, and which exist
                name, alias, number = registered.groups()
                model_version(tracker.connect(), tracker.uri, name, alias or number)
            raise ValueError(
                f"model {model_uri!r} was not found in {redact(tracker.uri)}: {err.message}"
            ) from err
        file = local / "MLmodel"
        if not file.is_file():
            raise ValueError(f"{model_uri!r} is not an MLflow model: it has no MLmodel file.")
        spec = yaml.safe_load(file.read_text()) or {}
        pyfunc = spec.get("flavors", {}).get("python_function", {})
        if pyfunc.get("loader_module") != LOADER_MODULE or not isinstance(pyfunc.get("data"), str):
            raise ValueError(
                f"{model_uri!r} is not a tsattn model: its python_function loader is "
                f"{pyfunc.get('loader_module')!r}, not {LOADER_MODULE!r}."
            )
        return load(_inside(local, pyfunc["data"], model_uri))


@contextlib.contextmanager
def _active(run_id: str) -> Iterator[None]:
    """Run ``run_id`` as MLflow's active run for the block (nested if the caller has one)."""
    import mlflow

    with mlflow.start_run(run_id=run_id, nested=mlflow.active_run() is not None):
        yield


@contextlib.contextmanager
def _quiet_downloads() -> Iterator[None]:
    """No MLflow download progress bar for the few small files of a model."""
    key = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    previous = os.environ.get(key)
    os.environ[key] = "false"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = previous


def _inside(root: Path, relative: str, uri: str) -> Path:
    """``root / relative``, refusing a path that leaves ``root`` (an edited MLmodel)."""
    path = (root / relative).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValueError(f"{uri!r}: its MLmodel points outside the model folder ({relative!r}).")
    return path


class PyfuncForecaster:
    """What MLflow's ``python_function`` flavor calls: ``predict(history, params)``."""

    def __init__(self, forecaster: BaseForecaster) -> None:
        self.forecaster = forecaster

    def predict(self, model_input: Any, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """Forecast the ``horizon`` steps after the end of every series of ``model_input``.

        ``model_input`` is a long history frame with the columns the model was fitted on; for
        a model with known-future covariates, its rows after each series' end with an empty
        target carry them. ``params={"quantiles": [...]}`` adds quantile columns.
        """
        est = self.forecaster
        roles = est.columns_
        frame = pd.DataFrame(model_input)
        required = [roles.time, roles.target, *roles.covariates]  # the id: for several series
        missing = [c for c in required if c not in frame.columns]
        if missing:
            raise ValueError(
                f"the request lacks column(s) {missing}; a {type(est).__name__} forecast "
                f"needs {required} (a long history frame, one row per series and timestamp)."
            )
        quantiles = [float(q) for q in (params or {}).get("quantiles") or []] or None
        future = None
        if roles.future:
            ahead = frame[roles.target].isna()
            frame, future = frame[~ahead], frame[ahead].drop(columns=[roles.target])
        return pd.DataFrame(est.predict(frame, X_future=future, quantiles=quantiles))


def _load_pyfunc(data_path: str) -> PyfuncForecaster:
    """MLflow's loader hook (``loader_module``): the checked forecaster saved at ``data_path``."""
    return PyfuncForecaster(load(Path(data_path)))
