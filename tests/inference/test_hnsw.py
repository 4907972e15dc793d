"""HNSWIndex (faiss): recall against exact search, additions, exclusion, persistence."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.errors import JointrecError
from jointrec.inference.hnsw import HNSWIndex
from jointrec.inference.index import ExactIndex, recall_against
from jointrec.testing.catalogue import synthetic_catalogue


@pytest.fixture(scope="module")
def catalogue():
    base = np.random.default_rng(0).normal(size=(200, 16)).astype(np.float32)
    items = synthetic_catalogue(base, 5000, noise=0.5, seed=1)
    queries = synthetic_catalogue(base, 200, noise=1.0, seed=2)
    return items, queries


def test_recall_at_10_against_exact(catalogue):
    items, queries = catalogue
    labels = np.arange(1, len(items) + 1)
    index = HNSWIndex(16, m=16, ef_construction=80, ef_search=64)
    index.add(items, labels)
    exact = ExactIndex(items, labels).search(queries, 10)[0]
    approx = index.search(queries, 10)[0]
    assert recall_against(approx, exact) >= 0.95
    # larger ef_search never hurts much and reaches (nearly) exact on this size
    index.ef_search = 256
    assert recall_against(index.search(queries, 10)[0], exact) >= 0.99


def test_new_items_are_searchable_and_exclusion_holds(catalogue):
    items, _ = catalogue
    index = HNSWIndex(16, m=8, ef_construction=40)
    index.add(items[:1000], np.arange(1000))
    new = items[1000:1003]
    index.add(new, np.array([7001, 7002, 7003]))
    assert index.search(new[:1], 1)[0][0, 0] == 7001
    labels, _ = index.search(new[:1], 5, exclude=[np.array([7001])])
    assert 7001 not in labels[0] and (labels[0] >= 0).all()


def test_save_load_same_answers(tmp_path, catalogue):
    items, queries = catalogue
    index = HNSWIndex(16, m=8, ef_construction=40, ef_search=32)
    index.add(items[:2000], np.arange(10, 2010))
    index.save(tmp_path / "index.faiss")
    again = HNSWIndex.load(tmp_path / "index.faiss")
    assert (again.m, again.ef_search, len(again)) == (8, 32, 2000)
    np.testing.assert_array_equal(again.search(queries, 10)[0], index.search(queries, 10)[0])
    assert HNSWIndex.load(tmp_path / "index.faiss", ef_search=99).ef_search == 99


def test_bad_settings_and_files(tmp_path):
    with pytest.raises(JointrecError, match="m=1 is invalid"):
        HNSWIndex(4, m=1)
    (tmp_path / "broken.faiss").write_bytes(b"not an index")
    with pytest.raises(JointrecError, match="rebuild it with 'jointrec index --ann'"):
        HNSWIndex.load(tmp_path / "broken.faiss")


def test_fp16_storage_same_neighbours_approximate_scores(tmp_path, catalogue):
    items, queries = catalogue
    labels = np.arange(1, len(items) + 1)
    flat = HNSWIndex(16, m=16, ef_construction=80, ef_search=64)
    half = HNSWIndex(16, m=16, ef_construction=80, ef_search=64, storage="fp16")
    flat.add(items, labels)
    half.add(items, labels)
    assert flat.exact_scores and not half.exact_scores
    exact = ExactIndex(items, labels).search(queries, 10)[0]
    assert recall_against(half.search(queries, 10)[0], exact) >= 0.95
    found, scores = half.search_one(queries[0], 10)
    # half precision: scores within fp16 rounding of the exact inner products
    np.testing.assert_allclose(scores, items[found - 1] @ queries[0], atol=2e-3)
    half.save(tmp_path / "half.faiss")
    again = HNSWIndex.load(tmp_path / "half.faiss")
    assert again.storage == "fp16" and not again.exact_scores
    np.testing.assert_array_equal(again.search(queries, 10)[0], half.search(queries, 10)[0])
    with pytest.raises(JointrecError, match="storage='int4' is invalid"):
        HNSWIndex(16, storage="int4")
