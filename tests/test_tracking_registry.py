"""Registry aliases and backtest-driven promotion on real traffic data (I-94, hourly)."""

from __future__ import annotations

import pytest
import torch

import tsattn
from tsattn.cli import main
from tsattn.datasets import load
from tsattn.tracking import Tracker, log_model, promote, set_alias

HORIZON, WEEK = 24, 24 * 7


@pytest.fixture(scope="module")
def traffic():
    """The last year of I-94 traffic; the models train on all but its last week."""
    df = load("traffic").df[["unique_id", "ds", "y"]]
    year = df.iloc[-24 * 365 :].reset_index(drop=True)
    return year.iloc[:-WEEK], year


@pytest.fixture(scope="module")
def registry(tmp_path_factory, traffic):
    """'traffic' v1 seasonal naive (champion), v2 DLinear (challenger), v3 naive."""
    train, _ = traffic
    store = Tracker(tmp_path_factory.mktemp("registry") / "store", experiment="registry")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        models = [
            tsattn.SeasonalNaiveForecaster(horizon=HORIZON),
            tsattn.LinearForecaster(horizon=HORIZON, lookback=336, max_epochs=10, random_state=0),
            tsattn.NaiveForecaster(horizon=HORIZON),
        ]
        for est in models:
            log_model(est.fit(train), "model", registered_model_name="traffic", tracking=store)
    finally:
        torch.set_num_threads(threads)
    return store


def tags(store: Tracker, version: int) -> dict:
    return store.connect().get_model_version("traffic", str(version)).tags


def aliases(store: Tracker) -> dict:
    return store.connect().get_registered_model("traffic").aliases


def test_promotion_moves_the_champion_only_for_a_better_challenger(registry, traffic):
    _, recent = traffic
    set_alias("traffic", "champion", 1, tracking=registry)
    set_alias("traffic", "challenger", 2, tracking=registry)
    result = promote("traffic", recent, n_windows=7, tracking=registry)
    assert result.promoted and int(aliases(registry)["champion"]) == 2
    # DLinear over two weeks of history beats repeating yesterday on a week of real traffic
    assert result.challenger_score < result.champion_score
    for version in (1, 2):
        on = tags(registry, version)
        assert on["promotion.champion_version"] == "1"
        assert on["promotion.challenger_version"] == "2"
        assert float(on["promotion.champion_score"]) == pytest.approx(result.champion_score, 1e-5)
        assert float(on["promotion.challenger_score"]) == pytest.approx(
            result.challenger_score, 1e-5
        )
        assert on["promotion.result"] == "promoted"
    assert float(tags(registry, 1)["backtest_mase"]) == pytest.approx(result.champion_score, 1e-5)
    assert float(tags(registry, 2)["backtest_mase"]) == pytest.approx(result.challenger_score, 1e-5)
    text = str(result)
    assert "champion: v1 -> v2" in text and "LinearForecaster" in text

    # a worse challenger (the naive forecast) does not move it
    set_alias("traffic", "challenger", 3, tracking=registry)
    worse = promote("traffic", recent, n_windows=7, tracking=registry)
    assert not worse.promoted and int(aliases(registry)["champion"]) == 2
    assert worse.challenger_score > worse.champion_score
    assert tags(registry, 3)["promotion.result"] == "kept champion"
    assert "champion stays v2" in str(worse)


def test_the_cli_exits_3_when_nothing_moved_if_asked(registry, traffic, tmp_path, capsys):
    _, recent = traffic
    data = tmp_path / "recent.csv"
    recent.to_csv(data, index=False)
    set_alias("traffic", "champion", 2, tracking=registry)
    set_alias("traffic", "challenger", 3, tracking=registry)
    args = ["promote", "traffic", "--data", str(data), "--tracking-uri", registry.uri]
    assert main([*args, "--windows", "2"]) == 0
    assert main([*args, "--windows", "2", "--fail-if-not-promoted"]) == 3
    out = capsys.readouterr().out
    assert "champion stays v2" in out and "NaiveForecaster" in out
    assert main([*args, "--challenger", "missing"]) == 2
    assert "has no alias 'missing'" in capsys.readouterr().err
    assert main([*args, "--metric", "r2"]) == 2


def test_a_first_challenger_becomes_champion(tmp_path, traffic):
    train, recent = traffic
    store = Tracker(tmp_path / "store")
    est = tsattn.SeasonalNaiveForecaster(horizon=HORIZON).fit(train)
    info = log_model(est, "model", registered_model_name="fresh", tracking=store)
    set_alias("fresh", "challenger", info.registered_model_version, tracking=store)
    result = promote("fresh", recent, tracking=store)
    assert result.promoted and result.champion_version is None
    assert store.connect().get_registered_model("fresh").aliases["champion"] == 1
    assert "first champion" in str(result)
    with pytest.raises(ValueError, match="are the same version"):
        promote("fresh", recent, tracking=store)


def test_fit_registers_from_the_command_line(tmp_path, capsys):
    df = load("traffic").df[["unique_id", "ds", "y"]].iloc[-24 * 30 :]
    data = tmp_path / "train.csv"
    df.to_csv(data, index=False)
    store = str(tmp_path / "store")
    code = main(
        [
            "fit",
            "--data",
            str(data),
            "--model",
            "seasonal_naive",
            "--horizon",
            "24",
            "--out",
            str(tmp_path / "model"),
            "--track",
            store,
            "--register",
            "cli-model",
            "--alias",
            "challenger",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "registered cli-model version 1" in out and "alias challenger" in out
    tracker = Tracker(store)
    (fit_run,) = [
        r
        for r in tracker.connect().search_runs([tracker.experiment_id])
        if r.data.tags.get("tsattn.kind") == "fit"
    ]
    assert fit_run.inputs.dataset_inputs[0].dataset.name == "train.csv"
    assert tracker.connect().get_registered_model("cli-model").aliases == {"challenger": 1}
