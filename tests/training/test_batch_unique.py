"""Distinct-id batches: the host columns, the loss over distinct scores, and training."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jointrec.model.build import build_model
from jointrec.settings import ModelConfig, TrainConfig
from jointrec.training import TrainingArrays, fit
from jointrec.training.batch_unique import padded_size, with_unique_ids
from jointrec.training.batches import epoch_batches

keras = pytest.importorskip("keras")


def _batches(rng, steps=3, batch=40, users=12, items=9, pad=5, log_q=False, unrated=0.0):
    labels = rng.integers(0, 5, steps * batch - pad) / 4.0
    labels[rng.random(len(labels)) < unrated] = np.nan  # mixed feedback: unrated rows
    data = TrainingArrays(
        rng.integers(1, users, steps * batch - pad),
        rng.integers(1, items, steps * batch - pad),
        labels,
        log_q=rng.normal(size=steps * batch - pad).astype("float32") if log_q else None,
    )
    if log_q:  # one log-probability per item, as item_log_frequencies gives
        per_item = rng.normal(size=items).astype("float32")
        data = dataclasses.replace(data, log_q=per_item[data.item])
    return epoch_batches(data, np.arange(len(data)), batch)


def test_columns_match_numpy_unique(rng):
    b = _batches(rng, log_q=True)
    out = with_unique_ids(b)
    for step in range(b["user"].shape[0]):
        for key in ("user", "item"):
            ids = b[key][step]
            distinct = np.unique(ids)
            slots = out[f"{key}_unique"][step]
            assert slots[: len(distinct)].tolist() == distinct.tolist()
            assert not slots[len(distinct) :].any()  # padding slots hold id 0
            assert (slots[out[f"{key}_inverse"][step]] == ids).all()
        real = b["mask"][step] > 0
        expected = np.zeros(len(out["item_count"][step]))
        np.add.at(expected, out["item_inverse"][step][real], 1.0)
        np.testing.assert_array_equal(out["item_count"][step], expected)
        rows = out["item_inverse"][step]
        np.testing.assert_array_equal(out["item_log_q"][step][rows], b["log_q"][step])


def test_sizes_are_padded_and_depend_on_the_chunk_alone(rng):
    assert padded_size(1, 1000) == 64 and padded_size(48, 1000) == 64
    assert padded_size(49, 1000) == 128 and padded_size(999, 1000) == 1000
    b = _batches(rng, users=90, items=90, batch=80, pad=0)
    most = max(len(np.unique(row)) for row in b["user"])
    assert with_unique_ids(b)["user_unique"].shape[1] == padded_size(most, 80)
    assert with_unique_ids(b, user_size=80)["user_unique"].shape[1] == 80
    assert with_unique_ids(b, user_size=1)["user_unique"].shape[1] == padded_size(most, 80)


def _reference_in_batch(q, c, items, labels, weight, *, hits, temperature, min_label, log_q, mean):
    """The in-batch softmax written out row by row in NumPy: every row's item is a column."""
    logits = q @ c.T / temperature
    if log_q is not None:
        logits = logits - log_q[None, :]
    losses, weights = [], []
    for i in range(len(items)):
        keep = weight > 0  # padding rows are not candidates
        keep[i] = True
        if hits:
            keep &= (items != items[i]) | (np.arange(len(items)) == i)
        row = logits[i][keep]
        top = row.max()
        losses.append(top + np.log(np.exp(row - top).sum()) - logits[i, i])
        w = weight[i] * (1.0 if min_label is None else float(labels[i] >= min_label))
        weights.append(w)
    losses, weights = np.array(losses), np.array(weights)
    total = (losses * weights).sum()
    return total / max(weights.sum(), 1e-12) if mean else total


@pytest.mark.parametrize("hits", [False, True])
@pytest.mark.parametrize("temperature", [1.0, 0.25])
@pytest.mark.parametrize("with_log_q", [False, True])
def test_both_in_batch_losses_match_a_numpy_softmax(rng, hits, temperature, with_log_q):
    from jointrec.model.retrieval_task import RetrievalTask

    b = with_unique_ids(_batches(rng, steps=1, log_q=with_log_q))
    row = {k: v[0] for k, v in b.items()}
    users, items = 12, 9
    q_table = rng.normal(size=(users, 4)).astype("float32")
    c_table = rng.normal(size=(items, 4)).astype("float32")
    task = RetrievalTask(
        temperature=temperature,
        reduction="mean",
        remove_accidental_hits=hits,
        min_positive_label=0.5,
    )
    got = task.unique_loss(
        q_table[row["user_unique"]],
        c_table[row["item_unique"]],
        row["user_inverse"],
        row["item_inverse"],
        row["item_count"],
        labels=row["label"],
        sample_weight=row["mask"],
        candidate_log_q=row.get("item_log_q"),
    )
    want = _reference_in_batch(
        q_table[row["user"]],
        c_table[row["item"]],
        row["item"],
        row["label"],
        row["mask"].copy(),
        hits=hits,
        temperature=temperature,
        min_label=0.5,
        log_q=row.get("log_q"),
        mean=True,
    )
    assert float(got) == pytest.approx(want, rel=1e-5)
    per_row = task(  # the per-row path (padding as a column bias) gives the same number
        q_table[row["user"]],
        c_table[row["item"]],
        row["item"],
        labels=row["label"],
        candidate_mask=row["mask"],
        candidate_log_q=row.get("log_q"),
    )
    assert float(per_row) == pytest.approx(want, rel=1e-5)


