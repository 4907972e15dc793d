"""A Keras layer of your own as a tower: same training, evaluation, artifact and serving."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np
import pytest

import jointrec
from jointrec.errors import JointrecError
from jointrec.testing import checkerboard

keras = pytest.importorskip("keras")


@keras.saving.register_keras_serializable(package="tests")
class ScaledTower(keras.layers.Layer):
    """An id embedding times a learned scalar: the smallest tower that is not jointrec's."""

    def __init__(self, vocabulary_size: int, embedding_dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.embedding_dim = int(embedding_dim)
        self.embedding = keras.layers.Embedding(self.vocabulary_size, self.embedding_dim)

    def build(self, input_shape: Any) -> None:
        self.embedding.build(input_shape)
        self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        self.built = True

    def call(self, ids: Any) -> Any:
        return self.embedding(ids) * self.scale

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return (*tuple(input_shape), self.embedding_dim)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
        }


class Unregistered(keras.layers.Layer):
    def __init__(self, size: int, dim: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.embedding = keras.layers.Embedding(size, dim)

    def call(self, ids: Any) -> Any:
        return self.embedding(ids)


SETTINGS = jointrec.preset("tutorial").replace(
    train={"epochs": 3, "batch_size": 64, "learning_rate": 0.5}
)


def test_own_tower_trains_saves_loads_and_serves(tmp_path):
    result = jointrec.train(
        SETTINGS,
        checkerboard(12),
        out=tmp_path / "run",
        progress=False,
        user_tower=lambda size, dim: ScaledTower(size, dim, name="query_tower"),
    )
    model = result.trained.model
    assert type(model.query_tower) is ScaledTower
    scale = float(keras.ops.convert_to_numpy(model.query_tower.scale))
    assert scale != 1.0  # the tower's own weight trained
    art = jointrec.load_artifact(result.artifact)
    loaded = art.keras_model()
    assert type(loaded.query_tower) is ScaledTower
    users = np.arange(1, 5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(loaded.query_tower(users)),
        art.exported.user_embeddings[users],
        rtol=1e-5,
    )
    served = jointrec.Recommender.load(result.artifact).recommend(2, k=3)
    assert served.source == "model" and len(served.items) == 3
    assert jointrec.evaluate(result.artifact, checkerboard(12)) == pytest.approx(result.report)


def test_a_layer_instance_works_too():
    tower = ScaledTower(13, 32, name="candidate_tower")  # checkerboard(12): 12 items + unknown
    result = jointrec.train(SETTINGS, checkerboard(12), progress=False, item_tower=tower)
    assert result.trained.model.candidate_tower is tower and result.artifact is None


def test_unserializable_or_mismatched_towers_are_one_clear_error():
    with pytest.raises(
        JointrecError,
        match=r"user tower Unregistered cannot be saved .*"
        r"register_keras_serializable",
    ):
        jointrec.train(SETTINGS, checkerboard(12), progress=False, user_tower=Unregistered)
    with pytest.raises(JointrecError, match="width 8 and the item tower of width 32"):
        jointrec.train(
            SETTINGS,
            checkerboard(12),
            progress=False,
            user_tower=lambda size, dim: ScaledTower(size, 8),
        )
    with pytest.raises(JointrecError, match="is not a Keras layer"):
        jointrec.train(SETTINGS, checkerboard(12), progress=False, item_tower=lambda s, d: 3)


def test_a_saved_model_with_an_own_tower_loads_in_a_fresh_process(tmp_path):
    """The class registered by the user's module, imported before loading, is all it takes."""
    result = jointrec.train(
        SETTINGS,
        checkerboard(12),
        out=tmp_path / "run",
        progress=False,
        user_tower=lambda size, dim: ScaledTower(size, dim, name="query_tower"),
    )
    code = (
        f"import sys; sys.path.insert(0, {str(__file__.rsplit('/', 1)[0])!r})\n"
        "import jointrec, test_custom_tower\n"
        f"m = jointrec.load_artifact({str(result.artifact)!r}).keras_model()\n"
        "print(type(m.query_tower).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-1500:]
    assert out.stdout.strip() == "ScaledTower"
