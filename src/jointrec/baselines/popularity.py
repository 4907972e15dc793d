"""`Popularity`: every user gets the most-rated training items (all of training, or only
its latest rows: recent popularity, for splits by time)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from jointrec.baselines.base import BaselineScorer
from jointrec.data.encoded import EncodedInteractions
from jointrec.data.splits import recent_rows


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

    @classmethod
    def fit_recent(cls, train: EncodedInteractions, num_items: int, window: float) -> Popularity:
        """Counts each item's interactions among the latest ``window`` share of the training
        rows (``train.time`` must be set: splits by time keep it); ties, such as items with
        no recent interaction, are ordered by their count over all of training.

        Example:
            >>> x = EncodedInteractions(np.array([1, 2, 2, 1]), np.array([3, 3, 1, 2]), None,
            ...                         time=np.array([1, 2, 3, 4]))
            >>> scores = Popularity.fit_recent(x, 4, 0.5).score_users(np.array([1]))[0]
            >>> [round(float(v), 3) for v in scores]
            [0.0, 1.167, 1.167, 0.333]
        """
        rows = recent_rows(train.time, window)
        if rows is None:
            raise ValueError("recent popularity needs training times and a window below 1")
        recent = np.bincount(train.item[rows], minlength=num_items)[:num_items]
        every = cls.fit(train, num_items).counts
        counts = (recent + 0.5 * every / (every.max() + 1.0)).astype(np.float32)  # ties
        counts[0] = 0.0
        return cls(name="recent-popularity", num_items=num_items, counts=counts)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.counts, (len(users), self.num_items))
