"""Checks of estimator parameters: each error names the parameter, its value and what is allowed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["check_choice", "check_param", "check_quantiles", "is_int"]


def is_int(value: Any) -> bool:
    """True for Python and numpy integers, but not for booleans."""
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_param(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    integer: bool = False,
    allow_none: bool = False,
    low_open: bool = False,
) -> None:
    """Raise ``ValueError`` naming the parameter, its bad value and the allowed range."""
    if value is None and allow_none:
        return
    kind = "an integer" if integer else "a number"
    ok = (
        is_int(value)
        if integer
        else isinstance(value, int | float | np.number) and not isinstance(value, bool)
    )
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        lo = "" if low is None else (f"> {low}" if low_open else f">= {low}")
        hi = "" if high is None else f"<= {high}"
        allowed = " and ".join(p for p in (lo, hi) if p) or "any value"
        none = " or None" if allow_none else ""
        raise ValueError(f"{name}={value!r} is invalid; expected {kind} {allowed}{none}.")


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}={value!r} is invalid; expected one of {list(choices)}.")


def check_quantiles(name: str, quantiles: Sequence[float] | None) -> list[float] | None:
    """Sorted distinct levels in (0, 1), or None; anything else is a ``ValueError``."""
    if quantiles is None:
        return None
    if (
        isinstance(quantiles, str)
        or not isinstance(quantiles, Sequence | np.ndarray)
        or len(quantiles) == 0
    ):
        raise ValueError(
            f"{name}={quantiles!r} is invalid; expected a non-empty list such as [0.1, 0.5, 0.9]."
        )
    values = [float(q) for q in quantiles]
    if not all(0 < q < 1 for q in values) or len(set(values)) != len(values):
        raise ValueError(
            f"{name}={list(quantiles)} is invalid; expected distinct levels strictly between 0 and 1."
        )
    return sorted(values)


def check_bounds(name: str, bounds: Any) -> tuple[float, float] | None:
    """``(low, high)`` with None for an open side, as floats (-inf / inf), or None for none."""
    if bounds is None:
        return None
    if isinstance(bounds, str) or not isinstance(bounds, Sequence) or len(bounds) != 2:
        raise ValueError(
            f"{name}={bounds!r} is invalid; expected (low, high) with None for an open side, "
            "e.g. (0, None) for non-negative forecasts."
        )
    low, high = (
        float(default) if v is None else v
        for v, default in zip(bounds, (-np.inf, np.inf), strict=True)
    )
    for v in (low, high):
        if isinstance(v, bool) or not isinstance(v, int | float | np.number) or np.isnan(v):
            raise ValueError(f"{name}={bounds!r} is invalid; its ends must be numbers or None.")
    if not low < high:
        raise ValueError(f"{name}={bounds!r} is invalid; low must be below high.")
    return float(low), float(high)
