"""MLflow runs of an Optuna study: one parent run per study, a nested run per trial.

Workers of a distributed study share the parent: its run id is kept in the study's user
attribute ``mlflow_parent_run_id`` (in the Optuna storage), so every worker nests its trials
under the same run. Trials are logged when they end (Optuna's study callback), complete,
pruned or failed, with their parameters, score, the values reported to the pruner per epoch
(``intermediate_value``: the network's validation loss) and the reason.
"""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tsattn.data.panel import Panel
from tsattn.tracking.runs import RunLog, Tracker, as_tracker
from tsattn.tracking.store import redact

__all__ = ["StudyRun", "tracked_study"]

PARENT_ATTR = "mlflow_parent_run_id"
#: Optuna trial state -> MLflow run status of the trial's run.
STATUS = {"COMPLETE": "FINISHED", "PRUNED": "FINISHED", "FAIL": "FAILED"}


class StudyRun:
    """The study's parent run; called as an Optuna callback, it logs each finished trial."""

    def __init__(self, tracker: Tracker, parent: RunLog, metric: str) -> None:
        self.tracker, self.parent, self.metric = tracker, parent, metric

    def __call__(self, study: Any, trial: Any) -> None:
        """Optuna study callback ``(study, frozen_trial)``: a nested run for the trial."""
        client, state = self.parent.client, trial.state.name
        start = _millis(trial.datetime_start)
        tags = {
            "mlflow.parentRunId": self.parent.run_id,
            "tsattn.kind": "trial",
            "optuna.study": study.study_name,
            "optuna.trial": str(trial.number),
            "optuna.state": state,
        }
        if trial.user_attrs.get("reason"):
            tags["optuna.reason"] = str(trial.user_attrs["reason"])[:5000]
        try:
            run_id = client.create_run(
                self.tracker.experiment_id,
                start_time=start,
                tags=tags,
                run_name=f"trial {trial.number}",
            ).info.run_id
        except Exception as err:
            if self.parent.on_error == "raise":
                raise
            warnings.warn(f"trial {trial.number} not tracked: {err}", UserWarning, stacklevel=2)
            return
        run = RunLog(client, run_id, self.parent.on_error)
        run.params(trial.params)
        for step, value in sorted(trial.intermediate_values.items()):  # what pruning saw
            run.metrics({"intermediate_value": value}, step=step)
        if trial.value is not None:
            run.metrics({self.metric: trial.value})
        if trial.datetime_start and trial.datetime_complete:
            seconds = (trial.datetime_complete - trial.datetime_start).total_seconds()
            run.metrics({"trial_seconds": seconds})
        run.end(STATUS.get(state, "KILLED"), end_time=_millis(trial.datetime_complete))

    def finish(
        self,
        best_params: Mapping[str, Any],
        best_score: float,
        trials: Any,
        write_plots: Callable[[str], Any],
    ) -> None:
        """The outcome on the parent: best parameters and score, trial table, study plots."""
        run = self.parent
        run.params({f"best.{k}": v for k, v in best_params.items()})
        run.metrics({f"best_{self.metric}": best_score})
        counts = trials["state"].value_counts().to_dict() if len(trials) else {}
        run.metrics({f"trials_{k.lower()}": v for k, v in counts.items()})
        run.table(trials, "trials.csv")
        with tempfile.TemporaryDirectory(prefix="tsattn-study-") as folder:
            write_plots(folder)
            run.folder(folder, "plots")


@contextlib.contextmanager
def tracked_study(
    tracking: Any,
    study: Any,
    settings: Mapping[str, Any],
    panel: Panel | None = None,
    data_name: str | None = None,
) -> Iterator[StudyRun | None]:
    """The parent run of ``study`` for the block (shared by its workers); None when off."""
    tracker = as_tracker(tracking)
    if tracker is None:
        yield None
        return
    existing = _existing_parent(tracker, study)
    tags = {"tsattn.kind": "study", "optuna.study": study.study_name}
    name = f"tune {study.study_name}"
    with tracker.start(name, tags=tags, run_id=existing) as parent:
        if parent is None:
            yield None
            return
        if existing is None:
            parent = _claim(tracker, study, parent)
            parent.params({k: redact(str(v)) for k, v in settings.items()})
            if panel is not None:
                parent.dataset(panel, tracker.dataset_name or data_name or "data", "tuning")
        yield StudyRun(tracker, parent, str(settings.get("metric", "value")))


def _existing_parent(tracker: Tracker, study: Any) -> str | None:
    """The parent run id another worker recorded, if it exists in this tracker's store."""
    run_id = study.user_attrs.get(PARENT_ATTR)
    if not run_id:
        return None
    try:
        run = tracker.connect().get_run(run_id)
    except Exception:
        return None  # recorded in another store, or deleted
    return run_id if run.info.experiment_id == tracker.experiment_id else None


def _claim(tracker: Tracker, study: Any, parent: RunLog) -> RunLog:
    """Record ``parent`` as the study's run; if another worker that started at the same moment
    recorded its own, nest under that one (ours stays, empty, tagged as superseded)."""
    study.set_user_attr(PARENT_ATTR, parent.run_id)
    winner = study.user_attrs.get(PARENT_ATTR)
    if winner == parent.run_id:
        return parent
    parent.tags({"tsattn.superseded_by": winner})
    return RunLog(parent.client, winner, parent.on_error)


def _millis(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)
