"""ExactIndex against a NumPy brute-force reference; labels, exclusion, additions."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.errors import JointrecError
from jointrec.inference.index import ExactIndex, recall_against


def reference(vectors, labels, queries, k, exclude=None):
    """Brute force: score all, drop excluded, stable sort by (-score, row)."""
    out = []
    for r, q in enumerate(queries):
        scores = vectors @ q
        rows = [
            j
            for j in np.lexsort((np.arange(len(scores)), -scores))
            if exclude is None or labels[j] not in set(exclude[r])
        ]
        out.append(labels[rows[:k]])
    return np.array(out)


def test_exact_matches_brute_force_batch_and_single(rng):
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    labels = np.arange(1000, 1300)
    queries = rng.normal(size=(20, 8)).astype(np.float32)
    index = ExactIndex(vectors, labels, chunk=7)
    found, scores = index.search(queries, 10)
    np.testing.assert_array_equal(found, reference(vectors, labels, queries, 10))
    np.testing.assert_allclose(scores[:, 0], (queries @ vectors.T).max(axis=1), rtol=1e-5)
    single = np.concatenate([index.search(q[None, :], 10)[0] for q in queries])
    np.testing.assert_array_equal(single, found)


def test_exclusion_removes_labels_and_keeps_k(rng):
    vectors = rng.normal(size=(50, 4)).astype(np.float32)
    labels = np.arange(1, 51)
    queries = rng.normal(size=(5, 4)).astype(np.float32)
    exclude = [rng.choice(labels, size=20, replace=False) for _ in range(5)]
    found, _ = ExactIndex(vectors, labels).search(queries, 10, exclude=exclude)
    np.testing.assert_array_equal(found, reference(vectors, labels, queries, 10, exclude))
    for row, ex in zip(found, exclude, strict=True):
        assert not set(row) & set(ex)


def test_fewer_items_than_k_pads_with_minus_one():
    index = ExactIndex(np.eye(3, dtype=np.float32), labels=np.array([7, 8, 9]))
    labels, scores = index.search(np.array([[1.0, 0, 0]]), 5, exclude=[np.array([8])])
    assert labels.tolist() == [[7, 9, -1, -1, -1]]
    assert np.isneginf(scores[0, 2:]).all()


def test_added_items_are_found_without_rebuilding(rng):
    vectors = rng.normal(size=(40, 6)).astype(np.float32)
    index = ExactIndex(vectors, np.arange(40))
    new = 10 * rng.normal(size=(2, 6)).astype(np.float32)
    index.add(new, np.array([500, 501]))
    assert len(index) == 42
    assert index.search(new[:1], 1)[0][0, 0] == 500
    assert index.search(new[1:], 1, exclude=[np.array([501])])[0][0, 0] != 501


@pytest.mark.parametrize(
    ("vectors", "labels", "message"),
    [
        (np.ones((2, 3)), np.array([1, 1]), "new and distinct"),
        (np.ones((2, 3)), np.array([1]), "2 vectors but 1 labels"),
        (np.ones((1, 3)), np.array([-4]), "must be >= 0"),
        (np.ones((1, 5)), np.array([9]), r"expected \[n, 3\]"),
        (np.full((1, 3), np.nan), np.array([9]), "NaN"),
    ],
)
def test_bad_additions_name_the_problem(vectors, labels, message):
    index = ExactIndex(np.zeros((1, 3)), np.array([0]))
    with pytest.raises(JointrecError, match=message):
        index.add(vectors, labels)


def test_bad_queries_and_k():
    index = ExactIndex(np.eye(3))
    with pytest.raises(JointrecError, match="k=0 is invalid"):
        index.search(np.eye(3), 0)
    with pytest.raises(JointrecError, match="one array of labels per query"):
        index.search(np.eye(3), 1, exclude=[np.array([1])])


def test_save_load_round_trip(tmp_path, rng):
    index = ExactIndex(rng.normal(size=(30, 4)), np.arange(5, 35))
    index.save(tmp_path / "exact.npz")
    again = ExactIndex.load(tmp_path / "exact.npz")
    q = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(again.search(q, 5)[0], index.search(q, 5)[0])


def test_recall_against_hand_example():
    # row 1: 2 of 3 exact items found; row 2: all 2 found, and a -1 slot is ignored
    approx = np.array([[1, 2, 9], [4, 5, -1]])
    exact = np.array([[1, 2, 3], [5, 4, -1]])
    assert recall_against(approx, exact) == pytest.approx((2 / 3 + 1) / 2)


def test_search_one_matches_reference_without_padding(rng):
    vectors = rng.normal(size=(200, 6)).astype(np.float32)
    labels = np.arange(5, 205)
    index = ExactIndex(vectors, labels)
    for q in rng.normal(size=(10, 6)).astype(np.float32):
        excluded = rng.choice(labels, size=30, replace=False)
        found, scores = index.search_one(q, 25, excluded)
        np.testing.assert_array_equal(found, reference(vectors, labels, q[None], 25, [excluded])[0])
        np.testing.assert_allclose(scores, vectors[found - 5] @ q, rtol=1e-5)
        assert np.all(np.diff(scores) <= 0)
    # more than remain: every eligible label once, best first, no -1 padding
    found, _ = index.search_one(vectors[0], 500, labels[:150])
    assert sorted(found.tolist()) == labels[150:].tolist()
    with pytest.raises(JointrecError, match=r"query has shape \(2,\)"):
        index.search_one(np.zeros(2), 3)
    with pytest.raises(JointrecError, match="non-finite"):
        index.search_one(np.full(6, np.nan), 3)
    with pytest.raises(JointrecError, match="k=0 is invalid"):
        index.search_one(vectors[0], 0)
