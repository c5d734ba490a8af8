"""Data layer: validation into a :class:`Panel`, windows, loaders, splits and features.

Names load on first use (PEP 562), so ``from tsattn.data import check_panel`` does not import
torch. The flow, module by module: ``frames`` (the pandas/polars edge and column roles) ->
``validation`` (``check_panel``: stages over the rows, with ``timestamps`` for time columns) ->
``panel`` (contiguous arrays) -> ``splits`` / ``features`` -> ``windows`` (zero-copy views) ->
``loader`` (batches).
"""

from __future__ import annotations

import importlib
from typing import Any

_SOURCES = {
    "check_panel": "tsattn.data.validation",
    "ColumnRoles": "tsattn.data.frames",
    "FrameLike": "tsattn.data.frames",
    "future_times": "tsattn.data.timestamps",
    "Panel": "tsattn.data.panel",
    "ValidationReport": "tsattn.data.panel",
    "series_frame": "tsattn.data.frames",
    "wide_to_long": "tsattn.data.frames",
    "Batch": "tsattn.data.windows",
    "Windows": "tsattn.data.windows",
    "make_windows": "tsattn.data.windows",
    "sliding_windows": "tsattn.data.windows",
    "WindowLoader": "tsattn.data.loader",
    "make_loaders": "tsattn.data.loader",
    "Split": "tsattn.data.splits",
    "split_by_fraction": "tsattn.data.splits",
    "split_by_rows": "tsattn.data.splits",
    "split_by_time": "tsattn.data.splits",
    "standard_split": "tsattn.data.splits",
    "FeatureSet": "tsattn.data.features",
    "SeriesScaler": "tsattn.data.scaling",
    "build_features": "tsattn.data.features",
    "calendar_feature_names": "tsattn.data.features",
    "calendar_features": "tsattn.data.features",
    "lag_features": "tsattn.data.features",
    "rolling_features": "tsattn.data.features",
}

__all__ = sorted(_SOURCES)


def __getattr__(name: str) -> Any:
    if name not in _SOURCES:
        raise AttributeError(f"module 'tsattn.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(_SOURCES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
