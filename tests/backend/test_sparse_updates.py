"""Row-wise (sparse) embedding-table updates of the JAX fast path."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jointrec.backend.jax.row_updates import use_sparse
from jointrec.backend.jax.training import JaxTrainingState
from jointrec.errors import JointrecError
from jointrec.features import FeatureSpec
from jointrec.features.encoder import EncodedFeatures
from jointrec.model.build import build_model
from jointrec.settings import ModelConfig, TrainConfig
from jointrec.training import TrainingArrays, fit
from jointrec.training.batches import epoch_batches, epoch_chunks
from jointrec.training.loop import make_optimizer

# Keras is imported after jointrec, which selects the JAX backend first.
keras = pytest.importorskip("keras")

MODEL = ModelConfig(
    towers={"embedding_dim": 4},
    retrieval={"logq_correction": False},
    rating={"layer_sizes": (8,), "biases": True},
)


def _data(rng: np.random.Generator, n: int = 600, users: int = 300, items: int = 200):
    return TrainingArrays(
        rng.integers(1, users, n), rng.integers(1, items, n), rng.random(n).astype("float32")
    )


def _train(data: TrainingArrays, config: TrainConfig, users: int = 300, items: int = 200):
    model = build_model(MODEL, users, items, seed=7)
    history = fit(model, data, config, progress=False)
    return [v.numpy() for v in model.trainable_variables], history


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["adagrad", "sgd"])
def test_sparse_equals_dense_where_exact(rng, optimizer):
    # Adagrad and plain SGD leave rows with zero gradient where they are, so updating only
    # the rows a batch touches must give the dense result (up to summation order).
    data = _data(rng)
    config = TrainConfig(optimizer=optimizer, learning_rate=0.05, batch_size=50, epochs=2)
    dense, h_dense = _train(data, dataclasses.replace(config, embedding_updates="dense"))
    sparse, h_sparse = _train(data, dataclasses.replace(config, embedding_updates="sparse"))
    for a, b in zip(dense, sparse, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert h_dense.epochs[-1]["loss"] == pytest.approx(h_sparse.epochs[-1]["loss"], rel=1e-5)


def _stepper(mode: str) -> JaxTrainingState:
    config = TrainConfig(optimizer="adam", learning_rate=0.01, batch_size=50)
    model = build_model(MODEL, 300, 200, seed=7)
    opt = keras.optimizers.serialize(make_optimizer(config))
    return JaxTrainingState(model, opt, lambda: make_optimizer(config), mode)


def _one_step(state: JaxTrainingState, users: list[int], rng) -> np.ndarray:
    """One Adam step on a batch of 50 rows drawn from ``users``; returns the user table."""
    data = TrainingArrays(rng.choice(users, 50), rng.integers(1, 200, 50), rng.random(50))
    state.run(epoch_batches(data, np.arange(50), 50), 1.0, 1.0)
    return np.asarray(state.state[0][0])


@pytest.mark.slow
def test_sparse_adam_is_lazy():
    # Hand-worked: step 1 touches user rows {1, 2}, step 2 rows {3, 4}. After step 1 dense
    # and row-wise Adam agree (moments start at zero, so untouched rows do not move in
    # either). In step 2 dense Adam keeps moving rows 1 and 2 (their momentum is non-zero);
    # lazy, row-wise Adam leaves them exactly where step 1 put them, and never moves rows no
    # batch touched.
    tables = {}
    for mode in ("dense", "sparse"):
        state, rng = _stepper(mode), np.random.default_rng(0)
        initial = np.asarray(state.state[0][0])
        first = _one_step(state, [1, 2], rng)
        second = _one_step(state, [3, 4], rng)
        tables[mode] = (initial, first, second)
    (_, first_d, second_d), (init_s, first_s, second_s) = tables["dense"], tables["sparse"]
    np.testing.assert_allclose(first_d, first_s, rtol=1e-6, atol=1e-7)
    assert not np.allclose(first_s[1:3], init_s[1:3])
    np.testing.assert_array_equal(second_s[1:3], first_s[1:3])
    assert not np.allclose(second_d[1:3], first_d[1:3])
    np.testing.assert_array_equal(second_s[5:], init_s[5:])
    assert not np.allclose(second_s[3:5], first_s[3:5])


@pytest.mark.slow
def test_sparse_keeps_optimizer_state_layout():
    # Checkpoints store `optimizer_values()`: the same list of shapes on both paths.
    shapes = {}
    for mode in ("dense", "sparse"):
        state = _stepper(mode)
        _one_step(state, [1, 2, 3], np.random.default_rng(1))
        shapes[mode] = [v.shape for v in state.optimizer_values()]
    assert shapes["dense"] == shapes["sparse"]


def test_use_sparse_decisions():
    big = build_model(MODEL, 20_000, 300, seed=0)
    small = build_model(MODEL, 5000, 300, seed=0)
    adagrad = keras.optimizers.serialize(keras.optimizers.Adagrad())
    adam = keras.optimizers.serialize(keras.optimizers.Adam())
    momentum = keras.optimizers.serialize(keras.optimizers.SGD(momentum=0.9))
    assert use_sparse("auto", big, adagrad, batch_size=1000)  # exact and 20,000 >= 16 x 1000
    assert not use_sparse("auto", small, adagrad, batch_size=1000)  # dense is faster here
    assert not use_sparse("auto", big, adam, batch_size=1000)  # would change Adam's result
    assert not use_sparse("auto", big, momentum, batch_size=1000)
    assert use_sparse("sparse", small, adam, batch_size=1000)
    assert not use_sparse("dense", big, adagrad, batch_size=1000)
    # Catalogue scale: whole-table Adam dominates the step, and its lazy variant is used.
    huge = build_model(MODEL, 40_000, 300, seed=0)
    assert use_sparse("auto", huge, adam, batch_size=1000)  # 40,000 >= 32 x 1000
    assert not use_sparse("auto", huge, adam, batch_size=2000)
    assert not use_sparse("auto", huge, momentum, batch_size=1000)  # not measured
    adamw = keras.optimizers.serialize(keras.optimizers.AdamW(weight_decay=0.01))
    assert not use_sparse("auto", huge, adamw, batch_size=1000)  # decays every row
    penalised = build_model(MODEL.replace({"towers": {"embedding_l2": 1e-4}}), 20_000, 300)
    assert not use_sparse("auto", penalised, adagrad, batch_size=1000)  # not exact: lazy L2
    with pytest.raises(JointrecError, match=r"embedding_updates='rows' is invalid.*'sparse'"):
        use_sparse("rows", big, adam, batch_size=10)


def test_train_config_rejects_unknown_mode():
    with pytest.raises(JointrecError, match=r"embedding_updates='lazy' is invalid: expected one"):
        TrainConfig(embedding_updates="lazy")


def test_epoch_chunks_concatenate_to_epoch_batches(rng):
    data = _data(rng, n=1234)
    order = rng.permutation(1234)
    whole = epoch_batches(data, order, 100)
    chunks = list(epoch_chunks(data, order, 100, max_steps=4))
    assert [len(c["user"]) for c in chunks] == [4, 4, 4, 1]
    for key, value in whole.items():
        np.testing.assert_array_equal(np.concatenate([c[key] for c in chunks]), value)


USERS, ITEMS, CODES = 300, 200, 2000


def _tower_features(rng: np.random.Generator) -> tuple[EncodedFeatures, EncodedFeatures]:
    """Each user's history (codes of a 2,000-item catalogue, 0 = none), an age; each item's
    genres and a popularity: the feature kinds of the default preset's towers."""
    history = rng.integers(0, CODES + 1, (USERS, 6)).astype(np.int32)
    multi = FeatureSpec("history", "multi_categorical")
    users = EncodedFeatures(
        {"history": history, "age": rng.normal(size=USERS).astype(np.float32)},
        {"history": multi, "age": FeatureSpec("age", "numeric")},
        {"history": CODES + 1, "age": 0},
    )
    items = EncodedFeatures(
        {
            "genres": rng.integers(0, 5, (ITEMS, 2)).astype(np.int32),
            "popularity": rng.normal(size=ITEMS).astype(np.float32),
        },
        {
            "genres": FeatureSpec("genres", "multi_categorical"),
            "popularity": FeatureSpec("popularity", "numeric"),
        },
        {"genres": 5, "popularity": 0},
    )
    return users, items


