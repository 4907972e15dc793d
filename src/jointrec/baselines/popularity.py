"""`Popularity`: every user gets the most-rated training items."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from jointrec.baselines.base import BaselineScorer
from jointrec.data.encoded import EncodedInteractions


@dataclass
class Popularity(BaselineScorer):
    """Scores each item by its number of training interactions, the same for every user.

    Example:
        >>> x = EncodedInteractions(np.array([1, 2, 2]), np.array([3, 3, 1]), None)
        >>> Popularity.fit(x, num_items=4).score_users(np.array([1]))[0].tolist()
        [0.0, 1.0, 0.0, 2.0]
    """

    counts: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def fit(cls, train: EncodedInteractions, num_items: int) -> Popularity:
        """Counts each item's training interactions."""
        counts = np.bincount(train.item, minlength=num_items)[:num_items].astype(np.float32)
        counts[0] = 0.0
        return cls(name="popularity", num_items=num_items, counts=counts)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(users), self.num_items))
