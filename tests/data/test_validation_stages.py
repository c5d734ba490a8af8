"""Each stage of check_panel on its own, through a small Rows object."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsattn.data.panel import COUNTS, ValidationReport
from tsattn.data.validation import (
    Rows,
    check_grid,
    drop_duplicates,
    drop_short_series,
    fill_missing,
    keep_longest_span,
    mask_out_of_bounds,
    read_rows,
    require_length,
    resolve_freq,
    sort_rows,
)

HOUR = 3600 * 10**9


def rows(codes, hours, target, ids=("a", "b"), **covariates) -> Rows:
    return Rows(
        ids=np.array(ids, dtype=object),
        codes=np.asarray(codes, dtype=np.int64),
        time=np.asarray(hours, dtype=np.int64) * HOUR,
        target=np.asarray(target, dtype=np.float64),
        covariates={k: np.asarray(v, dtype=np.float64) for k, v in covariates.items()},
        is_datetime=True,
        tz=None,
    )


def report(ids=("a", "b")) -> ValidationReport:
    counts = pd.DataFrame(0, index=pd.Index(list(ids)), columns=list(COUNTS), dtype=np.int64)
    return ValidationReport(counts=counts)


def test_read_rows_numbers_series_in_sorted_id_order_and_parses_time():
    frame = pd.DataFrame(
        {
            "unique_id": ["b", "a", "b"],
            "ds": ["2024-01-01 01:00", "2024-01-01", "2024-01-01"],
            "y": [1, 2, 3],
        }
    )
    r = read_rows(frame, "unique_id", "ds", "y", [])
    assert list(r.ids) == ["a", "b"] and r.codes.tolist() == [1, 0, 1]
    assert (
        (r.time - r.time[1]).tolist() == [HOUR, 0, 0]
        and r.is_datetime
        and r.target.dtype == np.float64
    )


def test_sort_rows_counts_rows_that_moved():
    rep = report()
    r = sort_rows(rows([1, 0, 0], [0, 1, 0], [3.0, 2.0, 1.0]), rep)
    assert r.codes.tolist() == [0, 0, 1] and r.target.tolist() == [1.0, 2.0, 3.0]
    assert rep.counts["reordered"].tolist() == [1, 1]  # rows 0 and 2 swapped places


@pytest.mark.parametrize(("policy", "kept"), [("first", 1.0), ("last", 2.0), ("mean", 1.5)])
def test_drop_duplicates_keeps_one_row_by_policy(policy, kept):
    rep = report()
    r = drop_duplicates(rows([0, 0, 1], [0, 0, 0], [1.0, 2.0, 9.0]), policy, rep, "unique_id")
    assert r.target.tolist() == [kept, 9.0]
    assert rep.counts["duplicates_removed"].tolist() == [1, 0]


def test_drop_duplicates_error_names_series_and_time():
    with pytest.raises(ValueError, match=r"first: series 'a' at 2024|first: series 'a' at 1970"):
        drop_duplicates(rows([0, 0], [0, 0], [1.0, 2.0]), "error", report(), "unique_id")


def test_mask_out_of_bounds_turns_values_missing_and_counts_them():
    rep = report()
    r = mask_out_of_bounds(
        rows([0, 0, 1], [0, 1, 0], [1.0, -5.0, 900.0]), {"y": (0, 100)}, "y", rep
    )
    assert np.isnan(r.target[[1, 2]]).all() and r.target[0] == 1.0
    assert rep.counts["out_of_bounds"].tolist() == [1, 1]


def test_resolve_freq_infers_one_step_and_rejects_disagreeing_series():
    assert resolve_freq(rows([0, 0, 1, 1], [0, 1, 0, 1], [0.0] * 4), None) == (HOUR, "h")
    with pytest.raises(ValueError, match="different frequencies"):
        resolve_freq(rows([0, 0, 1, 1], [0, 1, 0, 2], [0.0] * 4), None)
    assert resolve_freq(rows([0], [0], [0.0], ids=("a",)), "D")[1] == "D"


def test_keep_longest_span_trims_around_a_long_gap():
    rep = report(("a",))
    r = rows([0] * 5, [0, 1, 10, 11, 12], [1.0] * 5, ids=("a",))
    kept = keep_longest_span(r, 2, (HOUR, "h"), rep)
    assert (kept.time // HOUR).tolist() == [10, 11, 12]
    assert rep.counts["rows_trimmed"].tolist() == [2]


def test_check_grid_counts_missing_and_reindexes():
    r = rows([0, 0, 0], [0, 1, 4], [1.0, 2.0, 5.0], ids=("a",))
    rep = report(("a",))
    same = check_grid(r, (HOUR, "h"), False, rep)
    assert same is r and rep.counts["missing_timestamps"].tolist() == [2]
    rep = report(("a",))
    filled = check_grid(r, (HOUR, "h"), True, rep)
    assert (filled.time // HOUR).tolist() == [0, 1, 2, 3, 4]
    assert np.isnan(filled.target[[2, 3]]).all() and rep.counts["rows_inserted"].tolist() == [2]
    with pytest.raises(ValueError, match="off its '2h' grid"):
        check_grid(
            rows([0, 0], [0, 1], [0.0, 0.0], ids=("a",)), (2 * HOUR, "2h"), False, report(("a",))
        )


def test_fill_missing_never_crosses_series_and_counts():
    rep = report()
    r = fill_missing(
        rows([0, 0, 1, 1], [0, 1, 0, 1], [1.0, np.nan, np.nan, 4.0]), "ffill", "y", rep
    )
    assert r.target.tolist() == [1.0, 1.0, 4.0, 4.0]
    assert rep.counts["target_filled"].tolist() == [1, 1]
    with pytest.raises(ValueError, match=r"1 NaN/inf value\(s\); first \(NaN\) in series 'a'"):
        fill_missing(rows([0, 0], [0, 1], [1.0, np.nan], ids=("a",)), None, "y", report(("a",)))


def test_drop_short_series_renumbers_the_rest():
    rep = report()
    r = drop_short_series(rows([0, 1, 1, 1], [0, 0, 1, 2], [1.0, 2.0, 3.0, 4.0]), 2, True, rep)
    assert list(r.ids) == ["b"] and r.codes.tolist() == [0, 0, 0]
    assert rep.counts["dropped"].tolist() == [True, False]
    assert rep.counts["rows_out"].tolist() == [0, 3]


def test_require_length_names_the_first_short_series():
    with pytest.raises(ValueError, match="series 'b' has 2 timesteps, 1 too few"):
        require_length(np.array(["a", "b"], dtype=object), np.array([5, 2]), 3)
