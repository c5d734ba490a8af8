"""Optuna tuning on real storages (SQLite and journal files in tmp_path) and tiny synthetic data."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution
from optuna.trial import TrialState

import tsattn
from tsattn.neural import NeuralForecaster
from tsattn.tuning import (
    WORKER_DIED,
    SearchSpace,
    TuneResult,
    default_search_space,
    make_storage,
    save_plots,
    tune,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def frame(n: int = 120, ids=("a", "b"), freq: str = "h", period: int = 24) -> pd.DataFrame:
    """Series at level 50 + 10 k with a sine of ``period`` steps and a little noise."""
    rng = np.random.default_rng(0)
    t = np.arange(n)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": pd.date_range("2024-01-01", periods=n, freq=freq),
                    "y": 50 + 10 * k + 5 * np.sin(2 * np.pi * t / period) + rng.normal(0, 1, n),
                }
            )
            for k, uid in enumerate(ids)
        ],
        ignore_index=True,
    )


def linear(**params) -> tsattn.LinearForecaster:
    return tsattn.LinearForecaster(**{"horizon": 6, "max_epochs": 2, **params})


def sqlite(tmp_path: Path, name: str = "study.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def states(result_or_study) -> list[str]:
    study = getattr(result_or_study, "study", result_or_study)
    return [t.state.name for t in study.trials]


# -- what is tuned --------------------------------------------------------------------------------


def test_tune_by_name_and_by_class(tmp_path):
    df = frame()
    by_name = tune("seasonal_naive", df, n_trials=2, storage=sqlite(tmp_path), verbose=0)
    by_class = tune(
        tsattn.SeasonalNaiveForecaster,
        df,
        n_trials=2,
        storage=str(tmp_path / "other.log"),
        verbose=0,
    )
    for result in (by_name, by_class):
        assert isinstance(result, TuneResult)
        assert result.study.study_name == "tsattn-seasonal_naive"
        assert states(result) == ["COMPLETE", "COMPLETE"]
        assert set(result.best_params_) == {"season_length"}
        assert result.best_score_ == min(t.value for t in result.study.trials)
        assert isinstance(result.best_estimator_, tsattn.SeasonalNaiveForecaster)
    assert tsattn.tune is tune and tsattn.TuneResult is TuneResult  # the lazy export


def test_an_instance_keeps_its_explicit_parameters(tmp_path):
    est = linear(learning_rate=3e-3, lookback=24)
    result = tune(est, frame(), n_trials=2, storage=sqlite(tmp_path), verbose=0)
    for trial in result.study.trials:
        assert "learning_rate" not in trial.params and "lookback" not in trial.params
        assert trial.params["kernel_size"] in (5, 13, 25, 49)  # the rest is searched
    best = result.best_estimator_
    assert (best.learning_rate, best.lookback, best.max_epochs, best.horizon) == (3e-3, 24, 2, 6)
    assert best.model_options == {"kernel_size": result.study.best_params["kernel_size"]}
    assert est.model_options is None and est.callbacks is None  # the instance is not touched


def test_fixed_params_stay_fixed_even_at_the_class_defaults(tmp_path):
    default_lookback = linear().get_params()["lookback"]
    result = tune(
        "linear",
        frame(n=400),
        n_trials=2,
        storage=sqlite(tmp_path),
        verbose=0,
        fixed_params={"horizon": 6, "lookback": default_lookback, "max_epochs": 2},
    )
    assert all("lookback" not in t.params for t in result.study.trials)
    assert result.best_estimator_.lookback == default_lookback
    with pytest.raises(ValueError, match=r"fixed_params \['lookbak'\] are not parameters"):
        tune("linear", frame(), n_trials=1, storage=sqlite(tmp_path), fixed_params={"lookbak": 9})


def test_a_statistical_model_tunes_its_season_without_pruning(tmp_path):
    result = tune("seasonal_naive", frame(), n_trials=4, storage=sqlite(tmp_path), verbose=0)
    assert isinstance(result.study.pruner, optuna.pruners.NopPruner)
    drawn = {t.params["season_length"] for t in result.study.trials}
    assert drawn <= {1, 24, 48} and len(drawn) > 1
    assert result.best_params_["season_length"] in (24, 48)  # the data repeat every 24 steps
    assert result.best_estimator_.season_length == result.best_params_["season_length"]


def test_networks_get_the_median_pruner_and_a_tuning_epoch_budget(tmp_path):
    result = tune("linear", frame(), n_trials=1, refit=False, storage=sqlite(tmp_path), verbose=0)
    pruner = result.study.pruner
    assert isinstance(pruner, optuna.pruners.MedianPruner)
    assert result.best_estimator_ is None
    trial = result.study.trials[0]
    assert trial.intermediate_values  # val_loss reported after every epoch
    assert len(trial.intermediate_values) <= tsattn.tuning.TUNING_MAX_EPOCHS


@pytest.mark.parametrize("name", sorted(tsattn.ESTIMATORS))
def test_default_search_space_of_every_estimator_gives_a_fit(tmp_path, name):
    cls = tsattn.ESTIMATORS[name]
    extra = {"max_epochs": 1} if issubclass(cls, NeuralForecaster) else {}
    if name == "arima":  # statsmodels' seasonal fits take seconds each; fixed: not searched
        extra = {"seasonal_order": (0, 0, 0)}
    df = frame(n=80, freq="D", period=7)  # daily: season 7
    result = tune(
        cls(horizon=7, **extra),
        df,
        n_trials=1,
        n_windows=1,
        refit=False,
        storage=str(tmp_path / "study.log"),
        verbose=0,
    )
    trial = result.study.trials[0]
    assert trial.state == TrialState.COMPLETE, trial.user_attrs.get("reason")
    space = default_search_space(name, season_length=7, horizon=7, fixed=extra)
    assert set(trial.params) == set(space.distributions)
    assert set(result.study.user_attrs["search_space"]) == set(space.distributions)
    assert (len(space.distributions) == 0) == (name == "naive")


def test_integer_time_spaces_build_on_the_horizon(tmp_path):
    df = frame(n=100, freq="h").assign(ds=lambda d: d.groupby("unique_id").cumcount())
    result = tune(linear(), df, n_trials=2, storage=sqlite(tmp_path), verbose=0)
    assert states(result) == ["COMPLETE", "COMPLETE"]
    assert result.study.user_attrs["search_space"]["lookback"] == "one of [6, 12, 24, 42]"
    seasons = default_search_space("seasonal_naive", season_length=1).distributions
    assert seasons["season_length"].choices == (1, 2, 4, 7, 12, 24)


def test_default_search_space_options_are_the_networks_own():
    spaces = {name: default_search_space(name, season_length=24) for name in tsattn.ESTIMATORS}
    assert spaces["attention_lstm"].distributions["attention"].choices == ("general", "dot")
    assert spaces["transformer"].distributions["n_heads"].choices == (1, 2, 4, 8)
    assert spaces["lstm"].distributions["segment_length"].choices == (12, 24, 48)
    assert spaces["lstm"].distributions["lookback"].choices == (24, 48, 96, 168, 336, 504, 720)
    assert "hidden_size" not in spaces["linear"].distributions
    assert "loss" not in spaces["lstm"].distributions  # val losses of different losses differ
    # a fixed lookback caps segment_length; the transformer's stride follows (half a segment)
    space = default_search_space("transformer", season_length=24, fixed={"lookback": 24})
    params = space(optuna.trial.FixedTrial({**_any(space), "segment_length": 48}))
    assert params["segment_length"] == 24 and "stride" not in params
    arima = default_search_space("arima", season_length=12)
    params = arima(optuna.trial.FixedTrial({**_any(arima), "p": 2, "seasonal_d": 1}))
    assert params["order"][0] == 2 and params["seasonal_order"][1] == 1
    with pytest.raises(ValueError, match="Unknown estimator 'lstn'"):
        default_search_space("lstn")


def _any(space: SearchSpace) -> dict:
    """A valid value for every distribution of ``space``."""
    return {
        name: d.choices[0] if isinstance(d, CategoricalDistribution) else d.low
        for name, d in space.distributions.items()
    }


def test_dict_search_space(tmp_path):
    space = {
        "learning_rate": FloatDistribution(1e-3, 1e-2, log=True),
        "lookback": [24, 48],
        "kernel_size": (5, 25),
        "dropout": (0.0, 0.2),
    }
    result = tune(linear(), frame(), n_trials=3, search_space=space, storage=sqlite(tmp_path))
    for trial in result.study.trials:
        assert 1e-3 <= trial.params["learning_rate"] <= 1e-2
        assert trial.params["lookback"] in (24, 48)
        assert (
            isinstance(trial.params["kernel_size"], int) and 5 <= trial.params["kernel_size"] <= 25
        )
    assert set(result.best_params_) == {"learning_rate", "lookback", "dropout", "model_options"}
    assert (
        result.best_estimator_.model_options["kernel_size"]
        == result.best_params_["model_options"]["kernel_size"]
    )


def test_callable_search_space(tmp_path):
    def space(trial: optuna.Trial) -> dict:
        return {"lookback": trial.suggest_categorical("lookback", [24, 48])}

    result = tune(linear(), frame(), n_trials=2, search_space=space, storage=sqlite(tmp_path))
    assert states(result) == ["COMPLETE", "COMPLETE"]
    assert result.best_params_ == {"lookback": result.study.best_params["lookback"]}
    assert result.study.user_attrs["search_space"] == {"callable": space.__qualname__}


# -- pruning and failures -------------------------------------------------------------------------


def test_pruning_stops_a_hopeless_trial_with_its_reason(tmp_path):
    def space(trial: optuna.Trial) -> dict:
        # trial 0: the defaults; then no scaling and no RevIN on series at level 50: an
        # untrained network forecasts about 0, a validation loss thousands of times worse
        return {} if trial.number == 0 else {"scaler": None, "revin": False}

    result = tune(
        linear(lookback=24, max_epochs=3, patience=None),
        frame(),
        n_trials=3,
        search_space=space,
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1),
        storage=sqlite(tmp_path),
        verbose=0,
    )
    assert states(result) == ["COMPLETE", "PRUNED", "PRUNED"]
    pruned = result.trials_[result.trials_["state"] == "PRUNED"]
    assert pruned["reason"].str.match(r"pruned at epoch 0: val_loss \S+ \(MedianPruner\)").all()
    assert result.best_params_ == {}


def test_a_failing_trial_fails_alone_with_its_reason(tmp_path):
    def space(trial: optuna.Trial) -> dict:
        return {"dropout": 5.0} if trial.number == 1 else {}  # rejected by fit

    result = tune(
        linear(lookback=24), frame(), n_trials=3, search_space=space, storage=sqlite(tmp_path)
    )
    assert states(result) == ["COMPLETE", "FAIL", "COMPLETE"]
    reason = result.trials_.set_index("number").loc[1, "reason"]
    assert reason.startswith("ValueError: dropout=5.0 is invalid")
    assert result.summary().loc[1, "reason"] == reason


def test_an_undefined_metric_fails_the_trial_and_no_completed_trial_is_an_error(tmp_path):
    df = frame()
    df.loc[df.index[-1], "y"] = 0.0  # MAPE divides by the true values
    storage = sqlite(tmp_path)
    with pytest.raises(
        ValueError, match=r"no trial of study 'tsattn-naive' completed.*mape is nan"
    ):
        tune("naive", df, n_trials=2, metric="mape", storage=storage, verbose=0)
    study = optuna.load_study(study_name="tsattn-naive", storage=storage)
    assert states(study) == ["FAIL", "FAIL"]
    assert all("undefined" in t.user_attrs["reason"] for t in study.trials)


def test_a_dead_workers_trial_is_failed_by_the_next_worker(tmp_path):
    """Heartbeat (RDB storages): a killed worker's RUNNING trial ends FAIL, reason recorded."""
    storage, ready = sqlite(tmp_path), tmp_path / "running"
    frame().to_csv(tmp_path / "data.csv", index=False)
    script = textwrap.dedent(
        f"""
        import pathlib, time, pandas as pd, tsattn
        from tsattn.tuning import tune
        def hang(epoch, metrics):
            pathlib.Path({str(ready)!r}).touch()
            time.sleep(600)
        df = pd.read_csv({str(tmp_path / "data.csv")!r}, parse_dates=["ds"])
        est = tsattn.LinearForecaster(horizon=6, lookback=24, max_epochs=2, callbacks=[hang])
        tune(est, df, n_trials=2, storage={storage!r}, heartbeat_interval=1, verbose=0)
        """
    )
    worker = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not ready.exists():
            assert worker.poll() is None and time.monotonic() < deadline, "worker never started"
            time.sleep(0.2)
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    study = optuna.load_study(study_name="tsattn-linear", storage=storage)
    assert states(study) == ["RUNNING"]
    time.sleep(3.5)  # past the grace period of 2 heartbeat intervals
    result = tune(linear(lookback=24), frame(), n_trials=2, storage=storage, heartbeat_interval=1)
    assert states(result) == ["FAIL", "COMPLETE"]  # the dead trial counts towards n_trials
    assert result.trials_["reason"].tolist() == [WORKER_DIED, ""]