OPTIONS = [
    {"retrieval_reduction": "sum", "remove_accidental_hits": False},  # the tutorial
    {"temperature": 0.2, "l2_normalize": True, "retrieval_min_rating": 4.0},
    {"logq_correction": True, "rating_biases": True, "positive_weighting": "rating"},
    {"learn_temperature": True, "loss_weighting": "uncertainty", "embedding_l2": 1e-3},
    {"rating_dropout": 0.3},  # the rating head gathers rows before its dropout
    {"retrieval_min_rating": 4.0, "unrated": 0.7},  # mixed feedback
    {"positive_weighting": "rating", "rating_biases": True, "unrated": 0.5},
    # unrated rows weighted by a constant and by the rating head's (stopped) prediction
    {"retrieval": {"min_rating": 4.0, "unrated_weight": 0.5, "unrated_ramp": 3.0}, "unrated": 0.6},
    {
        "rating": {"biases": True},
        "retrieval": {"min_rating": 3.0, "unrated_ramp": 2.0},
        "unrated": 0.6,
    },
]


@pytest.mark.parametrize("options", OPTIONS)
def test_loss_and_gradients_equal_the_per_row_path(rng, options):
    import jax.numpy as jnp

    from jointrec.backend.jax.training import _loss_and_grad

    options = dict(options)
    unrated = options.pop("unrated", 0.0)
    config = ModelConfig.from_dict(
        {"embedding_dim": 8, "layer_sizes": (16, 8), "negatives": "in_batch", **options}
    )
    model = build_model(config, 12, 9, seed=1)
    assert model.supports_unique()
    b = _batches(rng, steps=1, log_q=True, unrated=unrated)
    row = {k: v[0] for k, v in b.items()}
    distinct = {k: v[0] for k, v in with_unique_ids(b).items()}
    grad_fn = _loss_and_grad(model)
    trainable = [v.value for v in model.trainable_variables]
    frozen = [v.value for v in model.non_trainable_variables]
    inputs = {"user": row["user"], "item": row["item"]}
    weights = jnp.asarray([1.0, 0.5])
    dropout = "rating_dropout" in options
    if dropout:  # the same dropout mask on both paths
        keras.utils.set_random_seed(3)
    (_, (logs, _)), grads = grad_fn(trainable, frozen, inputs, row, weights)
    if dropout:
        keras.utils.set_random_seed(3)
    (_, (logs_u, _)), grads_u = grad_fn(trainable, frozen, inputs, distinct, weights)
    np.testing.assert_allclose(np.asarray(logs_u), np.asarray(logs), rtol=2e-5)
    assert np.isfinite(np.asarray(logs)).all()
    for g, g_u in zip(grads, grads_u, strict=True):
        assert np.isfinite(np.asarray(g)).all()
        np.testing.assert_allclose(np.asarray(g_u), np.asarray(g), rtol=1e-4, atol=1e-6)
    if unrated:  # the rating loss is the NumPy mean over the real, rated rows
        predicted = model(inputs)["rating"]
        rated = (row["mask"] > 0) & ~np.isnan(row["label"])
        want = np.mean((np.asarray(predicted)[rated] - row["label"][rated]) ** 2)
        assert float(logs[2]) == pytest.approx(want, rel=1e-4)


def test_models_that_need_every_row_say_so():
    def supports(**options):
        config = ModelConfig.from_dict({"embedding_dim": 4, "layer_sizes": (8,), **options})
        return build_model(config, 5, 5)

    assert supports(negatives="in_batch").supports_unique()
    assert not supports(negatives="full").supports_unique()
    assert not supports(negatives="in_batch", hard_negatives=2).supports_unique()


def _train(data, config, model_config):
    model = build_model(model_config, 40, 30, seed=7)
    history = fit(model, data, config, progress=False)
    return [v.numpy() for v in model.trainable_variables], history


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["adagrad", "adam"])
def test_training_with_distinct_ids_gives_the_same_model(rng, optimizer):
    data = TrainingArrays(
        rng.integers(1, 40, 997), rng.integers(1, 30, 997), rng.random(997).astype("float32")
    )
    model_config = ModelConfig(
        towers={"embedding_dim": 8},
        retrieval={"negatives": "in_batch", "remove_accidental_hits": True},
        rating={"layer_sizes": (16,)},
    )
    config = TrainConfig(optimizer=optimizer, learning_rate=0.05, batch_size=100, epochs=3)
    per_row, h_rows = _train(data, dataclasses.replace(config, distinct_ids=False), model_config)
    distinct, h_distinct = _train(data, config, model_config)
    for a, b in zip(per_row, distinct, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-5)
    for e_rows, e_distinct in zip(h_rows.epochs, h_distinct.epochs, strict=True):
        assert e_distinct["loss"] == pytest.approx(e_rows["loss"], rel=1e-5)
