"""Saving and loading: round trips, and every damaged or mismatched file is a one-line error."""

from __future__ import annotations

import hashlib
import json
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import tsattn
from tsattn import neural, persistence, statistical

#: Marks a config entry to delete in :func:`edit`.
DELETE = object()
DAMAGED = "damaged or was edited"


def sine_frame(n: int = 200) -> pd.DataFrame:
    t = np.arange(n)
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": pd.date_range("2024-01-01", periods=n, freq="h"),
                    "y": k + np.sin(t / 4),
                    "temp": np.cos(t / 6),
                }
            )
            for k, uid in enumerate(["a", "b"])
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def linear():
    return neural.LinearForecaster(horizon=4, lookback=16, max_epochs=1).fit(sine_frame())


@pytest.fixture(scope="module")
def naive():
    return statistical.NaiveForecaster(horizon=4, lookback=16).fit(sine_frame())


@pytest.fixture
def saved_linear(linear, tmp_path) -> Path:
    return linear.save(tmp_path / "linear")


@pytest.fixture
def saved_naive(naive, tmp_path) -> Path:
    return naive.save(tmp_path / "naive")


def edit(model: Path, changes: dict[str, Any]) -> None:
    """Set (or DELETE) config entries named by '/'-separated paths, e.g. 'network/params/horizon'."""
    file = model / "config.json"
    config = json.loads(file.read_text())
    for key, value in changes.items():
        *parents, last = key.split("/")
        node = config
        for name in parents:
            node = node[name]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    file.write_text(json.dumps(config))


def rehash(model: Path, name: str) -> None:
    """Record the current sha256 of ``name``, as someone fixing the checksum would."""
    edit(model, {f"files/{name}": hashlib.sha256((model / name).read_bytes()).hexdigest()})


#: Damages the command line is tried with: the message expected, and the config changes.
CLI_DAMAGES = {
    "nested": ("nested too deeply", {"x": "[" * 100_000 + "]" * 100_000}),
    "no-files": (DAMAGED, {"files": DELETE}),
    "steps": ("'seasonal.weight'", {"params/horizon": 8, "network/params/horizon": 8}),
}


def damage(model: Path, changes: dict[str, Any]) -> None:
    """Apply ``changes``; a value written as raw JSON text for the key ``x`` (deep nesting)."""
    raw = changes.pop("x", None)
    edit(model, changes)
    if raw is not None:
        file = model / "config.json"
        file.write_text(file.read_text()[:-1] + f', "x": {raw}}}')


# -- round trips ----------------------------------------------------------------------------------
def test_save_load_identical_and_safe(tmp_path):
    est = neural.TransformerForecaster(horizon=4, lookback=24, max_epochs=1, hidden_size=16)
    est.fit(sine_frame(), past_covariates=["temp"])
    est.save(tmp_path / "m")
    again = tsattn.load(tmp_path / "m")
    pd.testing.assert_frame_equal(est.predict(), again.predict())
    assert again.get_params() == est.get_params()

    weights = tmp_path / "m" / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="does not match the sha256"):
        tsattn.load(tmp_path / "m")


def test_tampered_history_is_detected_by_its_sha256(saved_naive):
    history = saved_naive / "history.safetensors"
    data = bytearray(history.read_bytes())
    data[-3] ^= 0xFF
    history.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"history\.safetensors does not match the sha256"):
        tsattn.load(saved_naive)


def test_seasonal_naive_with_a_lookback_shorter_than_the_season_round_trips(tmp_path):
    est = statistical.SeasonalNaiveForecaster(horizon=4, season_length=24, lookback=10)
    est.fit(sine_frame()).save(tmp_path / "m")
    pd.testing.assert_frame_equal(est.predict(), tsattn.load(tmp_path / "m").predict())


class _Payload:
    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(_Payload.target),))


def test_a_pickle_planted_as_weights_is_never_executed(saved_linear, tmp_path):
    _Payload.target = str(tmp_path / "pwned")
    weights = saved_linear / "weights.safetensors"
    weights.write_bytes(pickle.dumps({"weight": _Payload()}))
    rehash(saved_linear, "weights.safetensors")  # an attacker fixes the checksum too
    with pytest.raises(ValueError, match="does not fit the saved network"):
        tsattn.load(saved_linear)
    assert not (tmp_path / "pwned").exists()
    edit(saved_linear, {"class": "os.system"})
    with pytest.raises(ValueError, match="not one of"):
        tsattn.load(saved_linear)


