"""The CLI in-process (typer CliRunner) and once end to end in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from jointrec.cli.app import app
from jointrec.testing import write_tiny_ml100k

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return write_tiny_ml100k(tmp_path_factory.mktemp("cli") / "ml-100k.zip", users=8, items=10)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, data) -> Path:
    out = tmp_path_factory.mktemp("cli-art") / "joint"
    result = invoke(
        "train", "--data", data, "--out", out, "--epochs", "2", "--batch-size", "8", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["artifact"] == str(out)
    return out


def test_train_writes_an_artifact(artifact):
    assert {"artifact.json", "model.keras", "exported.npz", "metrics.json"} <= {
        p.name for p in artifact.iterdir()
    }


def test_evaluate_reproduces_the_saved_report(artifact):
    result = invoke("evaluate", artifact, "--json")
    assert result.exit_code == 0, result.output
    saved = json.loads((artifact / "metrics.json").read_text())
    assert json.loads(result.stdout) == pytest.approx(saved)


def test_recommend_excludes_rated_items_and_shows_stars(artifact, data):
    result = invoke("recommend", artifact, "--user", "1", "-k", "3", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    recs = payload["recommendations"]
    assert len(recs) == 3
    rated = {
        int(line.split("\t")[1])
        for line in zipfile.ZipFile(data).read("ml-100k/u.data").decode().splitlines()
        if line.split("\t")[0] == "1"
    }
    train_rated = {h["item_id"] for h in payload["top_rated"]}
    assert train_rated <= rated
    assert not {r["item_id"] for r in recs} & train_rated
    assert all(1.0 <= r["predicted_rating"] <= 5.0 for r in recs)
    table = invoke("recommend", artifact, "--user", "1", "-k", "2")
    assert "Recommendations for user 1" in table.stdout and "top-rated" in table.stdout


def test_compare_runs_three_models(data, tmp_path):
    result = invoke("compare", "--data", data, "--epochs", "1", "--json", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    names = [m["name"] for m in json.loads(result.stdout)["models"]]
    assert names == ["rating-specialised", "retrieval-specialised", "multi-task"]
    assert (tmp_path / "compare.png").stat().st_size > 1000


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("recommend", "{artifact}", "--user", "999"), 1, "unknown user id 999"),
        (("recommend", "{artifact}", "--user", "abc"), 1, "'abc' is not an integer"),
        (
            ("recommend", "{artifact}", "--user", "1", "-k", "0"),
            2,
            "'-k' / '--k': Input should be greater than or equal to 1 (got '0')",
        ),
        (("recommend", "/no/such/artifact", "--user", "1"), 1, "does not exist"),
        (("train", "--data", "/no/such.zip", "--out", "{tmp}/x"), 1, "does not exist"),
        (("train", "--data", "{corrupt}", "--out", "{tmp}/x"), 1, "not a valid zip"),
        (("train", "--preset", "fancy", "--out", "{tmp}/x"), 1, "unknown preset 'fancy'"),
        (
            ("train", "--optimizer", "lbfgs", "--out", "{tmp}/x"),
            1,
            "optimizer = 'lbfgs' is invalid",
        ),
        (("compare", "--epochs", "0"), 2, "'--epochs': Input should be greater than or equal to 1"),
        (("recommend", "{artifact}"), 2, "Missing option '--user'"),
        (("nonsense",), 2, "No such command"),
    ],
)
def test_bad_input_gives_one_line_error(artifact, tmp_path, args, code, message):
    corrupt = tmp_path / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04garbage")
    args = [a.format(artifact=artifact, tmp=tmp_path, corrupt=corrupt) for a in args]
    result = invoke(*args)
    assert result.exit_code == code
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error") and message in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.e2e
def test_end_to_end_subprocess(artifact):
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "jointrec",
            "recommend",
            str(artifact),
            "--user",
            "2",
            "-k",
            "2",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    assert len(json.loads(ok.stdout)["recommendations"]) == 2
    bad = subprocess.run(
        [sys.executable, "-m", "jointrec", "recommend", str(artifact), "--user", "424242"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "error: unknown user id 424242: expected one of the 8 known ids (e.g. 1, 2, 3)"
    ]


def test_a_time_cut_gives_newcomers_the_prior_and_evaluate_agrees(tmp_path):
    # tiny MovieLens rates user by user in time order, so the latest users have no training
    # rating: the artifact carries their popularity prior, and `evaluate` scores the saved
    # artifact exactly as training did
    from jointrec.scoring.exported import ExportedModel

    data = write_tiny_ml100k(tmp_path / "ml-100k.zip", users=12, items=15)
    out = tmp_path / "run"
    result = invoke("train", "--data", data, "--out", out, "--epochs", "2", "--batch-size",
                    "16", "--split", "temporal", "--json")  # fmt: skip
    assert result.exit_code == 0, result.output
    exported = ExportedModel.load(out / "exported.npz")
    assert exported.has_prior
    assert sorted(set(exported.user_prior.tolist())) == [0.0, 3.0]  # the default weight
    train = json.loads((out / "config.json").read_text())["data"]["train"]
    recent = train - round(train * 0.9)  # popularity of the latest 10% of training rows
    assert np.expm1(exported.item_prior).sum() == pytest.approx(recent)
    again = invoke("evaluate", out, "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == pytest.approx(json.loads((out / "metrics.json").read_text()))


def test_recent_popularity_for_everyone_applies_on_splits_by_time_only(tmp_path):
    from jointrec.scoring.exported import ExportedModel

    data = write_tiny_ml100k(tmp_path / "ml-100k.zip", users=12, items=15)
    config = tmp_path / "exp.toml"
    config.write_text("[model.retrieval]\nrecent_popularity = 2.0\n")
    weights = {}
    for split in ("temporal", "random"):
        out = tmp_path / split
        result = invoke("train", "--data", data, "--config", config, "--out", out, "--epochs",
                        "1", "--batch-size", "16", "--split", split, "--json")  # fmt: skip
        assert result.exit_code == 0, result.output
        exported = ExportedModel.load(out / "exported.npz")
        weights[split] = set(exported.user_prior.tolist()) if exported.has_prior else set()
    assert weights["temporal"] == {0.0, 2.0, 3.0}  # unknown index, with a history, newcomers
    assert 2.0 not in weights["random"]  # a random split has no order in time
