"""Exact brute-force top-k over the whole catalogue, in bounded-memory chunks."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from jointrec.scoring.seen import SeenItems


def top_k_rows(scores: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest scores of each row, best first.

    Ties are broken by the lower index (also at the cut-off), so results are deterministic.

    Example:
        >>> top_k_rows(np.array([[0.1, 0.9, 0.5]]), 2).tolist()
        [[1, 2]]
    """
    n, m = scores.shape
    k = min(k, m)
    if k < m:
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]  # k-th largest per row
        greater = scores > kth
        equal = scores == kth
        need = k - greater.sum(axis=1, keepdims=True)
        take = greater | (equal & (np.cumsum(equal, axis=1) <= need))
        part = np.nonzero(take)[1].reshape(n, k)
    else:
        part = np.broadcast_to(np.arange(m), scores.shape).copy()
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    return np.take_along_axis(part, order, axis=1)


def retrieve(
    score_users: Callable[[np.ndarray], np.ndarray],
    users: np.ndarray,
    k: int,
    *,
    seen: SeenItems | None = None,
    chunk: int = 1024,
) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` items and scores for each user, never returning item 0 (unknown).

    Args:
        score_users: Maps ``[c]`` user indices to ``[c, num_items]`` scores.
        users: User indices.
        k: Items per user.
        seen: Items to exclude per user (already rated), or ``None``.
        chunk: Users scored at once; memory is ``chunk x num_items`` floats.

    Returns:
        ``(items, scores)``, each ``[len(users), k]``; excluded slots hold item -1 and score
        ``-inf`` when a user has fewer than ``k`` eligible items.
    """
    users = np.asarray(users)
    out_items = np.empty((len(users), k), dtype=np.int64)
    out_scores = np.empty((len(users), k), dtype=np.float32)
    for lo in range(0, len(users), chunk):
        batch = users[lo : lo + chunk]
        scores = np.array(score_users(batch), dtype=np.float32, copy=True)
        scores[:, 0] = -np.inf
        if seen is not None:
            seen.mask(scores, batch)
        top = top_k_rows(scores, k)
        top_scores = np.take_along_axis(scores, top, axis=1)
        width = top.shape[1]
        out_items[lo : lo + len(batch), :width] = np.where(np.isfinite(top_scores), top, -1)
        out_scores[lo : lo + len(batch), :width] = top_scores
        if width < k:
            out_items[lo : lo + len(batch), width:] = -1
            out_scores[lo : lo + len(batch), width:] = -np.inf
    return out_items, out_scores
