"""Exact top-k and seen-item exclusion against sorting."""

from __future__ import annotations

import numpy as np

from jointrec.scoring import SeenItems, retrieve, top_k_rows


def test_top_k_rows_equals_full_sort_with_deterministic_ties(rng):
    scores = rng.integers(0, 5, size=(20, 40)).astype(np.float32)  # many ties
    expected = np.lexsort((np.broadcast_to(np.arange(40), scores.shape), -scores))[:, :7]
    assert np.array_equal(top_k_rows(scores, 7), expected)
    assert top_k_rows(scores, 100).shape == (20, 40)


def test_seen_items_csr_and_mask(rng):
    users = np.array([3, 1, 3, 3, 1])
    items = np.array([5, 2, 5, 1, 9])  # (3, 5) twice: kept once
    seen = SeenItems(users, items, num_users=5, values=np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert seen.items_of(3).tolist() == [1, 5]
    assert seen.items_of(1).tolist() == [2, 9]
    assert seen.values_of(1).tolist() == [2.0, 5.0]
    assert seen.items_of(99).tolist() == []
    scores = np.zeros((2, 10), dtype=np.float32)
    seen.mask(scores, np.array([1, 3]))
    assert np.isinf(scores[0, [2, 9]]).all() and np.isinf(scores[1, [1, 5]]).all()
    assert np.isfinite(scores).sum() == 20 - 4


def test_retrieve_excludes_seen_and_unknown_item_in_chunks(rng):
    vectors = rng.normal(size=(12, 4)).astype(np.float32)
    users = rng.normal(size=(6, 4)).astype(np.float32)
    seen = SeenItems(np.array([0, 0, 2]), np.array([3, 4, 7]), num_users=6)

    def score_users(batch):
        return users[batch] @ vectors.T

    items, scores = retrieve(score_users, np.arange(6), 5, seen=seen, chunk=4)
    for u in range(6):
        s = users[u] @ vectors.T
        s[0] = -np.inf
        s[seen.items_of(u)] = -np.inf
        assert items[u].tolist() == np.argsort(-s, kind="stable")[:5].tolist()
    assert 0 not in items and not set(items[0]) & {3, 4}
    few, few_scores = retrieve(score_users, np.array([0]), 11, seen=seen)
    assert few[0, -2:].tolist() == [-1, -1] and np.isinf(few_scores[0, -2:]).all()
