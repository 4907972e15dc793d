"""``jointrec index`` and ``jointrec serve`` through the CLI runner."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from jointrec.cli.app import app


@pytest.fixture
def artifact(tmp_path):
    from jointrec.testing.artifacts import planted_artifact

    return planted_artifact(tmp_path / "art", items=200)


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_index_ann_builds_and_prints_recall(artifact):
    result = run("index", artifact, "--ann", "--m", "8", "-q")
    assert result.exit_code == 0, result.output
    assert "recall@10 = " in result.output and "against exact search over 30 users" in result.output
    report = json.loads((artifact / "ann" / "report.json").read_text())
    assert report["recall"] >= 0.9 and report["items"] == 200
    shown = run("index", artifact, "--json")
    assert json.loads(shown.output)["recall"] == report["recall"]


def test_index_without_ann_shows_what_is_built(artifact):
    """As its help says: without --ann it shows the index in use, and exits 0."""
    result = run("index", artifact)
    assert result.exit_code == 0, result.output
    assert "exact search over" in result.output
    assert f"build one with 'jointrec index {artifact} --ann'" in result.output


def test_serve_rejects_bad_input_in_one_line(artifact, tmp_path):
    missing = run("serve", tmp_path / "nothing")
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert len(missing.output.strip().splitlines()) == 1
    bad_index = run("serve", artifact, "--index", "fast")
    assert bad_index.exit_code == 1 and "--index 'fast' is invalid" in bad_index.output
    shutil.rmtree(artifact / "ann", ignore_errors=True)
    no_ann = run("serve", artifact, "--index", "hnsw")
    assert no_ann.exit_code == 1 and "has no HNSW index" in no_ann.output
