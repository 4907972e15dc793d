"""Task losses against NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.model import RatingTask, RetrievalTask


def reference_retrieval_loss(
    q,
    c,
    ids,
    *,
    temperature=1.0,
    reduction="mean",
    mask_hits=True,
    normalize=False,
    labels=None,
    min_label=None,
    log_q=None,
    valid=None,
):
    q, c = np.asarray(q, np.float64), np.asarray(c, np.float64)
    if normalize:
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
        c = c / np.linalg.norm(c, axis=1, keepdims=True)
    logits = q @ c.T / temperature
    if log_q is not None:
        logits = logits - np.asarray(log_q)[None, :]
    n = len(q)
    weight = np.ones(n)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            if (mask_hits and ids[i] == ids[j]) or (valid is not None and not valid[j]):
                logits[i, j] = -np.inf
    if valid is not None:
        weight = weight * np.asarray(valid, float)
    if min_label is not None:
        weight = weight * (np.asarray(labels) >= min_label)
    per_row = np.log(np.exp(logits).sum(axis=1)) - np.diag(logits)
    total = (per_row * weight).sum()
    return total if reduction == "sum" else total / weight.sum()


@pytest.fixture
def batch(rng):
    q = rng.normal(size=(6, 4)).astype("float32")
    c = rng.normal(size=(6, 4)).astype("float32")
    ids = np.array([3, 5, 3, 8, 9, 5])
    labels = np.array([1.0, 0.25, 0.75, 1.0, 0.5, 0.0], dtype="float32")
    return q, c, ids, labels


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("mask_hits", [True, False])
def test_retrieval_loss_matches_reference(batch, reduction, mask_hits):
    q, c, ids, _ = batch
    task = RetrievalTask(reduction=reduction, remove_accidental_hits=mask_hits)
    expected = reference_retrieval_loss(q, c, ids, reduction=reduction, mask_hits=mask_hits)
    assert float(task(q, c, ids)) == pytest.approx(expected, rel=1e-5)


def test_retrieval_loss_temperature_normalisation_logq_threshold_and_padding(batch, rng):
    q, c, ids, labels = batch
    log_q = np.log(rng.uniform(0.01, 0.5, size=6)).astype("float32")
    valid = np.array([1, 1, 1, 1, 1, 0], dtype="float32")
    task = RetrievalTask(temperature=0.2, l2_normalize=True, min_positive_label=0.7)
    got = task(q, c, ids, labels=labels, candidate_mask=valid, candidate_log_q=log_q)
    expected = reference_retrieval_loss(
        q,
        c,
        ids,
        temperature=0.2,
        normalize=True,
        labels=labels,
        min_label=0.7,
        log_q=log_q,
        valid=valid,
    )
    assert float(got) == pytest.approx(expected, rel=1e-4)


def test_hand_worked_retrieval_loss():
    # Identity embeddings: logits = I, each row: log(e + 2) - 1 (three distinct items).
    q = c = np.eye(3, dtype="float32")
    loss = RetrievalTask(reduction="sum")(q, c, np.array([1, 2, 3]))
    assert float(loss) == pytest.approx(3 * (np.log(np.e + 2) - 1), rel=1e-6)


def test_sum_reduction_is_batch_size_times_mean(rng):
    # The tutorial's sum-reduced loss scales with the batch: "1:1" weights are really n:1.
    q = rng.normal(size=(40, 4)).astype("float32")
    ids = np.arange(40)
    total = float(RetrievalTask(reduction="sum")(q, q, ids))
    mean = float(RetrievalTask(reduction="mean")(q, q, ids))
    assert total == pytest.approx(40 * mean, rel=1e-5)


def test_rating_loss_is_weighted_mse():
    labels = np.array([0.0, 1.0, 0.5], dtype="float32")
    preds = np.array([0.5, 1.0, 0.0], dtype="float32")
    assert float(RatingTask()(labels, preds)) == pytest.approx((0.25 + 0 + 0.25) / 3)
    weights = np.array([1.0, 1.0, 0.0], dtype="float32")
    assert float(RatingTask()(labels, preds, sample_weight=weights)) == pytest.approx(0.125)


def test_masked_rating_loss_is_the_mean_over_rated_rows(rng):
    labels = rng.random(50).astype("float32")
    labels[rng.random(50) < 0.6] = np.nan  # unrated rows of mixed feedback
    preds = rng.random(50).astype("float32")
    padding = (rng.random(50) < 0.9).astype("float32")
    rated = ~np.isnan(labels)
    want = np.mean((preds[rated] - labels[rated]).astype(np.float64) ** 2)
    assert float(RatingTask()(labels, preds)) == pytest.approx(want, rel=1e-5)
    both = rated & (padding > 0)
    want = np.mean((preds[both] - labels[both]).astype(np.float64) ** 2)
    got = float(RatingTask()(labels, preds, sample_weight=padding))
    assert got == pytest.approx(want, rel=1e-5)
    assert float(RatingTask()(np.full(3, np.nan), preds[:3])) == 0.0  # nothing rated


def test_unrated_rows_are_retrieval_positives(batch):
    q, c, ids, labels = batch
    mixed = labels.copy()
    mixed[[1, 5]] = np.nan  # unrated: positives whatever the threshold
    task = RetrievalTask(min_positive_label=0.6)
    filled = np.where(np.isnan(mixed), 1.0, mixed)
    want = reference_retrieval_loss(q, c, ids, labels=filled, min_label=0.6)
    from jointrec.model.rating_task import retrieval_labels

    got = task(q, c, ids, labels=retrieval_labels(mixed))
    assert float(got) == pytest.approx(want, rel=1e-5)


def test_retrieval_task_rejects_bad_settings():
    with pytest.raises(ValueError, match="reduction"):
        RetrievalTask(reduction="max")
    with pytest.raises(ValueError, match="temperature"):
        RetrievalTask(temperature=0.0)


def test_rating_head_dropout_only_while_training():
    import keras

    from jointrec.errors import JointrecError
    from jointrec.model import RatingHead
    from jointrec.settings import ModelConfig

    keras.utils.set_random_seed(0)
    query = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    candidate = np.random.default_rng(1).normal(size=(64, 4)).astype("float32")
    plain = RatingHead(layer_sizes=(16,))
    dropped = RatingHead(layer_sizes=(16,), dropout=0.5)
    plain(query, candidate)
    dropped(query, candidate)
    dropped.set_weights(plain.get_weights())
    expected = np.asarray(plain(query, candidate))
    np.testing.assert_allclose(np.asarray(dropped(query, candidate)), expected, rtol=1e-6)
    trained = np.asarray(dropped(query, candidate, training=True))
    assert np.mean(np.abs(trained - expected) > 1e-6) > 0.5
    with pytest.raises(ValueError, match="dropout=1.0"):
        RatingHead(layer_sizes=(8,), dropout=1.0)
    with pytest.raises(JointrecError, match=r"rating\.dropout=-0\.1 is invalid"):
        ModelConfig(rating={"dropout": -0.1})
