"""Stages report themselves: a spinner while they run, a line for each one over a second."""

from __future__ import annotations

import time

import pytest
from typer.testing import CliRunner

from jointrec import progress
from jointrec.cli.app import app
from jointrec.progress import stage
from jointrec.testing import write_tiny_ml100k


def test_a_long_stage_leaves_a_line_with_its_seconds(capsys, monkeypatch):
    monkeypatch.setattr(progress, "STAGE_LINE_SECONDS", 0.05)
    with stage("reading the data"):
        time.sleep(0.1)
    with stage("a quick one"):
        pass
    err = capsys.readouterr().err
    assert "reading the data ... 0.1 s" in err
    assert "a quick one ..." not in err


def test_a_disabled_stage_prints_nothing(capsys):
    with stage("reading the data", enabled=False):
        time.sleep(0.01)
    assert capsys.readouterr().err == ""


def test_a_failing_stage_lets_its_error_through(capsys):
    with pytest.raises(ValueError, match="bad"), stage("splitting"):
        raise ValueError("bad")


def test_train_reports_every_stage_unless_quiet(tmp_path, monkeypatch):
    monkeypatch.setattr(progress, "STAGE_LINE_SECONDS", 0.0)
    data = write_tiny_ml100k(tmp_path / "ml-100k.zip", users=8, items=10)
    runner = CliRunner()
    args = ["train", "--data", str(data), "--epochs", "1", "--batch-size", "8", "--no-checkpoint"]
    shown = runner.invoke(app, [*args, "--out", str(tmp_path / "a")])
    assert shown.exit_code == 0, shown.output
    for name in (
        "reading the data ...",
        "splitting and encoding ...",
        "building features and the model ...",
        "evaluating joint on test ...",
    ):
        assert name in shown.stderr
    quiet = runner.invoke(app, [*args, "--out", str(tmp_path / "b"), "--quiet"])
    assert quiet.exit_code == 0, quiet.output
    assert " ... " not in quiet.stderr
    evaluated = runner.invoke(app, ["evaluate", str(tmp_path / "a")])
    assert evaluated.exit_code == 0, evaluated.output
    assert "evaluating on test ..." in evaluated.stderr
