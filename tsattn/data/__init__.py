"""Data layer: validation into a :class:`Panel`, windows, loaders, splits and features."""

from tsattn._validation import check_panel
from tsattn.data.features import (
    FeatureSet,
    SeriesScaler,
    build_features,
    calendar_feature_names,
    calendar_features,
    lag_features,
    rolling_features,
)
from tsattn.data.frames import wide_to_long
from tsattn.data.loader import WindowLoader, make_loaders
from tsattn.data.panel import Panel, ValidationReport
from tsattn.data.splits import (
    Split,
    split_by_fraction,
    split_by_rows,
    split_by_time,
    standard_split,
)
from tsattn.data.windows import Batch, Windows, make_windows, sliding_windows

__all__ = [
    "Batch",
    "FeatureSet",
    "Panel",
    "SeriesScaler",
    "Split",
    "ValidationReport",
    "WindowLoader",
    "Windows",
    "build_features",
    "calendar_feature_names",
    "calendar_features",
    "check_panel",
    "lag_features",
    "make_loaders",
    "make_windows",
    "rolling_features",
    "sliding_windows",
    "split_by_fraction",
    "split_by_rows",
    "split_by_time",
    "standard_split",
    "wide_to_long",
]