def test_a_journal_storage_cannot_fail_a_dead_trial_and_says_so(tmp_path, caplog):
    storage = str(tmp_path / "study.log")
    tune("naive", frame(), n_trials=1, storage=storage, verbose=0)
    study = optuna.load_study(study_name="tsattn-naive", storage=make_storage(storage))
    study.ask()  # a worker that died mid-trial: without a heartbeat it stays RUNNING
    with caplog.at_level(logging.WARNING, logger="tsattn.tuning"):
        result = tune("naive", frame(), n_trials=3, storage=storage, verbose=0)
    assert "has RUNNING trials [1]. A journal storage has no heartbeat" in caplog.text
    assert states(result) == ["COMPLETE", "RUNNING", "COMPLETE"]  # it counts towards n_trials


# -- storage and studies ------------------------------------------------------------------------


def test_rerunning_resumes_up_to_the_total(tmp_path):
    storage = str(tmp_path / "study.jsonl")
    tune("seasonal_naive", frame(), n_trials=2, storage=storage, verbose=0)
    result = tune("seasonal_naive", frame(), n_trials=3, storage=storage, verbose=0)
    assert [t.number for t in result.study.trials] == [0, 1, 2]
    again = tune("seasonal_naive", frame(), n_trials=3, storage=storage, verbose=0)
    assert len(again.study.trials) == 3  # the study had its n_trials: nothing ran
    assert again.best_score_ == result.best_score_
    assert isinstance(make_storage(storage), optuna.storages.journal.JournalStorage)
    assert isinstance(make_storage(f"journal:{storage}"), optuna.storages.journal.JournalStorage)


