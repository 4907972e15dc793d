"""Full-catalogue ranking of user chunks in one compiled JAX call (the JAX-specific part of
evaluation).

For a chunk of users it scores every item (``U[users] @ V^T``), takes the unfiltered top-k
(the tutorial's metric), masks the users' seen items given as CSR coordinates, takes the
filtered top-k and the rank of each user's best relevant item, and returns only those small
arrays: the ``[chunk, num_items]`` score matrix never leaves the compiled call.

Example:
    >>> import numpy as np
    >>> ranker = JaxRanker(np.eye(3, dtype="float32"), np.eye(3, dtype="float32"), k=2)
    >>> top, valid, tutorial, rank = ranker.rank(  # row 0 saw item 1; relevant: 2 and 1
    ...     np.array([1, 2]), (np.array([0]), np.array([1])),
    ...     (np.array([0, 1]), np.array([2, 1])), tutorial_k=1)
    >>> top.tolist(), valid.tolist(), tutorial.tolist(), rank.tolist()
    ([[2, 0], [2, 1]], [[True, False], [True, True]], [[1], [2]], [1, 2])
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from jointrec.backend.jax.compilation_cache import enable_compilation_cache

Coordinates = tuple[np.ndarray, np.ndarray]
MIN_BUCKET = 1024


def _power_of_two(n: int) -> int:
    """The smallest power of two >= ``n``."""
    return 1 << int(np.ceil(np.log2(max(n, 1))))


def _bucket(n: int) -> int:
    """Padded length for ``n`` coordinates: a power of two, so few shapes get compiled."""
    return max(MIN_BUCKET, _power_of_two(n))


def _pad(coords: Coordinates) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, cols = coords
    size = _bucket(len(rows))
    r = np.zeros(size, dtype=np.int32)
    c = np.zeros(size, dtype=np.int32)
    valid = np.zeros(size, dtype=bool)
    r[: len(rows)], c[: len(cols)], valid[: len(rows)] = rows, cols, True
    return r, c, valid


@partial(jax.jit, static_argnames=("k", "tutorial_k"))
def _rank_chunk(
    user_vectors: Any,
    item_vectors: Any,
    users: Any,
    seen: tuple[Any, Any, Any],
    relevant: tuple[Any, Any, Any],
    k: int,
    tutorial_k: int,
) -> tuple[Any, Any, Any, Any]:
    scores = user_vectors[users] @ item_vectors.T
    scores = scores.at[:, 0].set(-jnp.inf)
    tutorial = jax.lax.top_k(scores, tutorial_k)[1]
    seen_rows, seen_cols, seen_valid = seen
    masked = jnp.where(seen_valid, -jnp.inf, scores[seen_rows, seen_cols])
    scores = scores.at[seen_rows, seen_cols].set(masked)
    top_scores, top = jax.lax.top_k(scores, k)
    rel_rows, rel_cols, rel_valid = relevant
    values = jnp.where(rel_valid, scores[rel_rows, rel_cols], -jnp.inf)
    best = jnp.full(scores.shape[0], -jnp.inf, scores.dtype).at[rel_rows].max(values)
    # Ties rank as top-k orders them: by the lower index. So the first relevant item is the
    # lowest-indexed relevant one scoring `best`, behind every item scoring higher and every
    # lower-indexed item scoring the same.
    width = scores.shape[1]
    at_best = rel_valid & (values == best[rel_rows])
    first = (
        jnp.full(scores.shape[0], width, jnp.int32)
        .at[rel_rows]
        .min(jnp.where(at_best, rel_cols, width))
    )
    tied = (scores == best[:, None]) & (jnp.arange(width)[None, :] < first[:, None])
    rank = (scores > best[:, None]).sum(axis=1) + tied.sum(axis=1) + 1
    return top, jnp.isfinite(top_scores), tutorial, rank


class JaxRanker:
    """Ranks the whole catalogue for chunks of users by dot product of retrieval vectors.

    Args:
        user_vectors: ``[num_users, d]`` query vectors.
        item_vectors: ``[num_items, d]`` candidate vectors (item 0, unknown, is never ranked
            above a real item).
        k: Length of the filtered top list.
    """

    def __init__(self, user_vectors: np.ndarray, item_vectors: np.ndarray, k: int) -> None:
        enable_compilation_cache()
        self.user_vectors = jnp.asarray(user_vectors, dtype=jnp.float32)
        self.item_vectors = jnp.asarray(item_vectors, dtype=jnp.float32)
        self.k = min(int(k), int(item_vectors.shape[0]))

    def rank(
        self,
        users: np.ndarray,
        seen: Coordinates,
        relevant: Coordinates,
        tutorial_k: int,
        chunk: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Top-k items after masking ``seen`` (and whether each one's score is finite, i.e.
        not masked), unfiltered top ``tutorial_k``, and the rank of each row's best
        ``relevant`` item (``1 + #items scored higher``).

        Args:
            users: ``[c]`` user indices.
            seen: (row, item) coordinates to mask, rows indexing ``users``.
            relevant: (row, item) coordinates of relevant items.
            tutorial_k: Length of the unfiltered top list.
            chunk: The usual number of users per call: ``users`` is padded to it (or, when
                much fewer, to a power of two), so calls share a few compilations.
        """
        n = len(users)
        rows = n if chunk is None else max(n, min(chunk, _power_of_two(n)))
        padded = np.zeros(rows, dtype=np.int32)
        padded[:n] = users
        top, valid, tutorial, rank = _rank_chunk(
            self.user_vectors,
            self.item_vectors,
            padded,
            _pad(seen),
            _pad(relevant),
            k=self.k,
            tutorial_k=min(int(tutorial_k), int(self.item_vectors.shape[0])),
        )
        return tuple(np.asarray(a)[:n] for a in (top, valid, tutorial, rank))  # type: ignore[return-value]
