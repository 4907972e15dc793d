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


def test_unrated_rows_weigh_as_set_and_by_the_predicted_rating():
    from jointrec.model.retrieval_task import RetrievalTask

    config = {"retrieval": {"negatives": "in_batch", "min_rating": 4.0}, "rating_biases": True}
    plain = _model(**config)
    config["retrieval"].update(unrated_weight=0.5, unrated_ramp=2.0)
    model = _model(**config)  # same seed: the same weights as `plain`
    users, items = np.array([1, 2, 3, 4, 5]), np.array([1, 2, 3, 4, 5])
    labels = np.array([1.0, np.nan, 0.5, np.nan, np.nan], dtype="float32")
    inputs = {"user": users, "item": items}
    outputs = model(inputs)
    predicted = _np(outputs["rating"])
    # 1..5 stars on [0, 1]: min_rating 4 -> 0.75, 2 stars below it -> 0.25.
    ramp = np.clip((predicted - 0.25) / 0.5, 0.0, 1.0)
    weight = np.where(np.isnan(labels), 0.5 * ramp, 1.0)
    task = RetrievalTask(min_positive_label=0.75)
    filled = np.where(np.isnan(labels), 1.0, labels)
    expected = task(
        outputs["query"], outputs["candidate"], items, labels=filled, sample_weight=weight
    )
    got = model.task_losses(inputs, outputs, labels)["retrieval"]
    assert float(got) == pytest.approx(float(expected), rel=1e-5)
    # the weights matter (rows 2, 4, 5 are not all weighed 1) ...
    base = plain.task_losses(inputs, plain(inputs), labels)["retrieval"]
    assert abs(float(got) - float(base)) > 1e-4
    # ... and fully rated batches are untouched
    rated = np.array([1.0, 0.75, 0.5, 0.25, 1.0], dtype="float32")
    a = float(model.task_losses(inputs, outputs, rated)["retrieval"])
    b = float(plain.task_losses(inputs, plain(inputs), rated)["retrieval"])
    assert a == pytest.approx(b, rel=1e-6)


def test_unrated_settings_are_checked_and_saved(tmp_path):
    import keras

    from jointrec.errors import JointrecError

    with pytest.raises(JointrecError, match=r"retrieval.unrated_weight=1.5 is invalid"):
        ModelConfig.from_dict({"retrieval": {"unrated_weight": 1.5}})
    with pytest.raises(JointrecError, match=r"retrieval.unrated_ramp=-1.0 is invalid"):
        ModelConfig.from_dict({"retrieval": {"unrated_ramp": -1.0}})
    no_threshold = ModelConfig.from_dict({"embedding_dim": 4, "retrieval": {"unrated_ramp": 2.0}})
    assert build_model(no_threshold, NUM_USERS, NUM_ITEMS).unrated_ramp is None  # nothing to end at
    model = _model(retrieval={"min_rating": 4.0, "unrated_weight": 0.3, "unrated_ramp": 2.0})
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.unrated_weight == pytest.approx(0.3)
    assert loaded.unrated_ramp == pytest.approx((0.25, 0.75))


def test_the_ramp_is_off_when_no_training_row_is_rated():
    from jointrec.data.encoded import EncodedInteractions

    config = ModelConfig.from_dict(
        {"embedding_dim": 4, "retrieval": {"min_rating": 4.0, "unrated_ramp": 3.0}}
    )
    users, items = np.arange(1, 6), np.arange(1, 6)
    mixed = EncodedInteractions(users, items, np.array([4.0, np.nan, 2.0, np.nan, 5.0]))
    none = EncodedInteractions(users, items, np.full(5, np.nan))
    implicit = EncodedInteractions(users, items, None)  # labels 1: rated in effect
    ramp = lambda x: build_model(config, NUM_USERS, NUM_ITEMS, training=x).unrated_ramp  # noqa: E731
    assert ramp(mixed) == pytest.approx((0.0, 0.75))  # 1..5 stars: 0 at 1 star, 1 at 4
    assert ramp(none) is None
    assert ramp(implicit) == pytest.approx((0.0, 0.75))


def test_user_cold_dropout_reaches_the_user_tower_only_and_is_checked():
    from jointrec.errors import JointrecError

    model = _model(towers={"user_cold_dropout": 0.3})
    assert model.query_tower.cold_dropout == pytest.approx(0.3)
    assert model.candidate_tower.cold_dropout == 0.0
    with pytest.raises(JointrecError, match=r"towers.user_cold_dropout=1.0 is invalid"):
        ModelConfig.from_dict({"towers": {"user_cold_dropout": 1.0}})
