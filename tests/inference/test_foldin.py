"""Fold-in: the head's gradient against finite differences, and what fitting achieves."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.inference.foldin import fit_user, fold_in_query, head_loss_and_grad


@pytest.mark.parametrize("biases", [True, False])
def test_gradient_matches_finite_differences(rng, small_exported, biases):
    model = small_exported(biases)
    user = rng.normal(size=4)
    items, labels = np.array([1, 3, 5, 9]), np.array([0.9, 0.1, 0.5, 1.0])
    loss, grad, grad_bias = head_loss_and_grad(model, user.astype(np.float32), 0.05, items, labels)

    def f(u, b):  # float64 reference forward pass, written independently
        x = np.concatenate([np.tile(u, (4, 1)), model.item_embeddings[items]], axis=1)
        for k, bb in model.mlp[:-1]:
            x = np.maximum(x @ k.astype(np.float64) + bb, 0)
        out = (x @ model.mlp[-1][0].astype(np.float64))[:, 0] + model.mlp[-1][1][0]
        if biases:
            out += b + model.offset + model.item_bias[items]
        return np.mean((out - labels) ** 2)

    assert loss == pytest.approx(f(user, 0.05), rel=1e-4)
    eps = 1e-4
    numeric = [(f(user + eps * e, 0.05) - f(user - eps * e, 0.05)) / (2 * eps) for e in np.eye(4)]
    np.testing.assert_allclose(grad, numeric, rtol=1e-2, atol=1e-4)
    if biases:
        assert grad_bias == pytest.approx(
            (f(user, 0.05 + eps) - f(user, 0.05 - eps)) / (2 * eps), rel=1e-2
        )


def test_fit_user_reduces_error_and_moves_towards_ratings(small_exported):
    model = small_exported()
    items = np.array([1, 2, 3, 4, 5])
    stars = np.array([5.0, 5.0, 1.0, 1.0, 5.0])
    labels = (stars - 1) / 4
    folded = fit_user(model, items, stars, steps=150)
    prior = model.user_embeddings[1:].mean(axis=0)
    prior_bias = float(model.user_bias[1:].mean())
    before, _, _ = head_loss_and_grad(model, prior, prior_bias, items, labels)
    after, _, _ = head_loss_and_grad(model, folded.embedding, folded.bias, items, labels)
    assert after < 0.5 * before


def test_fold_in_query_hand_example():
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    # weights 5-3=2, 1-3=-2, 3-3=0 -> 2*(1,0) - 2*(0,1) = (2,-2); / total |w| = 4
    np.testing.assert_allclose(fold_in_query(vectors, np.array([5, 1, 3]), pivot=3), [0.5, -0.5])
    unit = fold_in_query(vectors, np.array([5, 1, 3]), pivot=3, normalize=True)
    np.testing.assert_allclose(unit, [2**-0.5, -(2**-0.5)], rtol=1e-6)
    assert fold_in_query(vectors, np.array([3, 3, 3]), pivot=3) is None
