"""The model registry: aliases, and promotion of a challenger that backtests better.

:func:`promote` loads the versions behind two aliases of a registered model (``challenger``
and ``champion``), forecasts the last ``n_windows`` origins of the given data with each as it
is (no refit: the trained artifacts are compared, so the data should follow their training
period), records both scores on both versions, and moves ``champion`` to the challenger only
when its score is strictly lower. ``tsattn promote`` is the command-line form.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tsattn.data.frames import FrameLike
from tsattn.evaluation import backtest
from tsattn.params import check_choice, check_param
from tsattn.tracking.flavor import load_model, model_version
from tsattn.tracking.runs import Tracker, as_tracker

__all__ = ["PromotionResult", "promote", "set_alias"]

#: Metrics promotion can compare (lower is better), as in :meth:`BacktestResult.summary`.
PROMOTION_METRICS = ("mase", "mae", "mse", "rmse", "smape")


@dataclass
class PromotionResult:
    """What :func:`promote` compared and did.

    ``champion_version`` is None when the model had no champion yet (the challenger then
    becomes it); ``promoted`` says whether the ``champion`` alias moved.
    """

    name: str
    metric: str
    n_windows: int
    challenger_version: str
    challenger_score: float
    champion_version: str | None
    champion_score: float | None
    promoted: bool
    challenger_model: str = ""
    champion_model: str = ""

    def __str__(self) -> str:
        rows = [
            f"promote {self.name!r}: {self.metric} over {self.n_windows} backtest windows "
            "(lower is better)",
            f"  challenger  v{self.challenger_version:<4} {self.challenger_model:<28} "
            f"{self.challenger_score:.4f}",
        ]
        if self.champion_version is None:
            rows.append("  champion    none yet")
        else:
            rows.append(
                f"  champion    v{self.champion_version:<4} {self.champion_model:<28} "
                f"{self.champion_score:.4f}"
            )
        if self.promoted and self.champion_version is None:
            rows.append(f"champion -> v{self.challenger_version} (first champion)")
        elif self.promoted:
            gain = 1 - self.challenger_score / self.champion_score if self.champion_score else 0
            rows.append(
                f"champion: v{self.champion_version} -> v{self.challenger_version} "
                f"(challenger better by {100 * gain:.1f}%)"
            )
        else:
            rows.append(f"champion stays v{self.champion_version}: the challenger is not better")
        return "\n".join(rows)


def _client(tracking: Any) -> tuple[Any, Tracker]:
    tracker = as_tracker(tracking) or Tracker()
    return tracker.connect(), tracker


def _version(client: Any, tracker: Tracker, name: str, ref: str) -> Any:
    return model_version(client, tracker.uri, name, ref)


def set_alias(
    name: str, alias: str, version: int | str, *, tracking: bool | str | Tracker | None = None
) -> None:
    """Point ``alias`` (e.g. ``'champion'``) of registered model ``name`` at ``version``."""
    if not isinstance(alias, str) or not alias or alias.isdigit():
        raise ValueError(f"alias {alias!r} is invalid; use a name such as 'champion'.")
    client, tracker = _client(tracking)
    _version(client, tracker, name, str(version))  # a clear error for an unknown version
    client.set_registered_model_alias(name, alias, str(version))


def promote(
    name: str,
    data: FrameLike,
    *,
    metric: str = "mase",
    n_windows: int = 3,
    step: int | None = None,
    season_length: int | None = None,
    champion: str = "champion",
    challenger: str = "challenger",
    tracking: bool | str | Tracker | None = None,
) -> PromotionResult:
    """Backtest the challenger against the champion; move ``champion`` if the challenger wins.

    Parameters
    ----------
    name : str
        Registered model name.
    data : DataFrame
        History in the models' column layout, ending after their training data; each model
        forecasts its last ``n_windows`` origins (every ``step`` steps, default the horizon)
        without refitting.
    metric : {'mase', 'mae', 'mse', 'rmse', 'smape'}
        Lower is better; ties keep the champion.
    champion, challenger : str
        Aliases (or version numbers) to compare. With no champion yet, the challenger becomes it.
    tracking : bool, str or Tracker, optional
        The store holding the registry; default :func:`tsattn.tracking.store.default_uri`.

    Returns
    -------
    PromotionResult
        Printable comparison. Both versions get tags ``promotion.metric``,
        ``promotion.<alias>_version``, ``promotion.<alias>_score``, ``promotion.result`` and
        ``promotion.time``.
    """
    check_choice("metric", metric, PROMOTION_METRICS)
    check_param("n_windows", n_windows, low=1, integer=True)
    client, tracker = _client(tracking)
    versions = _compared(client, tracker, name, champion, challenger)
    models = {
        role: load_model(f"models:/{name}/{v.version}", tracking=tracker)
        for role, v in versions.items()
    }
    horizons = {role: est.horizon for role, est in models.items()}
    if len(set(horizons.values())) > 1:
        raise ValueError(
            f"the two versions forecast different horizons {horizons}: compare models of one "
            "horizon."
        )
    scores = {
        role: float(
            backtest(
                est, data, n_windows=n_windows, step=step, refit=None, season_length=season_length
            ).summary()[metric]
        )
        for role, est in models.items()
    }
    if not math.isfinite(scores["challenger"]):
        raise ValueError(
            f"the challenger's {metric} is {scores['challenger']}: nothing to compare."
        )
    old = versions.get("champion")
    promoted = old is None or scores["challenger"] < scores["champion"]
    result = PromotionResult(
        name=name,
        metric=metric,
        n_windows=n_windows,
        challenger_version=str(versions["challenger"].version),
        challenger_score=scores["challenger"],
        champion_version=None if old is None else str(old.version),
        champion_score=scores.get("champion"),
        promoted=promoted,
        challenger_model=type(models["challenger"]).__name__,
        champion_model=type(models["champion"]).__name__ if old is not None else "",
    )
    _record(client, result, list(versions.values()))
    if promoted:
        client.set_registered_model_alias(name, champion, result.challenger_version)
    return result


def _compared(client: Any, tracker: Tracker, name: str, champion: str, challenger: str) -> dict:
    """``{"challenger": version[, "champion": version]}``; no champion alias yet is fine."""
    versions = {"challenger": _version(client, tracker, name, challenger)}
    try:
        versions["champion"] = _version(client, tracker, name, champion)
    except ValueError:
        if str(champion).isdigit():
            raise
        return versions  # no champion yet
    if versions["champion"].version == versions["challenger"].version:
        raise ValueError(
            f"{challenger!r} and {champion!r} are the same version "
            f"v{versions['challenger'].version}."
        )
    return versions


def _record(client: Any, result: PromotionResult, versions: list[Any]) -> None:
    """Both scores, the outcome and the time as tags on every compared version."""
    tags = {
        "promotion.metric": result.metric,
        "promotion.windows": str(result.n_windows),
        "promotion.challenger_version": result.challenger_version,
        "promotion.challenger_score": f"{result.challenger_score:.6g}",
        "promotion.result": "promoted" if result.promoted else "kept champion",
        "promotion.time": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if result.champion_version is not None:
        tags["promotion.champion_version"] = result.champion_version
        tags["promotion.champion_score"] = f"{result.champion_score:.6g}"
    for version in versions:
        for key, value in tags.items():
            client.set_model_version_tag(result.name, version.version, key, value)
        own = (
            result.challenger_score
            if str(version.version) == result.challenger_version
            else result.champion_score
        )
        client.set_model_version_tag(
            result.name, version.version, f"backtest_{result.metric}", f"{own:.6g}"
        )
