"""The examples/ script runs end to end on a small CSV made here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jointrec.testing import write_shop

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.e2e
def test_train_on_your_csv_example(tmp_path):
    events = write_shop(tmp_path, users=40, items=20, per_user=6)["events"]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/train_on_your_csv.py"),
            str(events),
            "--rating-col",
            "stars",
            "--out",
            str(tmp_path / "runs"),
            "--epochs",
            "3",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [line for line in result.stdout.splitlines() if not line.startswith("note: ")]
    assert lines[0] == "240 interactions, 40 users, 20 items"
    assert lines[1].startswith("Recall@10 ") and "RMSE" in lines[1]
    assert sum(line.startswith("  u000 -> ") for line in lines) == 5
    assert lines[-1].endswith("reproduces the metrics: True")
    assert (tmp_path / "runs/run/manifest.toml").is_file()
    assert (tmp_path / "runs/experiment.toml").is_file()
