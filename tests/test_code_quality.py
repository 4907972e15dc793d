"""The code stays lint-clean, formatted and type-checked, and its docstring examples run:
the checks the developers' guide asks for before every stop, run by CI like any other test
(versions pinned in the ``test`` extra so a new release cannot fail CI on its own)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["src", "tests", "benchmarks", "examples"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def test_ruff_lint_is_clean():
    result = _run("ruff", "check", *PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_is_clean():
    result = _run("ruff", "format", "--check", *PATHS)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_mypy_is_clean():
    result = _run("mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_docstring_examples_run():
    # Every module's Google-style example is a doctest: an example that drifts from the
    # code fails here (three had, unnoticed, before this test).
    result = _run("pytest", "-q", "-p", "no:cacheprovider", "--doctest-modules", "src/jointrec")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
