"""Trainer: learning, early stopping, determinism, device errors, SIGKILL + resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from tsattn.data import check_panel, make_loaders, make_windows, split_by_fraction
from tsattn.models import build_model
from tsattn.train import Trainer, _ema, pinball_loss, resolve_device


def loaders(n: int = 400, lookback: int = 24, horizon: int = 6, batch_size: int = 32):
    t = np.arange(n)
    df = pd.DataFrame(
        {
            "unique_id": np.repeat(["a", "b"], n),
            "ds": np.tile(t, 2),
            "y": np.concatenate([np.sin(2 * np.pi * t / 12), 2 + np.cos(2 * np.pi * t / 8)]),
        }
    )
    panel = check_panel(df)
    split = split_by_fraction(panel, lookback, (0.7, 0.15, 0.15))
    train = make_windows(panel, lookback, horizon, bounds=split.train)
    val = make_windows(panel, lookback, horizon, bounds=split.val)
    return make_loaders(train, val, batch_size=batch_size, seed=0)


def net(name: str = "linear", **kwargs):
    torch.manual_seed(0)
    return build_model(name, lookback=24, horizon=6, **kwargs)


def test_training_reduces_validation_loss_and_restores_best_weights():
    train, val = loaders()
    model = net("lstm", dropout=0.0, hidden_size=16)
    before = Trainer(verbose=0).evaluate(model, val, torch.device("cpu"))
    history = Trainer(
        max_epochs=8, learning_rate=3e-3, verbose=0, random_state=0, device="cpu"
    ).fit(model, train, val)
    assert history.best_val_loss < 0.25 * before
    assert Trainer(verbose=0).evaluate(model, val) == pytest.approx(history.best_val_loss, rel=1e-5)
    assert history.windows_per_second > 0 and history.device == "cpu"


def test_limits_stop_training():
    train, val = loaders()
    history = Trainer(max_epochs=50, max_steps=7, verbose=0).fit(net(), train, val)
    assert history.steps == 7 and "max_steps" in history.stop_reason
    history = Trainer(
        max_epochs=1000, learning_rate=0.0, min_lr_ratio=0.0, patience=2, verbose=0
    ).fit(net(), train, val)
    assert len(history.epochs) == 3 and "no improvement" in history.stop_reason
    history = Trainer(max_epochs=10_000, time_budget=0.5, patience=None, verbose=0).fit(
        net(), train, val
    )
    assert "time budget" in history.stop_reason


@pytest.mark.parametrize("name", ["lstm", "attention_lstm", "transformer", "linear"])
def test_same_seed_gives_bit_identical_weights_on_cpu(name):
    states = []
    for _ in range(2):
        train, val = loaders()
        model = net(name, dropout=0.2, hidden_size=16)
        Trainer(max_epochs=2, random_state=3, verbose=0, device="cpu").fit(model, train, val)
        states.append(model.state_dict())
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key


def test_quantile_loss_and_callbacks():
    train, val = loaders()
    seen = []
    trainer = Trainer(
        max_epochs=2,
        loss="quantile",
        quantiles=[0.1, 0.5, 0.9],
        verbose=0,
        callbacks=[lambda e, m: seen.append((e, m))],
    )
    trainer.fit(net(n_quantiles=3), train, val)
    assert [e for e, _ in seen] == [0, 1] and {
        "train_loss",
        "val_loss",
        "lr",
        "windows_per_s",
    } <= set(seen[0][1])
    pred, target = torch.zeros(1, 1, 2), torch.ones(1, 1, 1)
    assert pinball_loss(pred, target, torch.tensor([0.1, 0.9])).item() == pytest.approx(
        (0.1 + 0.9) / 2
    )


def test_ema_is_the_bias_corrected_average_of_every_step():
    rng = np.random.default_rng(0)
    steps = [torch.tensor(rng.normal(size=3), dtype=torch.float32) for _ in range(6)]
    averaged, index = [steps[0].clone()], [torch.tensor([7])]  # a float tensor and an index
    update = _ema(0.9)
    for k, w in enumerate(steps[1:], start=1):
        update(averaged, [w], torch.tensor(k))  # torch passes one device and dtype at a time
        update(index, [torch.tensor([k])], torch.tensor(k))
    weights = 0.9 ** np.arange(5, -1, -1)  # decay**(k - i) for the k = 6 weights seen
    expected = (weights[:, None] * torch.stack(steps).numpy()).sum(0) / weights.sum()
    np.testing.assert_allclose(averaged[0].numpy(), expected, rtol=1e-5)
    assert index[0].item() == 5  # copied, not averaged


@pytest.mark.parametrize("name", ["lstm", "attention_lstm"])  # the latter has index buffers
def test_ema_weights_are_validated_kept_and_returned(name):
    train, val = loaders()
    plain, averaged = net(name, hidden_size=16), net(name, hidden_size=16)
    kwargs = dict(max_epochs=3, learning_rate=3e-3, random_state=0, verbose=0, device="cpu")
    Trainer(**kwargs).fit(plain, train, val)
    history = Trainer(ema_epochs=1.0, **kwargs).fit(averaged, train, val)
    # the epochs' val losses are those of the average, and the best of them is what remains
    assert Trainer(verbose=0).evaluate(averaged, val) == pytest.approx(
        history.best_val_loss, rel=1e-5
    )
    pairs = zip(plain.parameters(), averaged.parameters(), strict=True)
    assert not all(torch.equal(a, b) for a, b in pairs)
    last = net(name, hidden_size=16)
    history = Trainer(ema_epochs=1.0, restore_best=False, **kwargs).fit(last, train, val)
    assert Trainer(verbose=0).evaluate(last, val) == pytest.approx(
        history.epochs[-1]["val_loss"], rel=1e-5
    )


def test_bad_settings_and_devices_are_clear_errors():
    for epochs in (0, -1.0):
        with pytest.raises(ValueError, match="ema_epochs must be a positive number of epochs"):
            Trainer(ema_epochs=epochs)
    with pytest.raises(ValueError, match="loss='huberr' is unknown"):
        Trainer(loss="huberr")
    with pytest.raises(ValueError, match="needs quantiles"):
        Trainer(loss="quantile")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        Trainer(loss="quantile", quantiles=[0.5, 1.0])
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ValueError, match="not a torch device"):
        resolve_device("gpu0")
    assert resolve_device("auto").type in {"cpu", "cuda", "mps"}


JOB = textwrap.dedent(
    """
    import sys, time, torch
    from torch import nn
    sys.path.insert(0, {tests!r})
    from test_train import loaders, net
    from tsattn.train import Trainer

    class Slow(nn.Module):  # makes an epoch long enough to be killed in the middle of it
        def __init__(self):
            super().__init__()
            self.inner = net("lstm", dropout=0.3, hidden_size=16)
        def forward(self, *args):
            time.sleep({delay})
            return self.inner(*args)

    train, val = loaders()
    model = Slow()
    Trainer(max_epochs=4, random_state=0, patience=None, verbose=0, checkpoint_dir={ckpt!r}, ema_epochs={ema}).fit(model, train, val)
    torch.save(model.state_dict(), {ckpt!r} + "/final.pt")
    """
)


def run_job(ckpt, delay: float, ema: float | None = None) -> subprocess.Popen:
    code = JOB.format(tests=os.path.dirname(__file__), ckpt=str(ckpt), delay=delay, ema=ema)
    return subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)


@pytest.mark.parametrize("ema", [None, 1.0])
def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_run(tmp_path, ema):
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    assert run_job(reference, 0.0, ema).wait(timeout=120) == 0
    job = run_job(resumed, 0.02, ema)
    deadline = time.time() + 120
    while not (resumed / "last.pt").exists():  # epoch 0 finished and was checkpointed
        assert job.poll() is None and time.time() < deadline
        time.sleep(0.05)
    time.sleep(0.3)  # well inside epoch 1 (an epoch takes ~0.5 s at this delay)
    job.send_signal(signal.SIGKILL)
    assert job.wait(timeout=30) == -signal.SIGKILL
    assert not (resumed / "final.pt").exists()
    state = torch.load(resumed / "last.pt", weights_only=True)
    assert state["epoch"] < 3  # killed before the end
    resume = run_job(resumed, 0.0, ema)
    assert resume.wait(timeout=120) == 0, resume.stderr.read().decode()
    a = torch.load(reference / "final.pt", weights_only=True)
    b = torch.load(resumed / "final.pt", weights_only=True)
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    (tmp_path / "last.pt").write_bytes(b"not a checkpoint")
    train, val = loaders()
    with pytest.raises(ValueError, match="cannot be read safely"):
        Trainer(max_epochs=1, verbose=0, checkpoint_dir=tmp_path).fit(net(), train, val)


def test_validation_windows_capped_to_the_same_evenly_spread_subset_every_epoch():
    train, val = loaders()  # series 'a' and 'b': 55 validation windows each
    _, capped = make_loaders(train.windows, val.windows, batch_size=8, max_val_windows=20)
    epochs = [torch.cat([b.start for b in capped]) for _ in range(2)]
    assert capped.size == 20 and torch.equal(epochs[0], epochs[1])
    series = torch.cat([b.series for b in capped])
    assert torch.bincount(series).tolist() == [10, 10]  # shares follow the window counts
    starts = epochs[0][series == 0].numpy()
    assert len(set(starts)) == 10 and np.ptp(starts) >= 45  # spread over the whole part
    _, every = make_loaders(train.windows, val.windows, batch_size=8, max_val_windows=1000)
    assert every.size == len(val.windows)
    history = Trainer(max_epochs=1, verbose=0).fit(net(), train, capped)
    assert history.val_windows == 20 and history.monitor == "val_loss"
    with pytest.raises(ValueError, match="max_val_windows must be a positive integer"):
        make_loaders(train.windows, val.windows, max_val_windows=0)


def test_early_stopping_without_validation_warns_and_says_what_it_monitors():
    train, _ = loaders()
    with pytest.warns(UserWarning, match=r"no validation windows: early stopping \(patience=2\)"):
        history = Trainer(max_epochs=2, patience=2, verbose=0).fit(net(), train, None)
    assert history.monitor == "train_loss"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Trainer(max_epochs=1, patience=None, verbose=0).fit(net(), train, None)


def test_restore_best_false_keeps_the_last_weights():
    train, val = loaders()
    model = net()
    history = Trainer(max_epochs=3, restore_best=False, random_state=0, verbose=0).fit(
        model, train, val
    )
    last = Trainer(verbose=0).evaluate(model, val)
    assert last == pytest.approx(history.epochs[-1]["val_loss"], rel=1e-5)


def test_verbosity_shows_a_bar_and_epoch_lines_and_never_leaks_into_the_next_fit(capfd, caplog):
    import logging

    train, val = loaders()
    with caplog.at_level(logging.INFO, logger="tsattn"):  # the application's logging (pytest's)
        Trainer(max_epochs=2, verbose=1, random_state=0).fit(net(), train, val)
    lines = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("epoch 0: train_loss") for m in lines)
    assert any(m.startswith("epoch 1: train_loss") for m in lines)
    err = capfd.readouterr().err
    assert "step" in err and "epoch 1 train" in err  # the tqdm bar, with the losses
    caplog.clear()
    Trainer(max_epochs=2, verbose=0, random_state=0).fit(net(), train, val)
    assert capfd.readouterr().err == ""
    assert not [r for r in caplog.records if r.getMessage().startswith("epoch")]
    Trainer(max_epochs=2, verbose=None, random_state=0).fit(net(), train, val)
    assert capfd.readouterr().err == ""  # no terminal here: no bar
    assert logging.getLogger("tsattn").handlers == []


def test_verbose_lines_reach_stderr_without_logging_set_up_and_not_after():
    script = textwrap.dedent(
        """
        import numpy as np, pandas as pd, tsattn
        df = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=300, freq="h"),
                           "y": np.sin(np.arange(300) / 4)})
        tsattn.LinearForecaster(horizon=6, lookback=24, max_epochs=2, verbose=1, refit_with_val=False).fit(df)
        print("--- quiet now ---", flush=True)
        tsattn.LinearForecaster(horizon=6, lookback=24, max_epochs=2, verbose=0, refit_with_val=False).fit(df)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    device = resolve_device("auto")  # cuda, bf16 on a GPU machine
    assert "epoch 0: train_loss" in done.stderr and f"training on {device}" in done.stderr
    assert done.stderr.count("epoch 1: train_loss") == 1  # nothing from the verbose=0 fit


def test_a_progress_bar_in_a_terminal_by_default(in_terminal):
    script = textwrap.dedent(
        """
        import numpy as np, pandas as pd, tsattn
        df = pd.DataFrame({"ds": pd.date_range("2024-01-01", periods=300, freq="h"),
                           "y": np.sin(np.arange(300) / 4)})
        tsattn.LinearForecaster(horizon=6, lookback=24, max_epochs=2).fit(df)
        """
    )
    text = in_terminal(script)
    assert "fit:" in text and "step/s" in text, text[-500:]
