"""`SeenItems`: each user's already-rated items as a CSR structure, for exclusion."""

from __future__ import annotations

import numpy as np


class SeenItems:
    """Per-user item sets in compressed sparse rows.

    Args:
        users: ``[n]`` user indices.
        items: ``[n]`` item indices.
        num_users: Number of user rows (indices ``0..num_users-1``).
        values: Optional ``[n]`` values per pair (e.g. ratings), kept aligned with items.

    Example:
        >>> seen = SeenItems(np.array([1, 1, 2]), np.array([5, 3, 5]), num_users=3)
        >>> seen.items_of(1).tolist(), seen.items_of(0).tolist()
        ([3, 5], [])
    """

    def __init__(
        self, users: np.ndarray, items: np.ndarray, num_users: int, values: np.ndarray | None = None
    ) -> None:
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        order = np.lexsort((items, users))
        users, items = users[order], items[order]
        keep = np.ones(len(users), dtype=bool)
        keep[1:] = (users[1:] != users[:-1]) | (items[1:] != items[:-1])
        users, items = users[keep], items[keep]
        self.values = None if values is None else np.asarray(values)[order][keep]
        self.num_users = int(num_users)
        self.indptr = np.zeros(self.num_users + 1, dtype=np.int64)
        np.cumsum(
            np.bincount(users, minlength=self.num_users)[: self.num_users], out=self.indptr[1:]
        )
        self.indices = items.astype(np.int32)

    @classmethod
    def from_arrays(
        cls, indptr: np.ndarray, indices: np.ndarray, values: np.ndarray | None = None
    ) -> SeenItems:
        """Rebuilds from saved ``indptr``, ``indices`` and optional ``values``."""
        obj = cls.__new__(cls)
        obj.values = values
        obj.indptr = np.asarray(indptr, dtype=np.int64)
        obj.indices = np.asarray(indices, dtype=np.int32)
        obj.num_users = len(obj.indptr) - 1
        return obj

    def items_of(self, user: int) -> np.ndarray:
        """Sorted item indices the user has seen (empty for unknown users)."""
        if not 0 <= user < self.num_users:
            return self.indices[:0]
        return self.indices[self.indptr[user] : self.indptr[user + 1]]

    def values_of(self, user: int) -> np.ndarray:
        """Values aligned with `items_of` (requires ``values``)."""
        if self.values is None:
            raise ValueError("these SeenItems carry no values")
        if not 0 <= user < self.num_users:
            return self.values[:0]
        return self.values[self.indptr[user] : self.indptr[user + 1]]

    def counts(self, users: np.ndarray) -> np.ndarray:
        """Number of seen items of each user."""
        users = np.asarray(users)
        inside = (users >= 0) & (users < self.num_users)
        safe = np.where(inside, users, 0)
        return np.where(inside, self.indptr[safe + 1] - self.indptr[safe], 0)

    def mask(self, scores: np.ndarray, users: np.ndarray, value: float = -np.inf) -> np.ndarray:
        """Sets ``scores[r, j] = value`` for every item ``j`` that ``users[r]`` has seen."""
        rows, cols = self.coordinates(users)
        scores[rows, cols] = value
        return scores

    def coordinates(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row in ``users``, item) pairs of all seen items of ``users``."""
        users = np.asarray(users)
        counts = self.counts(users)
        rows = np.repeat(np.arange(len(users)), counts)
        inside = (users >= 0) & (users < self.num_users)
        starts = np.where(inside, self.indptr[np.where(inside, users, 0)], 0)
        offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        cols = self.indices[np.repeat(starts, counts) + offsets]
        return rows, cols
