"""Files written by jointrec 0.1 (tests/fixtures/v0_1, made with git 4729ecb) still read:
artifacts (their flat settings, ``manifest.json`` and ``model.keras``), run manifests and
experiment files with a flat ``[model]`` table."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import jointrec
from jointrec.settings import resolve_experiment
from jointrec.testing import write_shop, write_tiny_ml100k

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "v0_1"


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    root = tmp_path / "v0_1"
    shutil.copytree(FIXTURES, root)
    write_tiny_ml100k(root / "ml-100k.zip", users=12, items=16)
    write_shop(root / "shop", users=20, items=12, per_user=5)
    return root


def test_a_0_1_artifact_loads_serves_and_evaluates_to_its_own_report(legacy):
    run = legacy / "movielens-run"
    art = jointrec.load_artifact(run)
    assert art.config.model.retrieval.mask_seen == "all"  # 0.1's flat exclude_seen
    assert art.config.model.towers.embedding_dim == 8
    assert art.config.model.retrieval.negatives == "full"
    assert type(art.keras_model()).__name__ == "JointModel"
    served = jointrec.Recommender.load(run).recommend(3, k=4)
    assert served.source == "model" and len(served.items) == 4
    saved = json.loads((run / "metrics.json").read_text())
    again = jointrec.evaluate(run, legacy / "ml-100k.zip")
    assert again == pytest.approx(saved, rel=1e-6)


def test_a_0_1_run_on_your_own_files_evaluates_once_they_are_found(legacy):
    run = legacy / "shop-run"
    saved = json.loads((run / "metrics.json").read_text())
    moved = jointrec.DataConfig(
        interactions=str(legacy / "shop" / "events.csv"), rating_col="stars"
    )
    assert jointrec.evaluate(run, moved) == pytest.approx(saved, rel=1e-6)


def test_0_1_manifests_and_experiment_files_resolve_to_the_same_settings(legacy):
    art = jointrec.load_artifact(legacy / "shop-run")
    from_manifest = resolve_experiment(legacy / "shop-run" / "manifest.toml")
    assert from_manifest.run == art.config
    assert from_manifest.provenance["metrics"]
    experiment = resolve_experiment(legacy / "exp.toml")
    model = experiment.run.model
    assert model.retrieval.mask_seen == "positives"
    assert model.retrieval.min_rating == 3.0
    assert model.rating.layer_sizes == (16,)
    assert model.towers.embedding_dim == 8
    assert experiment.data.interactions == str((legacy / "shop" / "events.csv").resolve())


def test_a_0_1_model_keras_loads_in_a_fresh_interpreter_after_import_jointrec(legacy):
    code = (
        "import jointrec, keras\n"
        f"m = keras.saving.load_model({str(legacy / 'shop-run' / 'model.keras')!r})\n"
        "print(type(m).__name__, type(m.query_tower).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-1500:]
    assert out.stdout.split() == ["JointModel", "FeatureTower"]
