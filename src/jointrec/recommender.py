"""`Recommender`: retrieve -> rank -> filter with one trained artifact, NumPy only.

Example:
    >>> rec = Recommender.load("runs/joint")  # doctest: +SKIP
    >>> [r.title for r in rec.recommend(5, k=3)]  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from jointrec.artifact import Artifact, load_artifact
from jointrec.errors import JointrecError, check_positive_int
from jointrec.retrieval.exact import top_k_rows

MAX_K = 1000


@dataclass(frozen=True)
class Recommendation:
    """One recommended item: predicted stars from the rating head, score from retrieval.

    ``predicted_rating`` is ``None`` for a model trained without ratings (retrieval only).
    """

    item_id: Any
    title: str
    predicted_rating: float | None
    retrieval_score: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class RatedItem:
    """An item the user rated (or, without ratings, interacted with) in the training data."""

    item_id: Any
    title: str
    rating: float | None


class Recommender:
    """Answers recommendation queries from an `Artifact`.

    Args:
        artifact: A loaded artifact.
    """

    def __init__(self, artifact: Artifact) -> None:
        self.artifact = artifact
        self.model = artifact.exported

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Recommender:
        """Loads the artifact at ``path``."""
        return cls(load_artifact(path))

    def _user_index(self, user: Any) -> int:
        return self.artifact.users.index(_coerce_id(user, self.artifact.users.ids))

    def recommend(
        self, user: Any, k: int = 10, *, exclude_seen: bool = True, candidates: int = 100
    ) -> list[Recommendation]:
        """Top ``k`` items for a known user.

        Retrieves ``candidates`` items by retrieval score (already-rated items removed when
        ``exclude_seen``), ranks them by predicted rating, and returns the best ``k``. A model
        trained without ratings ranks by retrieval score and predicts no stars.

        Args:
            user: Raw user id.
            k: Items to return, ``1 <= k <= candidates``.
            exclude_seen: Leave out items the user rated in the training data.
            candidates: Items retrieved before ranking (at most the catalogue).
        """
        check_positive_int("k", k, maximum=MAX_K)
        check_positive_int("candidates", candidates)
        candidates = min(candidates, self.model.num_items - 1)  # the catalogue may be smaller
        k = min(k, candidates)
        if k > candidates:
            raise JointrecError(
                f"k={k} is larger than candidates={candidates}: expected k <= candidates"
            )
        u = self._user_index(user)
        scores = self.model.score_users(np.array([u]))[0].astype(np.float32, copy=True)
        scores[0] = -np.inf
        if exclude_seen:
            scores[self.artifact.seen.items_of(u)] = -np.inf
        pool = top_k_rows(scores[None, :], candidates)[0]
        pool = pool[np.isfinite(scores[pool])]
        if not self.model.can_rate:
            return [self._recommendation(int(i), None, float(scores[i])) for i in pool[:k]]
        stars = self.model.predict_ratings(np.full(len(pool), u), pool)
        order = np.lexsort((-scores[pool], -stars))[:k]
        return [
            self._recommendation(int(pool[j]), float(stars[j]), float(scores[pool[j]]))
            for j in order
        ]

    def predict(self, user: Any, items: list[Any]) -> list[float]:
        """Predicted stars of ``user`` for raw item ids."""
        if not self.model.can_rate:
            raise JointrecError(
                f"{self.artifact.path} was trained without ratings (retrieval only), so it "
                "cannot predict ratings: retrain with a rating column, or use recommend()"
            )
        u = self._user_index(user)
        idx = np.array(
            [self.artifact.items.index(_coerce_id(i, self.artifact.items.ids)) for i in items],
            dtype=np.int64,
        )
        return [float(v) for v in self.model.predict_ratings(np.full(len(idx), u), idx)]

    def similar_items(self, item: Any, k: int = 10) -> list[Recommendation]:
        """Items whose retrieval vectors are closest (cosine) to ``item``'s."""
        check_positive_int("k", k, maximum=MAX_K)
        j = self.artifact.items.index(_coerce_id(item, self.artifact.items.ids))
        vectors = self.model.item_vectors
        norms = np.linalg.norm(vectors, axis=1) + 1e-12
        scores = (vectors @ vectors[j]) / (norms * norms[j])
        scores[0] = scores[j] = -np.inf
        top = top_k_rows(scores[None, :], k)[0]
        return [self._recommendation(int(i), float("nan"), float(scores[i])) for i in top]

    def history(self, user: Any, n: int = 10) -> list[RatedItem]:
        """The user's ``n`` highest-rated training items."""
        u = self._user_index(user)
        items = self.artifact.seen.items_of(u)
        ratings = (
            self.artifact.seen.values_of(u)
            if self.artifact.seen.values is not None
            else np.zeros(len(items))
        )
        order = np.lexsort((items, -ratings))[:n]
        has_ratings = self.artifact.seen.values is not None
        return [
            RatedItem(
                self.artifact.items.decode(np.array([items[j]]))[0].item(),
                self.artifact.title(int(items[j])),
                float(ratings[j]) if has_ratings else None,
            )
            for j in order
        ]

    def _recommendation(self, index: int, stars: float | None, score: float) -> Recommendation:
        raw = self.artifact.items.decode(np.array([index]))[0]
        return Recommendation(
            raw.item() if isinstance(raw, np.generic) else raw,
            self.artifact.title(index),
            stars,
            score,
        )


def _coerce_id(value: Any, ids: np.ndarray) -> Any:
    """Turns ``"5"`` into ``5`` when the vocabulary holds integers (CLI and URL input)."""
    if ids.dtype.kind == "i" and isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            raise JointrecError(
                f"id {value!r} is not an integer: this model's ids are integers"
            ) from None
    return value
