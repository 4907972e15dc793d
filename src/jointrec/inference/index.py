"""`VectorIndex`: top-k maximum-inner-product search over item vectors, and `ExactIndex`.

An index stores one vector per item under an integer *label* (the item index) and answers
``search(queries, k, exclude=...)`` with the ``k`` best labels and their scores. The base
class validates input and removes excluded labels (already-rated items) by over-fetching;
subclasses implement `VectorIndex._search`, `VectorIndex._add` and persistence.

Example:
    >>> import numpy as np
    >>> index = ExactIndex(np.eye(3, dtype=np.float32), labels=np.array([1, 2, 3]))
    >>> labels, scores = index.search(np.array([[0.0, 1.0, 0.5]]), 2, exclude=[np.array([2])])
    >>> labels.tolist(), scores.tolist()
    ([[3, 1]], [[0.5, 0.0]])
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from jointrec.errors import JointrecError

_NONE = np.zeros(0, dtype=np.int64)


class VectorIndex:
    """Shared validation and exclusion for top-k indexes.

    Args:
        dim: Vector width.
    """

    kind = "base"
    exact_scores = True  # whether returned scores are the vectors' exact inner products

    def __init__(self, dim: int) -> None:
        if dim < 1:
            raise JointrecError(f"index dim={dim} is invalid: expected a positive integer")
        self.dim = int(dim)
        self.labels = np.zeros(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        """Adds ``[n, dim]`` vectors under ``[n]`` new integer labels (no retraining needed)."""
        vectors = self._check_queries(vectors, "vectors")
        labels = np.asarray(labels, dtype=np.int64).reshape(-1)
        if len(labels) != len(vectors):
            raise JointrecError(
                f"got {len(vectors)} vectors but {len(labels)} labels: expected one label each"
            )
        if labels.min(initial=0) < 0:
            raise JointrecError(f"index labels must be >= 0, got {int(labels.min())}")
        if len(np.unique(labels)) != len(labels) or np.isin(labels, self.labels).any():
            raise JointrecError("index labels must be new and distinct: one vector per item")
        self._add(vectors, labels)
        self.labels = np.concatenate([self.labels, labels])

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        exclude: Sequence[np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` highest inner products of each query, best first.

        Args:
            queries: ``[n, dim]`` query vectors.
            k: Results per query.
            exclude: Per query, labels that must not be returned (e.g. already rated items).

        Returns:
            ``(labels, scores)``, each ``[n, k]``; missing slots (fewer than ``k`` eligible
            items) hold label ``-1`` and score ``-inf``.
        """
        queries = self._check_queries(queries, "queries")
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise JointrecError(f"k={k!r} is invalid: expected a positive integer")
        if exclude is not None and len(exclude) != len(queries):
            raise JointrecError(
                f"exclude has {len(exclude)} entries for {len(queries)} queries: "
                "expected one array of labels per query"
            )
        n = len(queries)
        out_labels = np.full((n, k), -1, dtype=np.int64)
        out_scores = np.full((n, k), -np.inf, dtype=np.float32)
        if len(self) == 0 or n == 0:
            return out_labels, out_scores
        if exclude is None:
            labels, scores = self._search(queries, min(k, len(self)))
            out_labels[:, : labels.shape[1]] = labels
            out_scores[:, : labels.shape[1]] = scores
            return out_labels, out_scores
        for r in range(n):
            excluded = np.asarray(exclude[r], dtype=np.int64).reshape(-1)
            labels_r, scores_r = self._search_one(queries[r : r + 1], k, excluded)
            out_labels[r, : len(labels_r)] = labels_r
            out_scores[r, : len(labels_r)] = scores_r
        return out_labels, out_scores

    def search_one(
        self, query: np.ndarray, k: int, exclude: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` highest inner products of one query, best first (the serving path).

        Like `search` for a single ``[dim]`` query, without the padding: when fewer than
        ``k`` items are eligible, fewer are returned.

        Args:
            query: ``[dim]`` query vector.
            k: Results wanted.
            exclude: Labels that must not be returned (e.g. already rated items).

        Returns:
            ``(labels, scores)``, each ``[<= k]``.

        Example:
            >>> index = ExactIndex(np.eye(3, dtype=np.float32), labels=np.array([1, 2, 3]))
            >>> index.search_one(np.array([0.0, 1.0, 0.5]), 5, exclude=np.array([2]))[0].tolist()
            [3, 1]
        """
        query = np.asarray(query, dtype=np.float32)
        if query.shape != (self.dim,) or not np.isfinite(query).all():
            raise JointrecError(
                f"query has shape {query.shape} or non-finite values: expected [{self.dim}] "
                "finite numbers for this index"
            )
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise JointrecError(f"k={k!r} is invalid: expected a positive integer")
        if len(self) == 0:
            return self.labels[:0], np.zeros(0, dtype=np.float32)
        excluded = _NONE if exclude is None else np.asarray(exclude).reshape(-1)
        return self._search_one(query[None, :], k, excluded)

    def _search_one(
        self, query: np.ndarray, k: int, excluded: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Up to ``k`` (label, score) of one ``[1, dim]`` query, none of them ``excluded``.

        The default over-fetches ``k + len(excluded)`` and filters; subclasses may do better.
        """
        labels, scores = self._search(query, min(k + len(excluded), len(self)))
        keep = labels[0] >= 0
        if len(excluded):
            keep &= ~np.isin(labels[0], excluded)
        return labels[0][keep][:k], scores[0][keep][:k]

    def _check_queries(self, x: np.ndarray, name: str) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise JointrecError(
                f"{name} have shape {x.shape}: expected [n, {self.dim}] for this index"
            )
        if not np.isfinite(x).all():
            raise JointrecError(f"{name} contain NaN or infinity: expected finite numbers")
        return np.ascontiguousarray(x)

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``[n, k]`` labels (``-1`` when missing) and scores, best first; ``k <= len``."""
        raise NotImplementedError

    def _add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        raise NotImplementedError

    def save(self, path: Path) -> None:
        """Writes the index to ``path`` (a file)."""
        raise NotImplementedError


class ExactIndex(VectorIndex):
    """Brute-force search: exact, in bounded-memory chunks of queries.

    One query at a time (the serving path) reuses a per-thread score buffer, so a request
    allocates no catalogue-sized float array.

    Args:
        vectors: ``[n, d]`` item vectors.
        labels: ``[n]`` item labels (default ``0..n-1``).
        chunk: Queries scored at once (memory ``chunk x n`` floats).

    Example:
        >>> index = ExactIndex(np.array([[1.0, 0.0], [0.0, 1.0]]))
        >>> index.search(np.array([[0.2, 0.9]]), 1)[0].tolist()
        [[1]]
    """

    kind = "exact"

    def __init__(
        self, vectors: np.ndarray, labels: np.ndarray | None = None, chunk: int = 256
    ) -> None:
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise JointrecError(f"vectors have shape {vectors.shape}: expected [n, d]")
        super().__init__(vectors.shape[1])
        self.chunk = int(chunk)
        self.vectors = np.zeros((0, self.dim), dtype=np.float32)
        self._local = threading.local()
        if len(vectors):
            self.add(vectors, np.arange(len(vectors)) if labels is None else labels)

    def _add(self, vectors: np.ndarray, labels: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(np.concatenate([self.vectors, vectors]))
        all_labels = np.concatenate([self.labels, labels])
        self._row_of = np.full(max(int(all_labels.max()) + 1, 1), -1, dtype=np.int64)
        self._row_of[all_labels] = np.arange(len(all_labels))

    def _search_one(
        self, query: np.ndarray, k: int, excluded: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Masks the excluded rows in the score buffer instead of over-fetching, and
        partitions the buffer in place of sorting it."""
        scores = np.dot(self.vectors, query[0], out=self._buffer())
        if len(excluded):
            inside = excluded[(excluded >= 0) & (excluded < len(self._row_of))]
            rows = self._row_of[inside]
            scores[rows[rows >= 0]] = -np.inf
        n = len(scores)
        k = min(k, n)
        part = np.argpartition(scores, n - k)[n - k :] if k < n else np.arange(n)
        values = scores[part]
        order = np.lexsort((part, -values))  # best first, ties by the lower row
        top, values = part[order], values[order]
        keep = np.isfinite(values)
        return self.labels[top[keep]], values[keep]

    def _buffer(self) -> np.ndarray:
        buf = getattr(self._local, "scores", None)
        if buf is None or len(buf) != len(self.vectors):
            buf = np.empty(len(self.vectors), dtype=np.float32)
            self._local.scores = buf
        return buf

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if len(queries) == 1:
            scores = np.dot(self.vectors, queries[0], out=self._buffer())[None, :]
            top = _top_k(scores, k)
            return self.labels[top], np.take_along_axis(scores, top, axis=1)
        labels = np.empty((len(queries), k), dtype=np.int64)
        values = np.empty((len(queries), k), dtype=np.float32)
        for lo in range(0, len(queries), self.chunk):
            scores = queries[lo : lo + self.chunk] @ self.vectors.T
            top = _top_k(scores, k)
            labels[lo : lo + len(top)] = self.labels[top]
            values[lo : lo + len(top)] = np.take_along_axis(scores, top, axis=1)
        return labels, values

    def save(self, path: Path) -> None:
        """Writes vectors and labels as one ``.npz`` (no pickles)."""
        with open(path, "wb") as f:
            np.savez(f, vectors=self.vectors, labels=self.labels)

    @classmethod
    def load(cls, path: Path) -> ExactIndex:
        """Reads a file written by `save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls(data["vectors"], data["labels"])
        except (OSError, KeyError, ValueError) as err:
            raise JointrecError(f"{path} is not a valid exact index ({err})") from None


def _top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest entries per row, best first, ties by lower index."""
    if k < scores.shape[1]:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    order = np.lexsort((part, -np.take_along_axis(scores, part, axis=1)), axis=1)
    return np.take_along_axis(part, order, axis=1)


def recall_against(approx: np.ndarray, exact: np.ndarray) -> float:
    """Mean fraction of each exact top-k row found in the approximate row (recall@k).

    Example:
        >>> recall_against(np.array([[1, 2, 9]]), np.array([[1, 2, 3]]))
        0.6666666666666666
    """
    approx, exact = np.asarray(approx), np.asarray(exact)
    if approx.shape != exact.shape:
        raise JointrecError(f"shapes differ: approx {approx.shape} vs exact {exact.shape}")
    hits = [len(np.intersect1d(a[a >= 0], e[e >= 0])) for a, e in zip(approx, exact, strict=True)]
    sizes = (exact >= 0).sum(axis=1)
    return float(np.mean(np.asarray(hits) / np.maximum(sizes, 1)))
