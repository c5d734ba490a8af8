"""Windows, loaders and splits: boundaries, zero copies, exact contents."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from tsattn.data import (
    check_panel,
    make_loaders,
    make_windows,
    sliding_windows,
    split_by_fraction,
    split_by_rows,
    split_by_time,
    standard_split,
)
from tsattn.data.loader import WindowLoader


def panel_of(lengths: dict[str, int]):
    parts = [
        pd.DataFrame(
            {
                "unique_id": uid,
                "ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                "y": 1000.0 * k + np.arange(n),  # value encodes (series, row)
            }
        )
        for k, (uid, n) in enumerate(lengths.items())
    ]
    return check_panel(pd.concat(parts, ignore_index=True))


def test_sliding_windows_are_views():
    series = np.arange(20, dtype=np.float32)[:, None]
    past, future = sliding_windows(series, 4, 2)
    assert past.shape == (15, 4, 1) and future.shape == (15, 2, 1)
    assert np.shares_memory(past, series) and np.shares_memory(future, series)
    assert future[3, 0, 0] == past[3, -1, 0] + 1


def test_windows_never_cross_series_and_match_a_naive_enumeration():
    panel = panel_of({"a": 10, "b": 3, "c": 12})  # 'b' is too short for any window
    windows = make_windows(panel, lookback=4, horizon=2, stride=1)
    assert len(windows) == (10 - 6 + 1) + 0 + (12 - 6 + 1)
    batch = windows.gather(np.arange(len(windows)))
    full = torch.cat([batch.past_target, batch.target], dim=1)[..., 0].numpy()  # (B, L + H)
    naive = [
        panel.target[s : s + 6]
        for k in range(panel.n_series)
        for s in range(panel.offsets[k], panel.offsets[k + 1] - 5)
    ]
    np.testing.assert_array_equal(full, np.stack(naive))
    series_of_value = (full // 1000).astype(int)
    assert (series_of_value == series_of_value[:, :1]).all()  # one series per window
    assert set(batch.series.tolist()) == {0, 2}


def test_stride_and_windows_share_memory_with_the_panel():
    panel = panel_of({"a": 50})
    scaled = panel.target.astype(np.float32)  # networks read a float32 (scaled) target
    windows = make_windows(panel, 8, 4, stride=5, target=scaled)
    assert len(windows) == (50 - 12) // 5 + 1
    assert windows.target.data_ptr() == torch.from_numpy(scaled).data_ptr()
    _, start = windows.locate(np.array([0, 1, 7]))
    assert start.tolist() == [0, 5, 35]


def test_covariates_past_only_over_lookback_future_over_whole_window():
    panel = panel_of({"a": 30})
    rows = np.arange(30, dtype=np.float32)
    windows = make_windows(
        panel, 5, 3, past_covariates=rows[:, None], future_covariates=np.stack([rows, -rows], 1)
    )
    batch = windows.gather(np.array([4]))
    assert batch.past_covariates.shape == (1, 5, 1)
    assert batch.past_covariates[0, :, 0].tolist() == [4, 5, 6, 7, 8]
    assert batch.future_covariates.shape == (1, 8, 2)
    assert batch.future_covariates[0, :, 0].tolist() == list(range(4, 12))


def test_window_errors_are_readable():
    panel = panel_of({"a": 10})
    with pytest.raises(ValueError, match="lookback must be a positive integer"):
        make_windows(panel, 0, 2)
    with pytest.raises(ValueError, match="lookback \\+ horizon = 15"):
        make_windows(panel, 10, 5)
    with pytest.raises(ValueError, match="target has 3 rows but the panel has 10"):
        make_windows(panel, 2, 2, target=np.zeros(3))


def test_loader_covers_every_window_once_per_epoch_and_reshuffles():
    panel = panel_of({"a": 40, "b": 25})
    windows = make_windows(panel, 4, 2)
    loader = WindowLoader(windows, 7, shuffle=True, seed=1)
    epoch1 = torch.cat([b.start for b in loader]).tolist()
    epoch2 = torch.cat([b.start for b in loader]).tolist()
    assert sorted(epoch1) == sorted(epoch2) and len(epoch1) == len(windows)
    assert len(set(epoch1)) == len(windows)
    assert epoch1 != epoch2
    loader.set_epoch(0)
    assert torch.cat([b.start for b in loader]).tolist() == epoch1  # reproducible after resume
    train, val = make_loaders(windows, windows, batch_size=8, seed=0)
    assert len(train) == -(-len(windows) // 8)
    assert torch.cat([b.start for b in val]).tolist() == sorted(epoch1)


def test_ett_split_borders_overlap_by_lookback():
    panel = panel_of({"a": 15000, "b": 15000})
    split = standard_split(panel, "ett", lookback=96)
    assert split.train[1].tolist() == [15000, 15000 + 8640]
    assert split.val[0].tolist() == [8640 - 96, 11520]
    assert split.test[0].tolist() == [11520 - 96, 14400]
    test = make_windows(panel, 96, 96, bounds=split.test)
    assert len(test) == 2 * (2880 - 96 + 1)
    first = test.gather(np.array([0]))
    assert first.target[0, 0, 0] == 11520  # first forecast step is the first test row


def test_fraction_split_matches_tslib_convention():
    panel = panel_of({"a": 1000})
    split = split_by_fraction(panel, 24, (0.7, 0.1, 0.2))
    assert split.train[0].tolist() == [0, 700]
    assert split.val[0].tolist() == [676, 800]
    assert split.test[0].tolist() == [776, 1000]
    with pytest.raises(ValueError, match="summing to 1"):
        split_by_fraction(panel, 24, (0.5, 0.1, 0.1))


def test_time_split_per_series():
    panel = panel_of({"a": 100, "b": 50})
    split = split_by_time(panel, 10, "2024-01-02 12:00", "2024-01-03 00:00")
    assert split.train[0].tolist() == [0, 36]
    assert split.val[1].tolist() == [100 + 26, 100 + 48]
    assert split.test[1].tolist() == [100 + 38, 150]


def test_row_split_rejects_short_series():
    with pytest.raises(ValueError, match="has 100 rows but the split needs 14400"):
        split_by_rows(panel_of({"a": 100}), 10)


def test_wide_to_long_keeps_channel_order_and_values():
    from tsattn.data import wide_to_long

    wide = pd.DataFrame(
        {"date": ["2024-01-01", "2024-01-02"], "HUFL": [1.0, 2.0], "OT": [5.0, 6.0]}
    )
    long = wide_to_long(wide, time_col="date")
    assert list(long.columns) == ["unique_id", "ds", "y"]
    assert long["unique_id"].tolist() == ["HUFL", "HUFL", "OT", "OT"]
    assert long["y"].tolist() == [1.0, 2.0, 5.0, 6.0]
    assert check_panel(long).n_series == 2
    with pytest.raises(ValueError, match="time column 'ds' not in the wide frame"):
        wide_to_long(wide, time_col="ds")