def test_default_storage_is_a_sqlite_file_in_the_working_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    tune("naive", frame(), n_trials=1, refit=False, verbose=0)
    assert (tmp_path / "tsattn_tuning.db").is_file()
    study = optuna.load_study(
        study_name="tsattn-naive", storage=f"sqlite:///{tmp_path / 'tsattn_tuning.db'}"
    )
    attrs = study.user_attrs
    assert (attrs["model"], attrs["metric"], attrs["direction"]) == ("naive", "mase", "minimize")
    assert attrs["tsattn_version"] == tsattn.__version__


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            {"metric": "mae"},
            r"exists in this storage with direction minimize, model seasonal_naive, metric mase",
        ),
        ({"model": "naive", "study_name": "tsattn-seasonal_naive"}, "model naive"),
        ({"model": tsattn.SeasonalNaiveForecaster(horizon=12)}, "horizon 12"),
    ],
)
def test_a_study_of_another_task_is_refused_before_any_trial(tmp_path, change, match):
    storage = sqlite(tmp_path)
    tune("seasonal_naive", frame(), n_trials=1, storage=storage, verbose=0)
    args = {"model": "seasonal_naive", "metric": "mase", **change}
    with pytest.raises(ValueError, match=match):
        tune(args.pop("model"), frame(), n_trials=3, storage=storage, verbose=0, **args)
    assert len(optuna.load_study(study_name="tsattn-seasonal_naive", storage=storage).trials) == 1


