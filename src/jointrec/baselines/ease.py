"""`EASE`: Steck's closed-form item-item model, with its one hyperparameter tuned.

``B = I - P / diag(P)`` with ``P = (X^T X + lambda I)^{-1}`` (zero diagonal); scores are
``X B`` for the binary user-item matrix ``X`` of training interactions. With ``min_rating``,
``X`` holds only the ratings from that cut up (the positives the ranking metrics count), so
the model learns what users like, not what they watched.

References:
    H. Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from jointrec.baselines.base import BaselineScorer, interaction_matrix, tune_on_validation
from jointrec.data.encoded import EncodedInteractions
from jointrec.settings import EvalConfig

LAMBDAS = (200.0, 400.0, 800.0, 1600.0, 3200.0, 6400.0)
#: Positive cuts tried by `EASE.tuned_positive` (``None``: every rating).
CUTS: tuple[float | None, ...] = (None, 3.0, 4.0)


@dataclass
class EASE(BaselineScorer):
    """Item-item weights ``B`` and the training matrix ``X``.

    Example:
        >>> x = EncodedInteractions(np.array([1, 1, 2]), np.array([1, 2, 1]), None)
        >>> model = EASE.fit(x, num_users=3, num_items=3, l2=1.0)
        >>> bool(model.score_users(np.array([2]))[0, 2] > 0)  # item 2 co-occurs with 1
        True
    """

    l2: float = 0.0
    min_rating: float | None = None
    weights: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    matrix: sp.csr_matrix | None = None
    tuning: dict[str, float] = field(default_factory=dict)

    @classmethod
    def fit(
        cls,
        train: EncodedInteractions,
        num_users: int,
        num_items: int,
        l2: float = 400.0,
        min_rating: float | None = None,
    ) -> EASE:
        """Solves the closed form for ``lambda = l2`` on the rows rated ``>= min_rating``."""
        if min_rating is not None and train.rating is not None:
            train = train.take(np.flatnonzero(train.rating >= min_rating))
        x = interaction_matrix(train, num_users, num_items)
        gram = (x.T @ x).toarray()
        gram[np.diag_indices(num_items)] += l2
        p = np.linalg.inv(gram)
        b = -p / np.diag(p)[None, :]
        b[np.diag_indices(num_items)] = 0.0
        return cls(
            name="ease" if min_rating is None else "ease-positive",
            num_items=num_items,
            l2=l2,
            min_rating=min_rating,
            weights=b.astype(np.float32),
            matrix=x,
        )

    @classmethod
    def tuned(
        cls,
        train: EncodedInteractions,
        num_users: int,
        num_items: int,
        lambdas: Sequence[float] = LAMBDAS,
        metric: str = "ndcg@10",
        eval_config: EvalConfig = EvalConfig(),
    ) -> EASE:
        """Picks ``lambda`` by ``metric`` on a validation part carved from ``train``, then
        refits on all of ``train`` (the test split is never read)."""
        from jointrec.evaluation.evaluate import ranking_metrics

        model, scores = tune_on_validation(
            train,
            lambdas,
            lambda x, l2: cls.fit(x, num_users, num_items, l2),
            lambda model, fit_part, validation: ranking_metrics(
                model, fit_part, validation, eval_config
            )[metric],
            higher_is_better=True,
        )
        model.tuning = {f"{metric}@lambda={k:g}": v for k, v in scores.items()}
        return model

    @classmethod
    def tuned_positive(
        cls,
        train: EncodedInteractions,
        num_users: int,
        num_items: int,
        cuts: Sequence[float | None] = CUTS,
        lambdas: Sequence[float] = LAMBDAS,
        metric: str = "ndcg@10",
        eval_config: EvalConfig = EvalConfig(),
    ) -> EASE:
        """Picks the positive cut and ``lambda`` together by ``metric`` on a validation part
        carved from ``train``, then refits on all of ``train`` with the pair."""
        from jointrec.evaluation.evaluate import ranking_metrics

        if train.rating is None:
            cuts = (None,)
        grid = [(cut, l2) for cut in cuts for l2 in lambdas]
        model, scores = tune_on_validation(
            train,
            range(len(grid)),
            lambda x, k: cls.fit(x, num_users, num_items, grid[int(k)][1], grid[int(k)][0]),
            lambda model, fit_part, validation: ranking_metrics(
                model, fit_part, validation, eval_config
            )[metric],
            higher_is_better=True,
        )
        model.name = "ease-positive"
        model.tuning = {
            f"{metric}@cut={grid[int(k)][0]},lambda={grid[int(k)][1]:g}": v
            for k, v in scores.items()
        }
        return model

    def score_users(self, users: np.ndarray) -> np.ndarray:
        assert self.matrix is not None
        return np.asarray(self.matrix[np.asarray(users)] @ self.weights)