def _feature_model(model_config: ModelConfig = MODEL):
    users, items = _tower_features(np.random.default_rng(3))
    return build_model(model_config, USERS, ITEMS, seed=7, user_features=users, item_features=items)


@pytest.mark.slow
def test_feature_towers_update_their_tables_row_wise_exactly():
    # Feature towers: the id tables are sliced per batch, the encoded features (history,
    # genres, numeric values) gathered with them, and the feature embedding tables (the
    # history's, the genres') updated whole. With Adagrad that is the dense update.
    config = TrainConfig(optimizer="adagrad", learning_rate=0.05, batch_size=50, epochs=2)
    results = {}
    for mode in ("dense", "sparse"):
        model = _feature_model()
        data = _data(np.random.default_rng(0), users=USERS, items=ITEMS)
        fit(model, data, dataclasses.replace(config, embedding_updates=mode), progress=False)
        results[mode] = {v.path: v.numpy() for v in model.trainable_variables}
    for path, dense in results["dense"].items():
        np.testing.assert_allclose(
            results["sparse"][path], dense, rtol=1e-5, atol=1e-6, err_msg=path
        )
    # That was the row-wise runner, not a dense fallback.
    opt = keras.optimizers.serialize(make_optimizer(config))
    state = JaxTrainingState(_feature_model(), opt, lambda: make_optimizer(config), "sparse")
    assert state.runner_for_batch(50).sparse


@pytest.mark.slow
def test_row_wise_l2_penalises_only_the_rows_a_batch_touches():
    # The lazy penalty: with L2 on the tables, a user no batch holds keeps its initial row
    # under row-wise updates, while the dense update shrinks every row at every step.
    penalised = MODEL.replace({"towers": {"embedding_l2": 0.05}})
    config = TrainConfig(optimizer="adagrad", learning_rate=0.05, batch_size=50, epochs=1)
    tables = {}
    for mode in ("dense", "sparse"):
        rng = np.random.default_rng(0)
        model = _feature_model(penalised)
        initial = model.query_tower.id_embedding.embeddings.numpy().copy()
        data = TrainingArrays(  # users 1..99 only
            rng.integers(1, 100, 600), rng.integers(1, ITEMS, 600), rng.random(600)
        )
        fit(model, data, dataclasses.replace(config, embedding_updates=mode), progress=False)
        tables[mode] = (initial, model.query_tower.id_embedding.embeddings.numpy())
    initial, sparse = tables["sparse"]
    np.testing.assert_array_equal(sparse[100:], initial[100:])
    assert not np.allclose(sparse[1:100], initial[1:100])
    initial, dense = tables["dense"]
    assert np.abs(dense[100:]).sum() < 0.9 * np.abs(initial[100:]).sum()
