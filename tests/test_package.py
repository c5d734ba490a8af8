"""Package-level contracts: light import, console script."""

from __future__ import annotations

import subprocess
import sys


def test_import_tsattn_does_not_load_optuna_or_mlflow():
    code = (
        "import sys, tsattn, tsattn.data, tsattn.metrics, tsattn.baselines; "
        "heavy = [m for m in ('optuna', 'mlflow', 'statsmodels', 'matplotlib', 'exchange_calendars') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_cli_help_and_unknown_dataset_error():
    help_text = subprocess.run(
        [sys.executable, "-m", "tsattn.cli", "demo", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "--datasets" in help_text
    bad = subprocess.run(
        [sys.executable, "-m", "tsattn.cli", "demo", "--datasets", "nope"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
    assert "nope" in bad.stderr