def test_incompatible_format_version_is_a_clear_error(saved_naive):
    edit(saved_naive, {"format_version": 99})
    with pytest.raises(ValueError, match="format version 99"):
        tsattn.load(saved_naive)


# -- 1. checksums are mandatory ---------------------------------------------------------------
@pytest.mark.parametrize(
    "changes",
    [
        {"files": DELETE},
        {"files/weights.safetensors": DELETE},
        {"files/history.safetensors": DELETE},
        {"files/weights.safetensors": "0" * 63},
        {"files/weights.safetensors": "g" * 64},
        {"files/weights.safetensors": None},
        {"files": ["weights.safetensors", "history.safetensors"]},
        {"files/notes.txt": "0" * 64},
    ],
    ids=["no-files", "no-weights", "no-history", "short", "not-hex", "null", "list", "extra"],
)
def test_checksums_are_mandatory(saved_linear, changes):
    edit(saved_linear, changes)
    with pytest.raises(
        ValueError, match=rf"must record the sha256 of .*; the saved model is {DAMAGED}"
    ):
        tsattn.load(saved_linear)


def test_a_statistical_model_needs_the_history_checksum(saved_naive):
    edit(saved_naive, {"files": {}})
    with pytest.raises(ValueError, match=r"must record the sha256 of \['history.safetensors'\]"):
        tsattn.load(saved_naive)


# -- 2. the config must match the weights and the history ---------------------------------------
def test_steps_that_disagree_with_the_weights_are_reported_by_tensor(saved_linear):
    edit(saved_linear, {"params/horizon": 8, "network/params/horizon": 8})
    with pytest.raises(
        ValueError,
        match=r"network \(lookback=16, horizon=8\) does not match weights.safetensors: "
        r"'seasonal.weight' is \(4, 16\) in the weights but \(8, 16\) for the config; "
        "the files come from different models",
    ):
        tsattn.load(saved_linear)


@pytest.mark.parametrize("key", ["params/horizon", "network/params/horizon", "params/lookback"])
def test_forecaster_and_network_steps_must_agree(saved_linear, key):
    edit(saved_linear, {key: 8})
    with pytest.raises(ValueError, match=r"for the forecaster but \w+=\d+ for its network"):
        tsattn.load(saved_linear)


def test_a_network_option_the_weights_do_not_have_is_named(saved_linear):
    edit(saved_linear, {"network/params/n_static": 2})
    with pytest.raises(
        ValueError, match=r"'covariates.weight' is \(4, 200\) in the weights but \(4, 202\)"
    ):
        tsattn.load(saved_linear)


def test_a_network_that_cannot_be_built_is_a_clear_error(saved_linear):
    edit(saved_linear, {"network/params/colour": "red"})
    with pytest.raises(
        ValueError, match=r"config.json's network 'linear' cannot be built \(.*'colour'\)"
    ):
        tsattn.load(saved_linear)


def test_quantile_levels_must_match_the_network_outputs(saved_linear):
    edit(saved_linear, {"params/quantiles": [0.1, 0.9]})
    with pytest.raises(
        ValueError,
        match=r"n_quantiles=1 does not belong to LinearForecaster\(quantiles=\[0.1, 0.9\]\)",
    ):
        tsattn.load(saved_linear)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"history/ids": ["a", "b", "c"]}, "do not split its 32 rows into the 3 series"),
        ({"history/ids": ["a"]}, "do not split its 32 rows into the 1 series"),
        ({"history/covariates": ["temp", "wind"]}, r"needs \['covariate_0', 'covariate_1'"),
    ],
    ids=["more-ids", "fewer-ids", "more-covariates"],
)
def test_history_must_fit_the_config(saved_linear, changes, match):
    edit(saved_linear, changes)
    with pytest.raises(ValueError, match=match):
        tsattn.load(saved_linear)


def test_history_shorter_than_the_lookback_is_a_clear_error(saved_naive):
    edit(saved_naive, {"params/lookback": 50})
    with pytest.raises(
        ValueError,
        match=r"keeps 16 rows of series 'a' but NaiveForecaster needs 50 to forecast",
    ):
        tsattn.load(saved_naive)


def test_history_from_another_model_is_a_clear_error(saved_naive):
    donor = saved_naive.parent / "donor"
    statistical.NaiveForecaster(horizon=4, lookback=16).fit(sine_frame()[:100]).save(donor)
    (saved_naive / "history.safetensors").write_bytes((donor / "history.safetensors").read_bytes())
    edit(saved_naive, {"history/ids": ["a", "b"]})
    rehash(saved_naive, "history.safetensors")
    with pytest.raises(ValueError, match="do not split its 16 rows into the 2 series"):
        tsattn.load(saved_naive)


