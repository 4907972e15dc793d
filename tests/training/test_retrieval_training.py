"""Retrieval training options checked against NumPy references."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.model.retrieval_task import RetrievalTask


def _logsumexp(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=1, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=1, keepdims=True)))[:, 0]


@pytest.fixture
def vectors(rng):
    q = rng.normal(size=(3, 4)).astype("float32")
    c = rng.normal(size=(6, 4)).astype("float32")
    return q, c


def _reference(q, c, positive, exclude, temperature, weight=None, hard=0):
    logits = q @ c.T / temperature
    rows = np.arange(len(q))
    drop = exclude.astype(bool).copy()
    drop[rows, positive] = False
    logits = np.where(drop, -1e9, logits)
    pos = logits[rows, positive]
    if hard:
        neg = logits.copy()
        neg[rows, positive] = -1e9
        top = -np.sort(-neg, axis=1)[:, :hard]
        per_row = _logsumexp(np.concatenate([pos[:, None], top], axis=1)) - pos
    else:
        per_row = _logsumexp(logits) - pos
    w = np.ones(len(q)) if weight is None else weight
    return float((per_row * w).sum() / w.sum())


def test_full_softmax_with_exclusions_matches_reference(vectors):
    q, c = vectors
    positive = np.array([1, 3, 1])
    exclude = np.zeros((3, 6), dtype="int8")
    exclude[0, [0, 2, 1]] = 1  # the positive itself is never excluded
    exclude[2, [0, 5]] = 1
    task = RetrievalTask(temperature=0.5, reduction="mean")
    loss = task(q, c, np.arange(6), positive_index=positive, exclude=exclude)
    assert float(loss) == pytest.approx(_reference(q, c, positive, exclude, 0.5), rel=1e-5)


def test_hard_negatives_keep_only_the_top_scoring(vectors):
    q, c = vectors
    positive = np.array([0, 2, 4])
    none = np.zeros((3, 6))
    task = RetrievalTask(temperature=1.0, hard_negatives=2)
    loss = task(q, c, np.arange(6), positive_index=positive)
    assert float(loss) == pytest.approx(_reference(q, c, positive, none, 1.0, hard=2), rel=1e-5)
    # With all 5 negatives kept, it is the plain softmax.
    full = RetrievalTask(temperature=1.0, hard_negatives=5)(
        q, c, np.arange(6), positive_index=positive
    )
    assert float(full) == pytest.approx(_reference(q, c, positive, none, 1.0), rel=1e-5)


def test_rating_weighted_positives_and_threshold(vectors):
    q, c = vectors
    positive = np.array([0, 1, 2])
    labels = np.array([1.0, 0.75, 0.25], dtype="float32")
    task = RetrievalTask(positive_weighting="rating", min_positive_label=0.75)
    loss = task(q, c, np.arange(6), labels=labels, positive_index=positive)
    # Row 2 (label 0.25) is not a positive; rows 0 and 1 weigh 1.0 and 0.75.
    expected = _reference(q, c, positive, np.zeros((3, 6)), 1.0, weight=np.array([1.0, 0.75, 0.0]))
    assert float(loss) == pytest.approx(expected, rel=1e-5)


def test_in_batch_default_is_unchanged(rng):
    # The diagonal is the positive; equals the full reference on a square candidate set.
    q = rng.normal(size=(4, 3)).astype("float32")
    c = rng.normal(size=(4, 3)).astype("float32")
    loss = RetrievalTask(temperature=0.7)(q, c, np.array([5, 6, 7, 8]))
    ref = _reference(q, c, np.arange(4), np.zeros((4, 4)), 0.7)
    assert float(loss) == pytest.approx(ref, rel=1e-5)


def test_learned_temperature_starts_at_the_given_one(vectors):
    q, c = vectors
    task = RetrievalTask(temperature=0.25, learn_temperature=True, l2_normalize=True)
    task.build()
    assert [v.name for v in task.trainable_weights] == ["log_inverse_temperature"]
    assert task.current_temperature() == pytest.approx(0.25)
    fixed = RetrievalTask(temperature=0.25, l2_normalize=True)
    args = (q, c, np.arange(6))
    assert float(task(*args, positive_index=np.array([0, 1, 2]))) == pytest.approx(
        float(fixed(*args, positive_index=np.array([0, 1, 2]))), rel=1e-5
    )
    config = task.get_config()
    assert config["learn_temperature"] and RetrievalTask.from_config(config).learn_temperature


def test_normalisation_has_finite_gradient_at_zero():
    import jax
    import jax.numpy as jnp

    task = RetrievalTask(l2_normalize=True)
    grad = jax.grad(lambda x: jnp.sum(task.vectors(x)))(jnp.zeros((2, 3)))
    assert np.isfinite(np.asarray(grad)).all()


def test_bad_options_are_rejected():
    with pytest.raises(ValueError, match="positive_weighting"):
        RetrievalTask(positive_weighting="stars")
    with pytest.raises(ValueError, match="hard_negatives"):
        RetrievalTask(hard_negatives=-1)