def test_a_study_with_another_direction_is_refused(tmp_path):
    storage = sqlite(tmp_path)
    optuna.create_study(storage=storage, study_name="tsattn-naive", direction="maximize")
    with pytest.raises(ValueError, match="direction maximize"):
        tune("naive", frame(), n_trials=1, storage=storage, verbose=0)


# fmt: off
BAD_INPUTS = [
    ({"search_space": {"hiden_size": [32]}}, ValueError, "'hiden_size', which is not a tunable parameter of LinearForecaster; tunable: .*'learning_rate'"),
    ({"search_space": {"learning_rate": (1e-2, 1e-4)}}, ValueError, r"inverted range: low 0.01 > high 0.0001"),
    ({"search_space": {"lookback": []}}, ValueError, "empty list of choices"),
    ({"search_space": {"lookback": (1, 5, "exp")}}, TypeError, "is not a range"),
    ({"search_space": {"lookback": "24"}}, TypeError, "must be an Optuna FloatDistribution"),
    ({"search_space": {"lookback": [(1, 2)]}}, TypeError, "choices must be None, bool"),
    ({"search_space": 5}, TypeError, "search_space must be None"),
    ({"search_space": lambda trial: [1]}, TypeError, "search_space must return a dict"),
    ({"search_space": {"horizon": [6, 12]}}, ValueError, "'horizon', which is not a tunable"),
    ({"model": linear(learning_rate=0.01), "search_space": {"learning_rate": (1e-4, 1e-2)}}, ValueError, "instance fixes to 0.01"),
    ({"metric": "mase2"}, ValueError, r"metric='mase2' is invalid; expected one of \['mase'"),
    ({"n_trials": None}, ValueError, "pass n_trials"),
    ({"n_trials": -1}, ValueError, "n_trials=-1 is invalid"),
    ({"timeout": 0}, ValueError, "timeout=0 is invalid"),
    ({"n_windows": 0}, ValueError, "n_windows=0 is invalid"),
    ({"model": 42}, TypeError, "model must be an estimator name"),
    ({"model": "lstn"}, ValueError, "Unknown estimator 'lstn'"),
    ({"model": tsattn.LinearForecaster(horizon=100)}, ValueError, "too few to fit LinearForecaster"),
    ({"sampler": "tpe"}, TypeError, "sampler must be an Optuna sampler"),
    ({"storage": "postgresql+psycopg://nobody@127.0.0.1:9/nope"}, ValueError, r"cannot open the Optuna storage 'postgresql\+psycopg://nobody@127.0.0.1:9/nope'"),
    ({"storage": "sqlite:////no/such/folder/x.db"}, ValueError, "cannot open the Optuna storage 'sqlite:////no/such/folder/x.db'"),
    ({"storage": "/no/such/folder/x.log"}, ValueError, "folder /no/such/folder does not exist"),
    ({"storage": "study"}, ValueError, "neither a database URL"),
    ({"heartbeat_interval": 0}, ValueError, "heartbeat_interval=0 is invalid"),
]
# fmt: on


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_INPUTS)
def test_bad_input_is_one_line_before_any_trial(tmp_path, kwargs, error, match):
    args = {"model": linear(), "n_trials": 2, "storage": sqlite(tmp_path), **kwargs}
    with pytest.raises(error, match=match) as info:
        tune(args.pop("model"), frame(), **args, verbose=0)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "study.db").exists() or not optuna.get_all_study_names(sqlite(tmp_path))


