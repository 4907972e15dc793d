"""`jointrec sweep` and `jointrec compare --baselines`: frontier logic and the CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from jointrec.errors import JointrecError
from jointrec.experiments.sweep import Sweep, SweepPoint, parse_ratios
from jointrec.settings import RunConfig


def _point(ret, rat, rmse, recall, default=False):
    return SweepPoint(ret, rat, {"rmse": rmse, "recall@10": recall}, 1.0, is_default=default)


def test_parse_ratios_and_errors():
    assert parse_ratios("1:0,1:10, 0:1") == [(1.0, 0.0), (1.0, 10.0), (0.0, 1.0)]
    with pytest.raises(JointrecError, match="'1-10' is invalid"):
        parse_ratios("1-10")
    with pytest.raises(JointrecError, match="not both 0"):
        parse_ratios("0:0")


def test_frontier_keeps_only_non_dominated_points():
    result = Sweep(RunConfig(), "validation")
    result.points = [
        _point(1, 0, 1.10, 0.30),  # best recall: frontier
        _point(1, 1, 0.95, 0.28),  # frontier
        _point(1, 3, 0.96, 0.20),  # dominated by 1:1
        _point(0, 1, 0.93, 0.01),  # best RMSE: frontier
        SweepPoint(1, 9, {"recall@10": 0.5}, 1.0),  # no RMSE: not comparable
    ]
    assert [p.ratio for p in result.frontier()] == ["0:1", "1:1", "1:0"]
    assert result.to_dict()["frontier"] == ["0:1", "1:1", "1:0"]


@pytest.fixture
def small_zip(tmp_path):
    from jointrec.testing import write_tiny_ml100k

    return write_tiny_ml100k(tmp_path / "ml-100k.zip", users=40, items=30, seed=1)


@pytest.mark.slow
def test_sweep_cli_writes_table_json_and_plot(small_zip, tmp_path):
    from jointrec.cli.app import app

    out = tmp_path / "sweep"
    result = CliRunner().invoke(
        app,
        [
            "sweep",
            "--data",
            str(small_zip),
            "--epochs",
            "1",
            "--ratios",
            "1:0,0:1",
            "--out",
            str(out),
            "--quiet",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads((out / "sweep.json").read_text())
    ratios = [p["ratio"] for p in data["points"]]
    assert ratios[:2] == ["1:0", "0:1"] and len(ratios) == 3  # + the preset's own ratio
    assert sum(p["is_default"] for p in data["points"]) == 1
    assert data["split"] == "validation"
    assert (out / "sweep.png").stat().st_size > 1000
    assert "frontier" in result.output.lower() or "F" in result.output


def test_sweep_cli_rejects_bad_ratio(small_zip, tmp_path):
    from jointrec.cli.app import app

    result = CliRunner().invoke(
        app, ["sweep", "--data", str(small_zip), "--ratios", "x", "--out", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "error: ratio 'x' is invalid" in result.output


@pytest.mark.slow
def test_compare_with_baselines_puts_all_models_in_one_table(small_zip, tmp_path):
    from jointrec.cli.app import app

    result = CliRunner().invoke(
        app,
        ["compare", "--data", str(small_zip), "--epochs", "1", "--baselines", "--json"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    names = [m["name"] for m in data["models"]]
    assert names == [
        "rating-specialised",
        "retrieval-specialised",
        "multi-task",
        "popularity",
        "biased-mf",
        "ease",
        "ease-positive",
        "i-autorec",
    ]
    kinds = {m["name"]: m["kind"] for m in data["models"]}
    assert kinds["ease"] == "baseline" and kinds["multi-task"] == "jointrec"
    assert "rmse" in data["models"][4]["metrics"] and "rmse" not in data["models"][3]["metrics"]


@pytest.mark.slow
def test_default_preset_trains_saves_and_recommends_end_to_end(small_zip, tmp_path):
    """The default preset (features, history, full softmax) through train -> artifact ->
    recommend, and the saved Keras model reproduces the exported scores."""
    import numpy as np

    from jointrec.artifact.directory import load_artifact
    from jointrec.cli.app import app

    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["train", "--data", str(small_zip), "--epochs", "1", "--out", str(out), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    rec = CliRunner().invoke(
        app, ["recommend", str(out), "--user", "3", "-k", "3", "--candidates", "10"]
    )
    assert rec.exit_code == 0, rec.output
    art = load_artifact(out)
    model = art.keras_model()
    users = np.arange(1, len(art.users))
    import keras

    q = keras.ops.convert_to_numpy(model.query_tower(users))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    c = art.exported.item_vectors
    np.testing.assert_allclose(art.exported.score_users(users), q @ c.T, rtol=1e-4, atol=1e-5)
