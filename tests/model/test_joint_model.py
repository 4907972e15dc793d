"""The joint model with side features, full-softmax retrieval, seen-item exclusion and
uncertainty weighting: losses against NumPy references, export and save/load parity."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.artifact.export import export_model
from jointrec.data import FeatureTable, Vocabulary
from jointrec.features import FeatureEncoder, FeatureSpec
from jointrec.model.build import build_model
from jointrec.model.joint_model import JointModel
from jointrec.settings import ModelConfig

NUM_USERS, NUM_ITEMS = 6, 8


def _features():
    users = Vocabulary(np.arange(1, NUM_USERS))
    items = Vocabulary(np.arange(1, NUM_ITEMS))
    user_table = FeatureTable(
        ids=np.arange(1, NUM_USERS),
        columns={"job": np.array(["a", "b", "a", "c", "b"]), "age": np.arange(20.0, 70.0, 10)},
    )
    item_table = FeatureTable(
        ids=np.arange(1, NUM_ITEMS),
        columns={"genres": np.array(["x|y", "y", "z", "x", "x|z", "y|z", ""])},
    )
    u = FeatureEncoder(
        [FeatureSpec("job", "categorical"), FeatureSpec("age", "numeric")]
    ).fit_transform(user_table, np.arange(1, NUM_USERS), users)
    i = FeatureEncoder([FeatureSpec("genres", "multi_categorical", max_values=2)]).fit_transform(
        item_table, np.arange(1, NUM_ITEMS), items
    )
    return u, i


def _model(**config) -> JointModel:
    u, i = _features()
    cfg = ModelConfig.from_dict(
        {"embedding_dim": 4, "layer_sizes": (8,), "rating_biases": True, **config}
    )
    return build_model(cfg, NUM_USERS, NUM_ITEMS, seed=3, user_features=u, item_features=i)


def _np(x):
    import keras  # after jointrec, which selects the JAX backend

    return keras.ops.convert_to_numpy(x)


def test_full_softmax_loss_with_seen_exclusion_matches_reference():
    model = _model(negatives="full", exclude_seen="all", l2_normalize=True, temperature=0.5)
    seen_users, seen_items = np.array([1, 1, 2]), np.array([2, 3, 5])
    model.set_seen(seen_users, seen_items)
    users, items = np.array([1, 2, 4]), np.array([3, 1, 7])
    labels = np.array([1.0, 0.5, 0.75], dtype="float32")
    inputs = {"user": users, "item": items}
    losses = model.task_losses(inputs, model(inputs), labels)
    q = _np(model.query_tower(users))
    c = _np(model.candidate_tower(np.arange(NUM_ITEMS)))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    logits = q @ c.T / 0.5
    exclude = np.zeros((NUM_USERS, NUM_ITEMS), bool)
    exclude[seen_users, seen_items] = True
    exclude[:, 0] = True
    for row, (u, i) in enumerate(zip(users, items, strict=True)):
        mask = exclude[u].copy()
        mask[i] = False  # the row's own positive stays
        logits[row, mask] = -1e9
    pos = logits[np.arange(3), items]
    m = logits.max(axis=1)
    expected = np.mean(m + np.log(np.exp(logits - m[:, None]).sum(axis=1)) - pos)
    assert float(losses["retrieval"]) == pytest.approx(expected, rel=1e-4)
    rating = _np(model(inputs)["rating"])
    assert float(losses["rating"]) == pytest.approx(np.mean((rating - labels) ** 2), rel=1e-5)


def test_uncertainty_weighting_formula():
    model = _model(loss_weighting="uncertainty")
    model.log_variances.assign(np.array([0.5, -1.0], dtype="float32"))
    losses = {"retrieval": 2.0, "rating": 0.1}
    total = float(model.total_loss(losses, 1.0, 3.0))
    # w_ret (e^-s1 L1 + s1) + w_rat (e^-s2 L2 + s2)
    expected = (np.exp(-0.5) * 2.0 + 0.5) + 3.0 * (np.exp(1.0) * 0.1 - 1.0)
    assert total == pytest.approx(expected, rel=1e-5)
    assert float(_model().total_loss(losses, 1.0, 3.0)) == pytest.approx(2.3)


def test_exported_model_equals_keras_outputs_with_features():
    model = _model(negatives="full", l2_normalize=True)
    exported = export_model(model)
    users = np.array([0, 1, 2, 5, 3])
    items = np.array([7, 1, 0, 4, 6])
    keras_rating = _np(model({"user": users, "item": items})["rating"])
    np.testing.assert_allclose(
        exported.predict_labels(users, items), keras_rating, rtol=1e-5, atol=1e-6
    )
    q = _np(model.query_tower(users))
    c = _np(model.candidate_tower(np.arange(NUM_ITEMS)))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    np.testing.assert_allclose(exported.score_users(users), q @ c.T, rtol=1e-5, atol=1e-6)


def test_save_and_load_keep_features_seen_table_and_outputs(tmp_path):
    model = _model(
        negatives="full",
        exclude_seen="positives",
        learn_temperature=True,
        loss_weighting="uncertainty",
    )
    model.set_seen(np.array([1]), np.array([4]))
    import keras

    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    inputs = {"user": np.array([1, 4]), "item": np.array([2, 6])}
    for key in ("query", "candidate", "rating"):
        np.testing.assert_allclose(_np(loaded(inputs)[key]), _np(model(inputs)[key]), rtol=1e-6)
    np.testing.assert_array_equal(_np(loaded.seen.value), _np(model.seen.value))
    assert loaded.get_config()["mask_seen"] == "positives"
    assert loaded.query_tower.features == model.query_tower.features


def test_exclude_seen_refuses_huge_tables(monkeypatch):
    import jointrec.model.joint_model as model_module

    monkeypatch.setattr(model_module, "MAX_SEEN_CELLS", 10)
    with pytest.raises(ValueError, match="negatives='in_batch'"):
        _model(negatives="full", exclude_seen="all")


def test_config_rejects_bad_values():
    from jointrec.errors import JointrecError

    with pytest.raises(JointrecError, match="negatives='sampled' is invalid"):
        ModelConfig(retrieval={"negatives": "sampled"})
    with pytest.raises(JointrecError, match="loss_weighting"):
        ModelConfig(multitask={"loss_weighting": "learned"})
    config = ModelConfig(towers={"user_features": "age, gender"})
    assert config.towers.user_features == ("age", "gender")


def test_models_differing_only_in_loss_weights_share_one_compiled_runner():
    import keras

    from jointrec.backend.jax.training import runner_for
    from jointrec.settings import TrainConfig
    from jointrec.training.loop import make_optimizer

    train = TrainConfig()
    opt_config = keras.optimizers.serialize(make_optimizer(train))
    a = _model(retrieval_weight=1.0, rating_weight=0.0)
    b = _model(retrieval_weight=0.0, rating_weight=1.0)
    c = _model(embedding_dim=8)
    make = lambda: make_optimizer(train)  # noqa: E731
    assert runner_for(a, opt_config, make) is runner_for(b, opt_config, make)
    assert runner_for(c, opt_config, make) is not runner_for(a, opt_config, make)