def test_storage_password_is_hidden_in_errors():
    with pytest.raises(ValueError, match=r"postgresql\+psycopg://me:\*\*\*@127.0.0.1:9/db") as info:
        make_storage("postgresql+psycopg://me:secret@127.0.0.1:9/db")
    assert "secret" not in str(info.value)


# -- results --------------------------------------------------------------------------------------


def test_best_estimator_predicts_saves_and_loads(tmp_path):
    result = tune(linear(lookback=24), frame(), n_trials=2, storage=sqlite(tmp_path), verbose=0)
    best = result.best_estimator_
    forecast = best.predict()
    assert len(forecast) == 2 * 6 and np.isfinite(forecast["y_pred"]).all()
    loaded = tsattn.load(best.save(tmp_path / "best"))
    pd.testing.assert_frame_equal(loaded.predict(), forecast)
    table = result.summary()
    assert list(table.columns) == ["best", "state", "mase", "seconds", "params", "reason"]
    assert table["best"].tolist().count("*") == 1
    assert {"fit_seconds", "mae", "mse", "rmse", "smape", "mase", "mape"} <= set(result.trials_)


def test_save_plots_with_one_and_with_three_trials(tmp_path, caplog):
    one = tune("seasonal_naive", frame(), n_trials=1, storage=sqlite(tmp_path, "one.db"))
    with caplog.at_level(logging.INFO, logger="tsattn.tuning"):
        written = save_plots(one.study, tmp_path / "one")
    assert [p.name for p in written] == ["optimization_history.png"]
    assert "param_importances.png skipped: it needs at least 2 completed trials" in caplog.text
    three = tune(linear(lookback=24), frame(), n_trials=3, storage=sqlite(tmp_path, "three.db"))
    written = save_plots(three.study, tmp_path / "three")
    assert [p.name for p in written] == [
        "optimization_history.png",
        "param_importances.png",
        "intermediate_values.png",
    ]
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in written)


