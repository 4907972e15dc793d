"""`EncodedInteractions`: interactions as vocabulary indices, ready for training and scoring."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jointrec.data.interactions import Interactions
from jointrec.data.vocabulary import Vocabulary


@dataclass(frozen=True)
class EncodedInteractions:
    """Parallel columns of user and item indices (0 = unknown) and ratings in stars.

    ``unknown_user`` tells apart the users the vocabulary does not know (index 0): per row,
    0 for a known user, else ``1..m`` numbering the distinct unknown raw ids (``None``
    when every user is known), so an evaluation can count each of them. ``time`` is each
    row's timestamp when the split is by time (`jointrec.experiments.pipeline.prepare_data`
    sets it for ``temporal`` and ``leave_last_n``), so the validation part tuning carves
    from training is the latest part too (`jointrec.baselines.carve_validation`).

    Example:
        >>> v = Vocabulary(np.array([7, 8]))
        >>> x = Interactions(np.array([7, 9]), np.array([8, 8]), np.array([5.0, 1.0]))
        >>> e = encode(x, v, v)
        >>> e.user.tolist(), e.labels().tolist(), e.unknown_user.tolist()
        ([1, 0], [1.0, 0.0], [0, 1])
    """

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray | None
    rating_scale: tuple[float, float] = (1.0, 5.0)
    unknown_user: np.ndarray | None = None
    time: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.user)

    @property
    def rated(self) -> np.ndarray:
        """``[n]`` booleans: which rows carry a rating (all false without ratings)."""
        if self.rating is None:
            return np.zeros(len(self.user), dtype=bool)
        return np.isfinite(self.rating)

    def labels(self) -> np.ndarray:
        """Ratings mapped to ``[0, 1]``: ``(r - low) / (high - low)`` (all 1 without ratings).

        Unrated rows of mixed feedback keep NaN: the rating loss skips them and retrieval
        counts them as positives (`jointrec.model.rating_task.retrieval_labels`).
        """
        if self.rating is None:
            return np.ones(len(self.user), dtype=np.float32)
        low, high = self.rating_scale
        return ((self.rating - low) / (high - low)).astype(np.float32)

    def take(self, rows: np.ndarray) -> EncodedInteractions:
        """Rows ``rows`` only."""
        return EncodedInteractions(
            self.user[rows],
            self.item[rows],
            None if self.rating is None else self.rating[rows],
            self.rating_scale,
            None if self.unknown_user is None else self.unknown_user[rows],
            None if self.time is None else self.time[rows],
        )


def encode(x: Interactions, users: Vocabulary, items: Vocabulary) -> EncodedInteractions:
    """Maps raw ids to indices (unknown ids to 0), numbering the unknown users apart."""
    user = users.encode(x.user)
    unknown = None
    missing = user == 0
    if missing.any():
        unknown = np.zeros(len(user), dtype=np.int64)
        unknown[missing] = np.unique(np.asarray(x.user)[missing], return_inverse=True)[1] + 1
    return EncodedInteractions(user, items.encode(x.item), x.rating, x.rating_scale, unknown)
