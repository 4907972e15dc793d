"""The JAX fast path trains exactly what Keras `model.fit` trains, deterministically."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from jointrec.backend.jax import training as jax_loop
from jointrec.model.build import build_model
from jointrec.settings import ModelConfig, TrainConfig
from jointrec.training import TrainingArrays, fit
from jointrec.training.batches import epoch_batches, item_log_frequencies

CONFIG = ModelConfig(
    towers={"embedding_dim": 8},
    retrieval={"l2_normalize": True, "temperature": 0.5},
    rating={"layer_sizes": (16,), "biases": True},
)


@pytest.fixture
def data(rng) -> TrainingArrays:
    n = 90  # not a multiple of the batch size: the last batch is padded
    return TrainingArrays(
        rng.integers(1, 12, n), rng.integers(1, 20, n), rng.integers(0, 5, n) / 4.0
    )


def weights_of(model) -> list[np.ndarray]:
    return [np.asarray(v.value) for v in model.weights]


@pytest.mark.slow
def test_fast_path_equals_keras_fit(data):
    train = TrainConfig(
        optimizer="adam", learning_rate=0.01, batch_size=32, epochs=2, shuffle_each_epoch=False
    )
    fast = build_model(CONFIG, 12, 20, seed=3)
    history = fit(fast, data, train, progress=False)
    reference = build_model(CONFIG, 12, 20, seed=3)
    reference.compile(optimizer=keras.optimizers.Adam(0.01))
    ref_history = reference.fit(
        {"user": data.user, "item": data.item},
        data.label,
        batch_size=32,
        epochs=2,
        shuffle=False,
        verbose=0,
    )
    for a, b in zip(weights_of(fast), weights_of(reference), strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    # Keras reports the mean batch loss of the epoch, as the fast path does.
    assert history.epochs[-1]["loss"] == pytest.approx(ref_history.history["loss"][-1], rel=1e-3)


def test_same_seed_same_weights_other_seed_other_weights(data):
    train = TrainConfig(batch_size=32, epochs=2, seed=11)
    runs = []
    for seed in (11, 11, 12):
        model = build_model(CONFIG, 12, 20, seed=seed)
        fit(model, data, TrainConfig(batch_size=32, epochs=2, seed=seed), progress=False)
        runs.append(weights_of(model))
    assert all(np.array_equal(a, b) for a, b in zip(runs[0], runs[1], strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(runs[0], runs[2], strict=True))
    assert train.seed == 11


def test_loss_weights_are_traced_so_models_share_one_compilation(data):
    train = TrainConfig(batch_size=32, epochs=1)
    fit(build_model(CONFIG, 12, 20, seed=0), data, train, rating_weight=0.0, progress=False)
    compiled = len(jax_loop._RUNNERS)
    model = build_model(CONFIG, 12, 20, seed=0)
    history = fit(model, data, train, retrieval_weight=0.0, progress=False)
    assert len(jax_loop._RUNNERS) == compiled
    # With the retrieval weight at 0, the total loss is the rating loss alone.
    assert history.epochs[0]["loss"] == pytest.approx(history.epochs[0]["rating_loss"])


def test_epoch_callback_sees_logs_and_can_stop(data):
    seen = []

    def stop_after_two(epoch, logs):
        seen.append((epoch, logs["loss"]))
        return epoch == 1

    history = fit(
        build_model(CONFIG, 12, 20, seed=0),
        data,
        TrainConfig(batch_size=32, epochs=5),
        progress=False,
        on_epoch_end=stop_after_two,
    )
    assert [e for e, _ in seen] == [0, 1] and len(history.epochs) == 2


def test_batches_pad_and_carry_log_q(data):
    log_q = item_log_frequencies(data.item, 20)
    with_q = TrainingArrays(data.user, data.item, data.label, log_q[data.item])
    batches = epoch_batches(with_q, np.arange(len(data)), 32)
    assert batches["user"].shape == (3, 32)
    assert batches["mask"].sum() == 90 and batches["mask"][-1, -6:].sum() == 0
    np.testing.assert_allclose(np.exp(log_q[1:]).sum(), 1.0, rtol=1e-5)
    assert np.array_equal(batches["log_q"][0], log_q[data.item[:32]])
