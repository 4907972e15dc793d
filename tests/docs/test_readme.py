"""The README's Python example runs as written (on a small MovieLens-layout archive in place
of ml-100k.zip), in a fresh interpreter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from jointrec.testing import write_tiny_ml100k

ROOT = Path(__file__).resolve().parents[2]


def python_block(section: str) -> str:
    """The first ```python block after the ``## section`` heading of the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = text.index(f"## {section}\n")
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match, f"no python block under '## {section}'"
    return match.group(1)


@pytest.mark.slow
@pytest.mark.e2e
def test_the_python_api_example_runs(tmp_path):
    write_tiny_ml100k(tmp_path / "ml-100k.zip", users=30, items=200)
    code = python_block("Python API")
    assert "from jointrec import" in code and "ml-100k.zip" in code
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        env=env,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert (tmp_path / "runs/joint/manifest.toml").is_file()
    assert len(out.stdout.splitlines()) >= 2 + 10  # two report lines, ten recommendations
