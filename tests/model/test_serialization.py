"""Every Keras object: JSON config round-trip and save/load with equal outputs."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from jointrec.model import (
    EmbeddingTower,
    RatingHead,
    RatingTask,
    RemoveAccidentalHits,
    RetrievalTask,
)
from jointrec.model.build import build_model
from jointrec.model.joint_model import JointModel
from jointrec.settings import ModelConfig


def as_json(config: dict) -> str:
    return json.dumps(config, sort_keys=True)


LAYERS = [
    EmbeddingTower(vocabulary_size=7, embedding_dim=3),
    RatingHead(layer_sizes=(8, 4), num_users=5, num_items=6, global_mean=0.4),
    RatingHead(layer_sizes=(8,)),
    RatingHead(layer_sizes=(8,), dropout=0.25),
    RemoveAccidentalHits(mask_value=-1e6),
    RetrievalTask(
        temperature=0.2,
        reduction="sum",
        remove_accidental_hits=False,
        l2_normalize=True,
        min_positive_label=0.75,
    ),
    RatingTask(),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: type(layer).__name__)
def test_config_json_round_trip(layer):
    config = layer.get_config()
    restored = type(layer).from_config(json.loads(json.dumps(config)))
    assert as_json(restored.get_config()) == as_json(config)


def test_model_config_json_round_trip():
    model = build_model(
        ModelConfig(
            towers={"embedding_dim": 4},
            retrieval={"l2_normalize": True, "temperature": 0.3},
            rating={"layer_sizes": (8,), "biases": True},
        ),
        5,
        6,
        seed=0,
    )
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(model)))
    restored = keras.saving.deserialize_keras_object(config)
    assert isinstance(restored, JointModel)
    assert as_json(restored.get_config()) == as_json(model.get_config())


@pytest.mark.parametrize("biases", [False, True])
def test_model_save_load_gives_equal_outputs(tmp_path, biases):
    model = build_model(
        ModelConfig(towers={"embedding_dim": 4}, rating={"layer_sizes": (8,), "biases": biases}),
        5,
        6,
        seed=0,
    )
    inputs = {"user": np.array([0, 1, 4]), "item": np.array([5, 2, 0])}
    before = {k: np.asarray(v) for k, v in model(inputs).items()}
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    after = {k: np.asarray(v) for k, v in loaded(inputs).items()}
    for key in before:
        np.testing.assert_allclose(after[key], before[key], rtol=1e-6)
    assert loaded.retrieval_task.temperature == model.retrieval_task.temperature


def test_standalone_layers_save_load_give_equal_outputs(tmp_path):
    ids = np.array([0, 3, 6])
    tower = EmbeddingTower(vocabulary_size=7, embedding_dim=3)
    head = RatingHead(layer_sizes=(8,), num_users=7, num_items=7, global_mean=0.3)
    inputs = keras.Input(shape=(), dtype="int32")
    vectors = tower(inputs)
    outputs = head(vectors, vectors, inputs, inputs)
    functional = keras.Model(inputs, outputs)
    before = np.asarray(functional(ids))
    functional.save(tmp_path / "f.keras")
    after = np.asarray(keras.saving.load_model(tmp_path / "f.keras", safe_mode=True)(ids))
    np.testing.assert_allclose(after, before, rtol=1e-6)
