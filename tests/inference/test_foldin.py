"""Fold-in: the head's gradient against finite differences, the Gauss-Newton fit against
a hand-solved and a NumPy ridge regression (linear head) and an independent optimiser (ReLU
head), and what fitting achieves."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from jointrec.inference.foldin import (
    RidgePrior,
    fit_item,
    fit_user,
    fold_in_query,
    head_loss_and_grad,
    head_rows,
)
from jointrec.scoring.exported import ExportedModel


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
    folded = fit_user(model, items, stars)
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


def test_hand_solved_one_dimensional_ridge():
    # head: out = u (no biases); trained users -1 and 1: prior 0, spread 1, penalty 0.5.
    # One 5-star rating (label 1): minimise (u - 1)^2 + 0.5 u^2, so 2(u - 1) + u = 0, u = 2/3.
    model = ExportedModel(
        user_embeddings=np.array([[0.0], [-1.0], [1.0]], dtype=np.float32),
        item_embeddings=np.array([[0.0], [3.0]], dtype=np.float32),
        mlp=[(np.array([[1.0], [0.0]], dtype=np.float32), np.zeros(1, np.float32))],
    )
    folded = fit_user(model, np.array([1]), np.array([5.0]), ridge=0.5)
    assert folded.embedding.tolist() == pytest.approx([2 / 3], rel=1e-6)
    assert folded.bias == 0.0


def test_linear_head_matches_numpy_ridge_regression(rng):
    d, n = 4, 7
    model = ExportedModel(
        user_embeddings=rng.normal(size=(12, d)).astype(np.float32),
        item_embeddings=rng.normal(size=(15, d)).astype(np.float32),
        mlp=[(rng.normal(size=(2 * d, 1)).astype(np.float32), np.float32([0.1]))],
        user_bias=rng.normal(size=12).astype(np.float32) * 0.1,
        item_bias=rng.normal(size=15).astype(np.float32) * 0.1,
        offset=0.3,
    )
    items = rng.choice(np.arange(1, 15), n, replace=False)
    stars = rng.integers(1, 6, n).astype(np.float32)
    folded = fit_user(model, items, stars, ridge=0.2, steps=1)
    # reference: least squares of the stacked system [X / sqrt(n); sqrt(P)] p = [t / sqrt(n);
    # sqrt(P) c], with X = [w_u, 1] per rating and t the label less the item's part
    kernel = model.mlp[0][0][:, 0].astype(np.float64)
    users = model.user_embeddings[1:].astype(np.float64)
    center = np.r_[users.mean(axis=0), model.user_bias[1:].mean()]
    spread = np.mean(np.sum((users - center[:-1]) ** 2, axis=1))
    penalty = 0.2 * np.r_[np.full(d, 1 / spread), 1.0]
    item_part = (
        model.item_embeddings[items] @ kernel[d:] + 0.1 + model.item_bias[items] + model.offset
    )
    target = (stars - 1) / 4 - item_part
    design = np.c_[np.tile(kernel[:d], (n, 1)), np.ones(n)]
    stacked = np.r_[design / np.sqrt(n), np.diag(np.sqrt(penalty))]
    rhs = np.r_[target / np.sqrt(n), np.sqrt(penalty) * center]
    want = np.linalg.lstsq(stacked, rhs, rcond=None)[0]
    np.testing.assert_allclose(folded.embedding, want[:-1], rtol=1e-4, atol=1e-5)
    assert folded.bias == pytest.approx(want[-1], rel=1e-4, abs=1e-5)


def _objective(model, prior, items, labels, params, side="user"):
    loss, grad, grad_bias = head_loss_and_grad(
        model, params[:-1].astype(np.float32), float(params[-1]), items, labels, side
    )
    pull = prior.penalty * (params - prior.center)
    return loss + float(pull @ (params - prior.center)), np.r_[grad, grad_bias] + 2 * pull


@pytest.mark.parametrize("biases", [True, False])
def test_relu_head_reaches_an_independent_optimisers_minimum(small_exported, biases):
    model = small_exported(biases)
    items = np.array([1, 2, 3, 4, 5, 8])
    stars = np.array([5.0, 4.0, 1.0, 2.0, 5.0, 3.0])
    labels = (stars - 1) / 4
    prior = RidgePrior.of(model, "user", 0.05)
    folded = fit_user(model, items, stars, steps=20)
    got = _objective(model, prior, items, labels, np.r_[folded.embedding, folded.bias])[0]
    reference = minimize(
        lambda p: _objective(model, prior, items, labels, p),
        prior.center,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "gtol": 1e-10},
    )
    start = _objective(model, prior, items, labels, prior.center)[0]
    assert got <= reference.fun + 1e-4 * start
    default = fit_user(model, items, stars)  # the served number of steps
    served = _objective(model, prior, items, labels, np.r_[default.embedding, default.bias])[0]
    assert served - reference.fun <= 0.1 * (start - reference.fun)


def test_head_rows_jacobian_matches_finite_differences(rng, small_exported):
    model = small_exported()
    user, items = rng.normal(size=4).astype(np.float32), np.array([1, 3, 5])
    out, jacobian = head_rows(model, user, items)
    eps = 1e-3
    for j, e in enumerate(np.eye(4, dtype=np.float32)):
        plus, _ = head_rows(model, user + eps * e, items)
        minus, _ = head_rows(model, user - eps * e, items)
        np.testing.assert_allclose(jacobian[:, j], (plus - minus) / (2 * eps), atol=2e-3)
    assert out.shape == (3,)


def test_fit_item_reduces_error(small_exported):
    model = small_exported()
    users = np.array([1, 2, 3, 4, 5])
    stars = np.array([5.0, 1.0, 5.0, 4.0, 1.0])
    labels = (stars - 1) / 4
    prior = RidgePrior.of(model, "item", 0.05)
    folded = fit_item(model, users, stars)
    before = _objective(model, prior, users, labels, prior.center, "item")[0]
    after = _objective(model, prior, users, labels, np.r_[folded.embedding, folded.bias], "item")
    assert after[0] < 0.7 * before


def test_ridge_must_be_positive(small_exported):
    from jointrec.errors import JointrecError

    with pytest.raises(JointrecError, match="ridge=0 is invalid: expected a number > 0"):
        fit_user(small_exported(), np.array([1]), np.array([4.0]), ridge=0)
