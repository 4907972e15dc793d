"""Reference ranking and rating metrics for one user, written for clarity, not speed.

`jointrec.evaluation.evaluate` computes the same quantities vectorised; tests check the two
agree. Rankings exclude already-seen items before these are applied.

Example:
    >>> ranked = [3, 1, 2]          # best first
    >>> relevant = {1, 7}
    >>> recall_at_k(ranked, relevant, 2), reciprocal_rank(ranked, relevant)
    (0.5, 0.5)
"""

from __future__ import annotations

import math
from collections.abc import Sequence, Set

import numpy as np


def recall_at_k(ranked: Sequence[int], relevant: Set[int], k: int) -> float:
    """Share of the relevant items found in the top ``k``: ``|top_k & rel| / |rel|``."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / len(relevant)


def hit_rate_at_k(ranked: Sequence[int], targets: Set[int], k: int) -> float:
    """Share of the target items (e.g. 5-star test items) that appear in the top ``k``."""
    return recall_at_k(ranked, targets, k)


def ndcg_at_k(ranked: Sequence[int], relevant: Set[int], k: int) -> float:
    """Binary NDCG: ``sum_{i<k} rel_i / log2(i + 2)`` over the ideal ``min(k, |rel|)`` hits."""
    if not relevant:
        return 0.0
    dcg = sum(1.0 / math.log2(i + 2) for i, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal


def average_precision_at_k(ranked: Sequence[int], relevant: Set[int], k: int) -> float:
    """AP@k: mean of precision@i at each hit position ``i <= k``, over ``min(k, |rel|)``."""
    if not relevant:
        return 0.0
    hits, total = 0, 0.0
    for i, item in enumerate(ranked[:k]):
        if item in relevant:
            hits += 1
            total += hits / (i + 1)
    return total / min(k, len(relevant))


def reciprocal_rank(ranked: Sequence[int], relevant: Set[int]) -> float:
    """``1 / rank`` of the first relevant item in the full ranking (0 when none appears)."""
    for i, item in enumerate(ranked):
        if item in relevant:
            return 1.0 / (i + 1)
    return 0.0


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error."""
    diff = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    return float(np.sqrt(np.mean(diff**2)))


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute error."""
    diff = np.asarray(predicted, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    return float(np.mean(np.abs(diff)))
