"""Artifacts: complete round trip, atomic writes, clear errors for partial or foreign ones."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jointrec.artifact.directory import FORMAT_VERSION, load_artifact
from jointrec.errors import JointrecError
from jointrec.experiments.train import train
from jointrec.settings import preset


@pytest.fixture(scope="module")
def artifact(tmp_path_factory, tiny_zip_module):
    out = tmp_path_factory.mktemp("art") / "joint"
    config = preset("default").replace(train={"epochs": 2, "batch_size": 8})
    result = train(config, data=tiny_zip_module, out=out, progress=False)
    return result


@pytest.fixture(scope="module")
def tiny_zip_module(tmp_path_factory):
    from jointrec.testing import write_tiny_ml100k

    return write_tiny_ml100k(tmp_path_factory.mktemp("data") / "ml-100k.zip")


def test_round_trip_restores_everything(artifact):
    art = load_artifact(artifact.artifact)
    assert art.config == artifact.trained.config
    assert art.metrics == pytest.approx(artifact.report)
    assert art.users == artifact.data.users and art.items == artifact.data.items
    users = np.arange(len(art.users))
    np.testing.assert_allclose(
        art.exported.score_users(users), artifact.trained.exported.score_users(users)
    )
    assert art.title(1).startswith("Movie 1")
    assert art.item_table[0]["genres"] and art.item_table[0]["year"] == 1991
    seen_user = int(artifact.data.train.user[0])
    assert set(art.seen.items_of(seen_user)) == set(
        artifact.data.train.item[artifact.data.train.user == seen_user]
    )
    keras_model = art.keras_model()
    out = keras_model({"user": np.array([1]), "item": np.array([2])})
    np.testing.assert_allclose(
        art.exported.predict_labels(np.array([1]), np.array([2])),
        np.asarray(out["rating"]),
        rtol=1e-5,
    )


def test_existing_artifact_is_not_overwritten_by_accident(artifact, tiny_zip_module):
    before = (artifact.artifact / "metrics.json").read_text()
    with pytest.raises(JointrecError, match="already holds a run: pass --overwrite"):
        train(preset("default"), data=tiny_zip_module, out=artifact.artifact, progress=False)
    assert (artifact.artifact / "metrics.json").read_text() == before


def test_partial_corrupt_and_newer_artifacts_fail_clearly(artifact, tmp_path):
    import shutil

    partial = tmp_path / "partial"
    shutil.copytree(artifact.artifact, partial)
    (partial / "vocab.json").unlink()
    with pytest.raises(JointrecError, match="incomplete: missing vocab.json"):
        load_artifact(partial)
    corrupt = tmp_path / "corrupt"
    shutil.copytree(artifact.artifact, corrupt)
    (corrupt / "config.json").write_text("{not json")
    with pytest.raises(JointrecError, match="config.json is corrupt"):
        load_artifact(corrupt)
    newer = tmp_path / "newer"
    shutil.copytree(artifact.artifact, newer)
    manifest = json.loads((newer / "artifact.json").read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    (newer / "artifact.json").write_text(json.dumps(manifest))
    with pytest.raises(JointrecError, match="upgrade jointrec"):
        load_artifact(newer)
    with pytest.raises(JointrecError, match="does not exist"):
        load_artifact(tmp_path / "nothing")
