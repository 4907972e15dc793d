"""`Scorer`: what evaluation and serving need from any model, joint or baseline; and
`DotProductScorer`, a scorer whose retrieval scores are dot products of its vectors."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Scorer(Protocol):
    """A model seen from outside: retrieval scores over the catalogue and rating predictions.

    ``num_items`` counts item indices including the unknown index 0. A scorer that cannot do
    one of the tasks sets ``can_retrieve`` or ``can_rate`` to ``False``.
    """

    name: str
    can_retrieve: bool
    can_rate: bool

    @property
    def num_items(self) -> int:
        """Item indices, the unknown index 0 included (read-only for callers)."""
        ...

    def score_users(self, users: np.ndarray) -> np.ndarray:
        """``[len(users), num_items]`` retrieval scores (higher is better)."""
        ...

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted ratings in stars for ``(users[j], items[j])`` pairs."""
        ...


@runtime_checkable
class DotProductScorer(Scorer, Protocol):
    """A `Scorer` whose retrieval scores are ``user_vectors[u] @ item_vectors.T``, so that a
    compiled ranker (`jointrec.backend.catalogue_ranker`) can rank with the vectors alone."""

    @property
    def user_vectors(self) -> np.ndarray:
        """``[num_users, d]`` query vectors."""
        ...

    @property
    def item_vectors(self) -> np.ndarray:
        """``[num_items, d]`` candidate vectors."""
        ...
