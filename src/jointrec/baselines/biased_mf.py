"""`BiasedMF`: ``r = mu + b_u + b_i + p_u . q_i`` fitted by alternating least squares.

Each half-step solves, for every user (then every item), the ridge regression of its
residual ratings on ``[1, q_i]`` (then ``[1, p_u]``) in closed form, with the penalty scaled
by the number of ratings (ALS-WR). The penalty is tuned on a validation part of training.

References:
    Y. Zhou et al., "Large-scale Parallel Collaborative Filtering for the Netflix Prize",
    AAIM 2008; Y. Koren et al., "Matrix Factorization Techniques for Recommender Systems",
    IEEE Computer 2009.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from jointrec.baselines.base import BaselineScorer, tune_on_validation, validation_rmse
from jointrec.data.encoded import EncodedInteractions

REGULARIZATIONS = (0.08, 0.12, 0.18, 0.27)


@dataclass
class BiasedMF(BaselineScorer):
    """Biased matrix factorisation; predicts stars and ranks by predicted rating.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> u, i = rng.integers(1, 20, 300), rng.integers(1, 30, 300)
        >>> r = np.clip(np.round(3 + (u % 3) - (i % 2)), 1, 5).astype("float32")
        >>> mf = BiasedMF.fit(EncodedInteractions(u, i, r), 20, 30, factors=4, iterations=5)
        >>> float(np.abs(mf.predict_ratings(u, i) - r).mean()) < 0.5
        True
    """

    mean: float = 0.0
    user_bias: np.ndarray = field(default_factory=lambda: np.zeros(0))
    item_bias: np.ndarray = field(default_factory=lambda: np.zeros(0))
    user_factors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    item_factors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    rating_scale: tuple[float, float] = (1.0, 5.0)
    regularization: float = 0.0
    tuning: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        train: EncodedInteractions,
        num_users: int,
        num_items: int,
        factors: int = 32,
        regularization: float = 0.05,
        iterations: int = 10,
        seed: int = 0,
    ) -> BiasedMF:
        """Runs ``iterations`` rounds of ALS."""
        train = train.take(np.flatnonzero(train.rated))  # mixed feedback: rated rows
        assert train.rating is not None, "BiasedMF needs ratings"
        rating = train.rating.astype(np.float64)
        mean = float(rating.mean())
        rng = np.random.default_rng(seed)
        p = rng.normal(0, 0.1, (num_users, factors))
        q = rng.normal(0, 0.1, (num_items, factors))
        bu, bi = np.zeros(num_users), np.zeros(num_items)
        by_user = _groups(train.user, num_users)
        by_item = _groups(train.item, num_items)
        for _ in range(iterations):
            _solve(by_user, train.item, rating - mean - bi[train.item], q, p, bu, regularization)
            _solve(by_item, train.user, rating - mean - bu[train.user], p, q, bi, regularization)
        return cls(
            name="biased-mf",
            num_items=num_items,
            can_retrieve=True,
            can_rate=True,
            mean=mean,
            user_bias=bu,
            item_bias=bi,
            user_factors=p.astype(np.float32),
            item_factors=q.astype(np.float32),
            rating_scale=train.rating_scale,
            regularization=regularization,
        )

    @classmethod
    def tuned(
        cls,
        train: EncodedInteractions,
        num_users: int,
        num_items: int,
        regularizations: Sequence[float] = REGULARIZATIONS,
        **kwargs: int,
    ) -> BiasedMF:
        """Picks the penalty by RMSE on a validation part of ``train``, then refits on all."""
        train = train.take(np.flatnonzero(train.rated))  # mixed feedback: rated rows

        model, scores = tune_on_validation(
            train,
            regularizations,
            lambda x, reg: cls.fit(x, num_users, num_items, regularization=reg, **kwargs),
            validation_rmse,
            higher_is_better=False,
        )
        model.tuning = {f"rmse@reg={k:g}": v for k, v in scores.items()}
        return model

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        users, items = np.asarray(users), np.asarray(items)
        raw = (
            self.mean
            + self.user_bias[users]
            + self.item_bias[items]
            + np.einsum("ij,ij->i", self.user_factors[users], self.item_factors[items])
        )
        return np.clip(raw, *self.rating_scale).astype(np.float32)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users)
        return (
            self.user_bias[users, None]
            + self.item_bias[None, :]
            + self.user_factors[users] @ self.item_factors.T
        ).astype(np.float32)


def _groups(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(order, indptr): rows of ``keys`` grouped by key, CSR style."""
    order = np.argsort(keys, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n)[:n], out=indptr[1:])
    return order, indptr


def _solve(
    groups: tuple[np.ndarray, np.ndarray],
    other: np.ndarray,
    target: np.ndarray,
    fixed: np.ndarray,
    out_factors: np.ndarray,
    out_bias: np.ndarray,
    reg: float,
) -> None:
    """Ridge-solves ``[b, f]`` of each row of ``out`` against ``[1, fixed[other]]``."""
    order, indptr = groups
    k = fixed.shape[1]
    eye = np.eye(k + 1)
    for row in range(len(indptr) - 1):
        rows = order[indptr[row] : indptr[row + 1]]
        if len(rows) == 0:
            continue
        design = np.hstack([np.ones((len(rows), 1)), fixed[other[rows]]])
        gram = design.T @ design + reg * len(rows) * eye
        solution = np.linalg.solve(gram, design.T @ target[rows])
        out_bias[row], out_factors[row] = solution[0], solution[1:]
