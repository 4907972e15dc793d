"""examples/custom_tower.py runs end to end on a tiny MovieLens-layout archive."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jointrec.testing import write_tiny_ml100k

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.e2e
def test_custom_tower_example(tmp_path):
    archive = write_tiny_ml100k(tmp_path / "ml-100k.zip", users=12, items=16)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/custom_tower.py"),
            "--data",
            str(archive),
            "--out",
            str(tmp_path / "run"),
            "--epochs",
            "2",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0].startswith("item tower MLPTower: Recall@10 ")
    assert lines[2] == "model.keras loads with its MLPTower item tower"
    assert sum(line.startswith("  user 5 -> ") for line in lines) == 5
    assert (tmp_path / "run/manifest.toml").is_file()
