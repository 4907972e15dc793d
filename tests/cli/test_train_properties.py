"""A property test: ``jointrec train`` with random settings, in and out of range, on tiny
data either succeeds or fails with one ``error:`` line (no traceback), and touches no file
outside ``--out`` either way."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from jointrec.cli.app import app
from jointrec.testing import write_tiny_ml100k

FLAGS = {
    "--epochs": st.sampled_from(["-1", "0", "1", "2", "1.5", "x"]),
    "--batch-size": st.sampled_from(["-5", "0", "1", "2", "16", "64", "100000000", "y"]),
    "--learning-rate": st.sampled_from(
        ["-1", "0", "1e-4", "0.01", "1", "99", "1e3", "1e30", "inf", "-inf", "nan", "z"]
    ),
    "--optimizer": st.sampled_from(["adam", "adagrad", "sgd", "rmsprop", "lbfgs", ""]),
    "--embedding-dim": st.sampled_from(["-1", "0", "1", "4", "8", "640000"]),
    "--retrieval-weight": st.sampled_from(["-1", "0", "1", "20", "inf", "nan"]),
    "--rating-weight": st.sampled_from(["-1", "0", "1", "20", "1e300", "inf", "nan"]),
    "--seed": st.sampled_from(["-1", "0", "7", "4294967295", "4294967296", "2e9"]),
    "--preset": st.sampled_from(["default", "tutorial", "fancy"]),
}


def snapshot(root: Path, skip: set[str]) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (but the ``skip`` names at its top) with size and mtime."""
    out = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if rel.parts[0] in skip or not path.is_file():
            continue
        stat = path.stat()
        out[rel.as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return out


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(chosen=st.fixed_dictionaries({}, optional=FLAGS))
def test_random_settings_succeed_or_fail_with_one_line(tmp_path, monkeypatch, chosen):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(
        "JOINTREC_DATA_DIR", str(tmp_path / "cache")
    )  # caches are not files of yours
    archive = tmp_path / "ml-100k.zip"
    if not archive.exists():
        write_tiny_ml100k(archive, users=12, items=16)
        (tmp_path / "notes.txt").write_text("mine")
    before = snapshot(tmp_path, {"cache", "run"})
    args = ["train", "--data", str(archive), "--out", "run", "--overwrite", "--quiet"]
    for flag, value in chosen.items():
        args += [flag, value]
    if "--epochs" not in chosen:
        args += ["--epochs", "1"]
    result = CliRunner().invoke(app, args)
    assert "Traceback" not in result.output, result.output
    if result.exit_code != 0:
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, result.output)
        assert not (tmp_path / "run.checkpoints").exists(), args  # nothing left to block
    else:
        assert (tmp_path / "run" / "artifact.json").is_file()
        rmse = float(_metric(tmp_path / "run", "rmse"))
        assert math.isfinite(rmse) or rmse != rmse  # reported, possibly absent (NaN)
    assert snapshot(tmp_path, {"cache", "run"}) == before, args
    assert not list(tmp_path.glob(".run.lock*")), args


def _metric(run: Path, name: str) -> float:
    import json

    return json.loads((run / "metrics.json").read_text()).get(name, float("nan"))