# -- 3. sizes -----------------------------------------------------------------------------------
def test_huge_steps_fail_before_any_network_is_built(saved_linear, monkeypatch):
    def no_real_network(*args, **kwargs):
        raise AssertionError("a real network was built before the config was checked")

    monkeypatch.setattr(neural, "build_model", no_real_network)
    steps = {"params/lookback": 8000, "params/horizon": 8000}
    edit(saved_linear, {**steps, "network/params/lookback": 8000, "network/params/horizon": 8000})
    with pytest.raises(
        ValueError, match=r"'seasonal.weight' is \(4, 16\) in the weights but \(8000, 8000\)"
    ):
        tsattn.load(saved_linear)


@pytest.mark.parametrize("value", [0, -3, 2.5, "16", True, None, 10**12])
def test_steps_must_be_positive_integers_within_bounds(saved_linear, value):
    edit(saved_linear, {"params/lookback": value, "network/params/lookback": value})
    with pytest.raises(ValueError, match=r"lookback=.*; expected an integer from 1 to 1000000"):
        tsattn.load(saved_linear)


def test_network_sizes_are_bounded(saved_linear):
    edit(saved_linear, {"network/params/kernel_size": 10**9})
    with pytest.raises(ValueError, match=r"kernel_size=1000000000; expected an integer from 0"):
        tsattn.load(saved_linear)


def test_an_oversized_config_is_not_read(saved_naive, monkeypatch):
    monkeypatch.setattr(persistence, "MAX_CONFIG_BYTES", 100)
    with pytest.raises(ValueError, match=r"config.json has \d+ bytes, over the 100 bytes"):
        tsattn.load(saved_naive)


# -- 4. structure -------------------------------------------------------------------------------
def test_a_deeply_nested_config_is_a_clear_error(saved_naive):
    damage(saved_naive, dict(CLI_DAMAGES["nested"][1]))
    with pytest.raises(
        ValueError, match=r"config.json is not a valid tsattn config: nested too deeply"
    ):
        tsattn.load(saved_naive)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"history": []}, "'history' is a list; expected an object"),
        ({"scaler": DELETE}, "'scaler' is missing"),
        ({"freq": 1.5}, "'freq' is a number; expected a string or an integer"),
        ({"params": [4, 16]}, "'params' is a list; expected an object"),
        ({"columns": DELETE}, "'columns' is missing"),
        ({"columns/past": "temp"}, "'columns/past' is a string; expected a list"),
        ({"history/ids": {"a": 1}}, "'history/ids' is an object; expected a list"),
        ({"time_is_datetime": "yes"}, "'time_is_datetime' is a string; expected a boolean"),
        ({"network/params": None}, "'network/params' is null; expected an object"),
        ({"network/name": 3}, "'network/name' is an integer; expected a string"),
    ],
    ids=[
        "history",
        "scaler",
        "freq",
        "params",
        "columns",
        "past",
        "ids",
        "datetime",
        "network-params",
        "name",
    ],
)
def test_config_fields_have_the_right_types(saved_linear, changes, match):
    edit(saved_linear, changes)
    with pytest.raises(ValueError, match=f"config.json is not a valid tsattn config: {match}"):
        tsattn.load(saved_linear)


def test_a_config_that_is_not_json_is_a_clear_error(saved_naive):
    (saved_naive / "config.json").write_bytes(b"\xff\xfe{")
    with pytest.raises(ValueError, match="is not valid JSON"):
        tsattn.load(saved_naive)


# -- 5. the command line --------------------------------------------------------------------------
@pytest.mark.parametrize("case", CLI_DAMAGES)
def test_the_cli_reports_a_damaged_model_in_one_line(saved_linear, tmp_path, capsys, case):
    from tsattn.cli import main

    message, changes = CLI_DAMAGES[case]
    damage(saved_linear, dict(changes))
    args = ["predict", "--model-dir", str(saved_linear), "--out", str(tmp_path / "f.csv")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("tsattn predict: error: ") and err.count("\n") == 1 and message in err


def test_the_console_script_exits_2_without_a_traceback(saved_linear, tmp_path):
    damage(saved_linear, dict(CLI_DAMAGES["nested"][1]))  # was a RecursionError, exit 1
    args = ["predict", "--model-dir", str(saved_linear), "--out", str(tmp_path / "f.csv")]
    done = subprocess.run(
        [sys.executable, "-m", "tsattn.cli", *args], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "nested too deeply" in done.stderr, done.stderr