def test_a_one_worker_study_is_reproducible(tmp_path):
    runs = [
        tune(linear(), frame(), n_trials=4, storage=sqlite(tmp_path, f"{k}.db"), verbose=0)
        for k in range(2)
    ]
    first, second = ([(t.params, t.value) for t in r.study.trials] for r in runs)
    assert first == second and len({str(p) for p, _ in first}) == 4


def test_selection_uses_only_the_end_of_the_data_given(tmp_path):
    df = frame(n=150)
    train = df.groupby("unique_id").head(120)  # the last 30 hours of each series held out
    result = tune(
        "seasonal_naive", train, n_trials=2, n_windows=2, storage=sqlite(tmp_path), verbose=0
    )
    end = train["ds"].max()
    horizon = pd.Timedelta(hours=result.best_estimator_.horizon)
    for trial in result.study.trials:
        # the last window ends where train ends, the first starts one horizon earlier
        assert pd.Timestamp(trial.user_attrs["last_cutoff"]) == end - horizon
        assert pd.Timestamp(trial.user_attrs["first_cutoff"]) == end - 2 * horizon
    assert result.best_estimator_.history_.lengths.tolist() == [120, 120]


def test_progress_lines_and_optuna_logging_restored(tmp_path, caplog):
    before = optuna.logging.get_verbosity()
    with caplog.at_level(logging.INFO, logger="tsattn.tuning"):
        tune("seasonal_naive", frame(), n_trials=2, metric="mae", storage=sqlite(tmp_path))
    lines = [r.getMessage() for r in caplog.records if r.name == "tsattn.tuning"]
    assert lines[0].startswith("tuning seasonal_naive by mae over the last 3 backtest windows")
    assert lines[1].startswith("trial 0 (1/2): mae ") and "; best " in lines[1]
    assert lines[2].startswith("trial 1 (2/2): mae ")
    assert lines[3].startswith("best trial ")
    assert optuna.logging.get_verbosity() == before
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tsattn.tuning"):
        tune(
            "seasonal_naive", frame(), n_trials=3, metric="mae", storage=sqlite(tmp_path), verbose=0
        )
    assert not [
        r for r in caplog.records if r.name == "tsattn.tuning" and r.levelno == logging.INFO
    ]


