"""DistributedDataParallel through torchrun: 2 CPU processes with gloo on loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, torch
    sys.path.insert(0, {tests!r})
    from test_train import loaders, net
    from tsattn.train import Trainer

    world = int(os.environ.get("WORLD_SIZE", "1"))
    torch.set_num_threads(1)
    train, val = loaders(batch_size=32 // world)  # same global batch of 32 windows
    model = net("lstm", dropout=0.0, hidden_size=16)
    history = Trainer(max_epochs=3, random_state=0, patience=None, verbose=0).fit(model, train, val)
    if int(os.environ.get("RANK", "0")) == 0:
        with open({out!r}, "w") as f:
            json.dump({{"val": [e["val_loss"] for e in history.epochs], "steps": history.steps,
                        "windows": len(val.windows)}}, f)
    if torch.distributed.is_initialized():  # leave together: a rank exiting early aborts gloo
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    """
)


#: What a rank prints when it is aborted during interpreter exit (a gloo teardown race).
TEARDOWN_CRASH = "terminate called without an active exception"


def run(tmp_path: Path, nproc: int) -> dict:
    out = tmp_path / f"result_{nproc}.json"
    script = tmp_path / f"job_{nproc}.py"
    script.write_text(SCRIPT.format(tests=str(Path(__file__).parent), out=str(out)))
    cmd = [sys.executable, str(script)]
    if nproc > 1:
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            str(script),
        ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    if done.returncode != 0 and nproc > 1 and TEARDOWN_CRASH in done.stderr:
        # gloo sometimes aborts a rank while the process exits, after destroy_process_group
        # (seen once in ~10 CI runs, not reproducible here): run once more before failing
        out.unlink(missing_ok=True)
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    if done.returncode != 0:
        pytest.fail(f"{nproc}-process run failed:\n{done.stderr[-3000:]}")
    return json.loads(out.read_text())


def test_two_gloo_processes_match_one_process(tmp_path):
    single, ddp = run(tmp_path, 1), run(tmp_path, 2)
    assert ddp["steps"] == single["steps"]
    # Each step averages gradients over exactly the same 32 windows (rank r takes every 2nd
    # window of the shared permutation), so only float summation order differs: the validation
    # losses agreed to ~1e-8 relative when measured; 1e-5 leaves room for reduction-order noise.
    for a, b in zip(single["val"], ddp["val"], strict=True):
        assert b == pytest.approx(a, rel=1e-5)
