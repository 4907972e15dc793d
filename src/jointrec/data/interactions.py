"""Columnar containers: `Interactions` (who rated what, when) and `FeatureTable`.

Example:
    >>> import numpy as np
    >>> x = Interactions(user=np.array([1, 1, 2]), item=np.array([10, 11, 10]),
    ...                  rating=np.array([5.0, 3.0, 4.0]))
    >>> len(x), x.take(np.array([2])).user.tolist()
    (3, [2])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jointrec.data.validation import check_ids, check_numeric
from jointrec.errors import JointrecError


def _as_id_array(name: str, values: np.ndarray, source: str) -> np.ndarray:
    return check_ids(source, name, values)


@dataclass(frozen=True)
class Interactions:
    """User-item interactions as parallel NumPy columns of raw ids.

    Args:
        user: Raw user ids (integers or strings).
        item: Raw item ids (integers or strings).
        rating: Explicit ratings in stars, or ``None`` for implicit feedback. Mixed
            feedback: NaN (or ``None`` in an object array) marks an unrated row, which is a
            retrieval positive and takes no part in the rating loss or RMSE.
        timestamp: Seconds since the epoch, or ``None``.
        rating_scale: ``(low, high)`` of the rating scale, checked against ``rating``.
        source: Where the data came from, used in error messages.
    """

    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray | None = None
    timestamp: np.ndarray | None = None
    rating_scale: tuple[float, float] = (1.0, 5.0)
    source: str = "interactions"

    def __post_init__(self) -> None:
        object.__setattr__(self, "user", _as_id_array("user", self.user, self.source))
        object.__setattr__(self, "item", _as_id_array("item", self.item, self.source))
        n = len(self.user)
        if len(self.item) != n:
            raise JointrecError(
                f"{self.source}: columns 'user' ({n} rows) and 'item' "
                f"({len(self.item)} rows) differ in length"
            )
        low, high = (float(v) for v in self.rating_scale)
        if not (np.isfinite(low) and np.isfinite(high) and low < high):
            raise JointrecError(
                f"{self.source}: rating_scale={self.rating_scale!r} "
                "must be (low, high) with low < high"
            )
        object.__setattr__(self, "rating_scale", (low, high))
        if self.rating is not None:
            rating = np.asarray(self.rating)
            self._check_column("rating", rating, n)
            rating = check_numeric(
                self.source,
                "rating",
                rating,
                low=low,
                high=high,
                dtype=np.float32,
                allow_missing=True,
            )
            object.__setattr__(self, "rating", rating)
        if self.timestamp is not None:
            ts = np.asarray(self.timestamp)
            self._check_column("timestamp", ts, n)
            if ts.dtype.kind != "i":  # whole seconds: fractions are truncated
                ts = check_numeric(
                    self.source, "timestamp", ts, low=-(2.0**62), high=2.0**62
                ).astype(np.int64)
            object.__setattr__(self, "timestamp", ts.astype(np.int64, copy=False))

    def _check_column(self, name: str, column: np.ndarray, n: int) -> None:
        if column.ndim != 1 or len(column) != n:
            raise JointrecError(
                f"{self.source}: column {name!r} has shape {column.shape}: "
                f"expected ({n},) like 'user'"
            )

    def __len__(self) -> int:
        return len(self.user)

    @property
    def has_ratings(self) -> bool:
        """Whether explicit ratings are present (a rating column with at least one rated
        row)."""
        return self.rating is not None and bool(np.isfinite(self.rating).any())

    @property
    def rated(self) -> np.ndarray:
        """``[n]`` booleans: which rows carry a rating (none without a rating column).

        Example:
            >>> x = Interactions(np.array([1, 2]), np.array([3, 3]), np.array([4.0, np.nan]))
            >>> x.rated.tolist(), x.has_ratings
            ([True, False], True)
        """
        if self.rating is None:
            return np.zeros(len(self.user), dtype=bool)
        return np.isfinite(self.rating)

    def take(self, rows: np.ndarray) -> Interactions:
        """Returns the interactions at ``rows`` (indices or a boolean mask), in that order."""
        return Interactions(
            user=self.user[rows],
            item=self.item[rows],
            rating=None if self.rating is None else self.rating[rows],
            timestamp=None if self.timestamp is None else self.timestamp[rows],
            rating_scale=self.rating_scale,
            source=self.source,
        )

    def concat(self, other: Interactions) -> Interactions:
        """Returns ``self`` followed by ``other``."""

        def join(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
            return None if a is None or b is None else np.concatenate([a, b])

        return Interactions(
            user=np.concatenate([self.user, other.user]),
            item=np.concatenate([self.item, other.item]),
            rating=join(self.rating, other.rating),
            timestamp=join(self.timestamp, other.timestamp),
            rating_scale=self.rating_scale,
            source=self.source,
        )


@dataclass(frozen=True)
class FeatureTable:
    """Side features keyed by raw id: one NumPy array per feature, aligned with ``ids``.

    Args:
        ids: Raw ids, unique.
        columns: Feature name -> array whose first axis matches ``ids`` (multi-hot features
            are 2-D).
        source: Where the table came from, used in error messages.
        metadata: JSON-ready facts about columns, e.g. ``{"genres": [names of the columns]}``.
    """

    ids: np.ndarray
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)
    source: str = "features"
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ids = _as_id_array("id", self.ids, self.source)
        uniq, counts = np.unique(ids, return_counts=True)
        if (counts > 1).any():
            dup, times = uniq[counts > 1][0].item(), counts[counts > 1][0]
            raise JointrecError(
                f"{self.source}: id {dup!r} appears {times} times: expected each id once"
            )
        object.__setattr__(self, "ids", ids)
        for name, column in self.columns.items():
            if np.ndim(column) == 0 or len(column) != len(ids):
                rows = len(column) if np.ndim(column) else "no"
                raise JointrecError(
                    f"{self.source}: feature {name!r} has {rows} rows: "
                    f"expected {len(ids)} like the ids"
                )

    def __len__(self) -> int:
        return len(self.ids)

    def column(self, name: str) -> np.ndarray:
        """Returns a feature column, with a clear error when it does not exist."""
        try:
            return self.columns[name]
        except KeyError:
            raise JointrecError(
                f"{self.source}: no feature {name!r}; available: {sorted(self.columns)}"
            ) from None

    def lookup(self, name: str, ids: np.ndarray, default: object = None) -> np.ndarray:
        """Returns feature ``name`` for raw ``ids`` (``default`` where an id is unknown)."""
        column = self.column(name)
        order = np.argsort(self.ids, kind="stable")
        sorted_ids = self.ids[order]
        ids = np.asarray(ids).astype(sorted_ids.dtype)
        pos = np.clip(np.searchsorted(sorted_ids, ids), 0, len(sorted_ids) - 1)
        found = sorted_ids[pos] == ids
        out = column[order[pos]].copy()
        if not found.all():
            out = out.astype(object) if default is not None and out.dtype.kind not in "O" else out
            out[~found] = default
        return out


@dataclass(frozen=True)
class Dataset:
    """Interactions with optional user and item feature tables.

    Args:
        name: Short name, e.g. ``"movielens-100k"``.
        interactions: The interactions.
        users: User features (MovieLens 100k: age, gender, occupation, zip), or ``None``.
        items: Item features (MovieLens: title, year, genres), or ``None``.
        notes: What reading the data assumed or changed, for the user (an inferred rating
            scale, dropped duplicates).
    """

    name: str
    interactions: Interactions
    users: FeatureTable | None = None
    items: FeatureTable | None = None
    notes: tuple[str, ...] = ()