# -- the defaults as the first trial ----------------------------------------------------------


def test_a_new_study_tries_the_models_defaults_first(tmp_path):
    est = tsattn.LSTMForecaster(horizon=6, lookback=24, max_epochs=2)
    result = tune(est, frame(), n_trials=3, storage=sqlite(tmp_path), verbose=0)
    first, *rest = result.study.trials
    assert len(result.study.trials) == 3  # the queued trial is one of the n_trials
    # the estimator's learning rate and batch size, the network's sizes and segments
    assert first.params == {
        "learning_rate": 1e-3,
        "batch_size": 256,
        "dropout": 0.3,
        "hidden_size": 128,
        "num_layers": 1,
        "segment_length": 24,
    }
    assert first.user_attrs["defaults"] is True and first.state.name == "COMPLETE"
    assert all("defaults" not in t.user_attrs for t in rest)
    assert result.best_score_ <= first.value  # so tuning never ends worse than its defaults
    resumed = tune(est, frame(), n_trials=4, storage=sqlite(tmp_path), verbose=0)
    assert sum(bool(t.user_attrs.get("defaults")) for t in resumed.study.trials) == 1
    assert len(resumed.study.trials) == 4


def test_no_default_trial_when_asked_or_outside_the_space(tmp_path):
    est = tsattn.LSTMForecaster(horizon=6, lookback=24, max_epochs=1)

    def run(db: str, sizes: list[int], n_trials: int = 2, **kwargs) -> TuneResult:
        space = {"hidden_size": sizes, "learning_rate": (1e-4, 1e-2, "log")}
        storage = sqlite(tmp_path, db)
        return tune(est, frame(), n_trials=n_trials, storage=storage, search_space=space, **kwargs)

    off = run("a.db", [16, 128], start_from_defaults=False, verbose=0)
    narrow = run("b.db", [16, 32], verbose=0)  # hidden_size 128 (the default) is no choice
    wide = run("c.db", [16, 128], n_trials=1, verbose=0)
    for result in (off, narrow):
        assert not any(t.user_attrs.get("defaults") for t in result.study.trials)
    assert wide.study.trials[0].params == {"hidden_size": 128, "learning_rate": 1e-3}
    assert wide.study.trials[0].user_attrs["defaults"] is True


def test_the_default_spaces_of_the_networks_hold_their_defaults():
    # daily data: the lookbacks are multiples of 7, and the default lookback of 96 is added
    for name in ("lstm", "attention_lstm", "transformer", "linear"):
        space = default_search_space(name, season_length=7)
        assert space.distributions["lookback"].choices == (7, 14, 28, 49, 96, 98, 147, 210)
        if name != "linear":
            assert space.distributions["segment_length"].choices == (3, 7, 14, 24)
    # unless the series are too short for it
    short = default_search_space("lstm", season_length=7, max_lookback=60)
    assert short.distributions["lookback"].choices == (7, 14, 28, 49)


def test_the_defaults_trial_is_the_model_as_given(tmp_path):
    # daily data: the estimator's segments are one week long, and so are the trial's
    est = tsattn.LSTMForecaster(horizon=6, lookback=28, max_epochs=1)
    space = {"learning_rate": [1e-3, 10.0], "segment_length": [7, 14]}
    result = tune(
        est, frame(freq="D", period=7), n_trials=2, search_space=space, storage=sqlite(tmp_path)
    )
    first = result.study.trials[0]
    assert first.params == {"learning_rate": 1e-3, "segment_length": 7}
    assert first.user_attrs["defaults"] is True
    # a learning rate of 10 diverges or does worse: the defaults stay best, nothing to change
    assert result.best_score_ == first.value and result.best_params_ == {}
    assert result.best_estimator_.get_params() == est.get_params()
