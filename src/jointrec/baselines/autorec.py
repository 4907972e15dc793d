"""`IAutoRec`: item-based AutoRec, the rating specialist to beat, in NumPy.

Each item is its vector of training ratings ``r_i`` (one entry per user, 0 where unrated).
An autoencoder ``h_i = sigmoid(V^T r_i + b)``, ``r_hat_i = W^T h_i + c`` is fitted to the
observed entries only, with an L2 penalty on ``V`` and ``W``, by full-batch Adam. The
predicted rating of ``(u, i)`` is ``r_hat_i[u]``. The penalty is tuned on a validation part
carved from training.

References:
    S. Sedhain, A. K. Menon, S. Sanner, L. Xie, "AutoRec: Autoencoders Meet Collaborative
    Filtering", WWW 2015.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit

from jointrec.baselines.base import BaselineScorer, tune_on_validation, validation_rmse
from jointrec.data.encoded import EncodedInteractions

PENALTIES = (30.0, 100.0, 300.0)


@dataclass
class IAutoRec(BaselineScorer):
    """Item-based AutoRec; predicts stars (it does not retrieve).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> u, i = rng.integers(1, 30, 600), rng.integers(1, 20, 600)
        >>> r = np.clip(np.round(2 + (u % 3) + (i % 2)), 1, 5).astype("float32")
        >>> x = EncodedInteractions(u, i, r)
        >>> model = IAutoRec.fit(x, 30, 20, hidden=16, penalty=0.1, epochs=300)
        >>> float(np.abs(model.predict_ratings(u, i) - r).mean()) < 0.5
        True
    """

    #: ``[num_items, num_users]`` predicted ratings (``r_hat``), unknown ones filled.
    predictions: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    rating_scale: tuple[float, float] = (1.0, 5.0)
    penalty: float = 0.0
    tuning: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        train: EncodedInteractions,
        num_users: int,
        num_items: int,
        hidden: int = 500,
        penalty: float = 100.0,
        epochs: int = 110,
        learning_rate: float = 0.01,
        seed: int = 0,
    ) -> IAutoRec:
        """Fits the autoencoder by ``epochs`` full-batch Adam steps.

        Items or users with no training rating are predicted by the mean rating of the user
        (or item) that is known, else the global mean.
        """
        assert train.rating is not None, "IAutoRec needs ratings"
        train = train.take(np.flatnonzero(train.rated))  # mixed feedback: rated rows
        ratings = np.zeros((num_items, num_users), np.float32)
        mask = np.zeros((num_items, num_users), np.float32)
        ratings[train.item, train.user] = train.rating
        mask[train.item, train.user] = 1.0
        rng = np.random.default_rng(seed)
        scale = np.float32(1.0 / np.sqrt(num_users))
        params = {
            "v": rng.normal(0.0, scale, (num_users, hidden)).astype(np.float32),
            "b": np.zeros(hidden, np.float32),
            "w": rng.normal(0.0, 1.0 / np.sqrt(hidden), (hidden, num_users)).astype(np.float32),
            "c": np.zeros(num_users, np.float32),
        }
        adam = _Adam(params, learning_rate)
        for _ in range(epochs):
            adam.step(loss_and_grads(params, ratings, mask, penalty)[1])
        out = expit(ratings @ params["v"] + params["b"]) @ params["w"] + params["c"]
        out = _fill_unknown(out, ratings, mask)
        return cls(
            name="i-autorec",
            num_items=num_items,
            can_retrieve=False,
            can_rate=True,
            predictions=np.clip(out, *train.rating_scale).astype(np.float32),
            rating_scale=train.rating_scale,
            penalty=penalty,
        )

    @classmethod
    def tuned(
        cls,
        train: EncodedInteractions,
        num_users: int,
        num_items: int,
        penalties: Sequence[float] = PENALTIES,
        **kwargs: int,
    ) -> IAutoRec:
        """Picks the L2 penalty by RMSE on a validation part of ``train``, then refits."""
        train = train.take(np.flatnonzero(train.rated))  # mixed feedback: rated rows

        model, scores = tune_on_validation(
            train,
            penalties,
            lambda x, penalty: cls.fit(x, num_users, num_items, penalty=penalty, **kwargs),
            validation_rmse,
            higher_is_better=False,
        )
        model.tuning = {f"rmse@l2={k:g}": v for k, v in scores.items()}
        return model

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.predictions[np.asarray(items), np.asarray(users)]


def loss_and_grads(
    params: dict[str, np.ndarray], ratings: np.ndarray, mask: np.ndarray, penalty: float
) -> tuple[float, dict[str, np.ndarray]]:
    """AutoRec's objective and its gradients with respect to ``params``.

    ``0.5 * sum(mask * (r_hat - r)^2) + 0.5 * penalty * (|V|^2 + |W|^2)`` with
    ``r_hat = sigmoid(r V + b) W + c`` for the ``[items, users]`` rating matrix ``r``.
    """
    hidden = expit(ratings @ params["v"] + params["b"])
    error = mask * (hidden @ params["w"] + params["c"] - ratings)
    d_hidden = (error @ params["w"].T) * hidden * (1.0 - hidden)
    loss = 0.5 * float((error * error).sum()) + 0.5 * penalty * float(
        (params["v"] ** 2).sum() + (params["w"] ** 2).sum()
    )
    return loss, {
        "v": ratings.T @ d_hidden + penalty * params["v"],
        "b": d_hidden.sum(axis=0),
        "w": hidden.T @ error + penalty * params["w"],
        "c": error.sum(axis=0),
    }


def _fill_unknown(out: np.ndarray, ratings: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Replaces predictions for items or users without training ratings by known means."""
    counts_item, counts_user = mask.sum(axis=1), mask.sum(axis=0)
    total = max(float(mask.sum()), 1.0)
    mean = float(ratings.sum()) / total
    user_mean = np.where(counts_user > 0, ratings.sum(axis=0) / np.maximum(counts_user, 1), mean)
    item_mean = np.where(counts_item > 0, ratings.sum(axis=1) / np.maximum(counts_item, 1), mean)
    out = out.copy()
    out[counts_item == 0, :] = user_mean[None, :]
    out[:, counts_user == 0] = item_mean[:, None]
    out[np.ix_(counts_item == 0, counts_user == 0)] = mean
    return out


class _Adam:
    """Adam (Kingma & Ba) on a dict of NumPy arrays, updated in place."""

    def __init__(self, params: dict[str, np.ndarray], learning_rate: float) -> None:
        self.params, self.lr, self.t = params, learning_rate, 0
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, grads: dict[str, np.ndarray], b1: float = 0.9, b2: float = 0.999) -> None:
        self.t += 1
        lr = self.lr * np.sqrt(1.0 - b2**self.t) / (1.0 - b1**self.t)
        for key, grad in grads.items():
            self.m[key] = b1 * self.m[key] + (1.0 - b1) * grad
            self.v[key] = b2 * self.v[key] + (1.0 - b2) * grad * grad
            self.params[key] -= (lr * self.m[key] / (np.sqrt(self.v[key]) + 1e-8)).astype(
                np.float32
            )
