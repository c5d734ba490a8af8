"""Optuna's plots of a study, written as PNG files."""

from __future__ import annotations

import logging
import warnings
from functools import partial
from pathlib import Path

import optuna
from optuna.exceptions import ExperimentalWarning
from optuna.trial import TrialState

from tsattn.plotting import pyplot

log = logging.getLogger("tsattn.tuning")


def save_plots(study: optuna.Study, folder: str | Path) -> list[Path]:
    """Write Optuna's optimisation history and parameter importances of ``study`` as PNG files.

    ``optimization_history.png`` always; ``param_importances.png`` when at least two trials
    completed with parameters that vary (otherwise skipped, with a log note);
    ``intermediate_values.png`` when trials reported learning curves (networks).

    Returns
    -------
    list of pathlib.Path
        The files written, in ``folder`` (created when missing).
    """
    from optuna.visualization import matplotlib as vis

    plt = pyplot()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = study.user_attrs.get("metric", "Objective Value")
    plots = [
        ("optimization_history.png", partial(vis.plot_optimization_history, target_name=target))
    ]
    why = _no_importances(study)
    if why:
        log.info("param_importances.png skipped: %s", why)
    else:
        plots.append(
            ("param_importances.png", partial(vis.plot_param_importances, target_name=target))
        )
    if any(t.intermediate_values for t in study.get_trials(deepcopy=False)):
        plots.append(("intermediate_values.png", vis.plot_intermediate_values))
    written = []
    old = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        for filename, draw in plots:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ExperimentalWarning)
                figure = draw(study).figure
            figure.savefig(folder / filename, dpi=110, bbox_inches="tight")
            plt.close(figure)
            written.append(folder / filename)
    finally:
        optuna.logging.set_verbosity(old)
    return written


def _no_importances(study: optuna.Study) -> str:
    """Why parameter importances cannot be computed ('' when they can)."""
    completed = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(completed) < 2:
        return f"it needs at least 2 completed trials, the study has {len(completed)}"
    common = set.intersection(*(set(t.params) for t in completed))
    varying = [p for p in common if len({repr(t.params[p]) for t in completed}) > 1]
    if not varying:
        return "no parameter varies across the completed trials"
    return ""
