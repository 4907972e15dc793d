"""Every Keras object jointrec saves loads in a fresh interpreter after only ``import jointrec``
(then Keras), and `load_artifact(...).keras_model()` needs no other import: one subprocess
per saved class. Before, loading worked only if the right modules happened to be imported
first ("Could not locate class 'FeatureTower'")."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import jointrec
from jointrec.settings import preset

keras = pytest.importorskip("keras")

SRC = Path(__file__).resolve().parents[2] / "src"


def fresh(code: str) -> str:
    """Runs ``code`` in a new interpreter (the package from ``src``), returns its stdout."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(SRC), "PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def _objects() -> dict[str, object]:
    from jointrec.model import (
        EmbeddingTower,
        FeatureTower,
        HostUniform,
        RatingHead,
        RatingTask,
        RemoveAccidentalHits,
        RetrievalTask,
    )

    layout = {"genre": {"kind": "multi_categorical", "input_dim": 5, "width": 2}}
    return {
        "EmbeddingTower": EmbeddingTower(6, 4),
        "FeatureTower": FeatureTower(vocabulary_size=3, embedding_dim=4, features=layout),
        "RatingHead": RatingHead((8,), num_users=4, num_items=5, global_mean=0.6),
        "RetrievalTask": RetrievalTask(temperature=0.2, l2_normalize=True),
        "RatingTask": RatingTask(),
        "RemoveAccidentalHits": RemoveAccidentalHits(),
        "HostUniform": HostUniform(-0.1, 0.1, seed=3),
    }


@pytest.mark.parametrize("name", sorted(_objects()))
def test_each_class_deserializes_in_a_fresh_interpreter(tmp_path, name):
    config = keras.saving.serialize_keras_object(_objects()[name])
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config))
    code = (
        "import json, jointrec, keras\n"
        f"obj = keras.saving.deserialize_keras_object(json.load(open({str(path)!r})))\n"
        "print(type(obj).__name__, obj.get_config() if hasattr(obj, 'get_config') else '')\n"
    )
    printed = fresh(code)
    assert printed.split(" ", 1)[0] == name


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    """A default-preset run (feature towers, a biased head) on a shop with feature tables."""
    from jointrec.settings import DataConfig
    from jointrec.testing import write_shop

    root = tmp_path_factory.mktemp("fresh")
    files = write_shop(root / "shop", users=20, items=12, per_user=5)
    data = DataConfig(
        interactions=str(files["events"]),
        rating_col="stars",
        user_features=str(files["users"]),
        item_features=str(files["items"]),
    )
    config = preset("default").replace(train={"epochs": 1, "batch_size": 32})
    jointrec.train(config, data, out=root / "run", progress=False)
    return root / "run"


def test_model_keras_loads_with_keras_after_import_jointrec(artifact):
    code = (
        "import jointrec, keras\n"
        f"m = keras.saving.load_model({str(artifact / 'model.keras')!r})\n"
        "print(type(m).__name__, type(m.query_tower).__name__, type(m.rating_head).__name__)\n"
    )
    assert fresh(code).split() == ["JointModel", "FeatureTower", "RatingHead"]


def test_load_artifact_keras_model_needs_no_other_import(artifact):
    code = (
        "from jointrec import load_artifact\n"
        f"m = load_artifact({str(artifact)!r}).keras_model()\n"
        "import numpy as np\n"
        "out = m({'user': np.array([1, 2]), 'item': np.array([3, 4])})\n"
        "print(type(m).__name__, tuple(out['rating'].shape))\n"
    )
    assert fresh(code) == "JointModel (2,)"


def test_import_jointrec_stays_light():
    code = (
        "import sys, jointrec\n"
        "print(sorted(m for m in ('keras', 'jax', 'tensorflow') if m in sys.modules))\n"
    )
    assert fresh(code) == "[]"


def test_an_unregistered_class_is_named_not_called_corrupt(artifact, tmp_path):
    """A model.keras naming a class nobody registered (say, a tower of yours whose module
    was not imported) says which class is missing, instead of calling the file corrupt."""
    import hashlib
    import shutil
    import zipfile

    from jointrec.errors import JointrecError

    broken = tmp_path / "run"
    shutil.copytree(artifact, broken)
    model_file = broken / "model.keras"
    with zipfile.ZipFile(model_file) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    parts["config.json"] = parts["config.json"].replace(b"FeatureTower", b"MyTower")
    with zipfile.ZipFile(model_file, "w") as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    meta = json.loads((broken / "artifact.json").read_text())
    meta["files"]["model.keras"] = hashlib.sha256(model_file.read_bytes()).hexdigest()
    (broken / "artifact.json").write_text(json.dumps(meta))
    with pytest.raises(JointrecError, match=r"uses the Keras class .*MyTower.*import the module"):
        jointrec.load_artifact(broken).keras_model()
