"""Recommender on the planted artifact against an independent NumPy pipeline."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from jointrec.artifact.directory import load_artifact
from jointrec.errors import JointrecError
from jointrec.inference.recommender import Recommender


@pytest.fixture(scope="module")
def rec(planted):
    return Recommender.load(planted)


def reference(art, u, k, candidates, exclude_seen=True, rank_by="retrieval"):
    """Score every item, mask index 0 and seen items, keep the top candidates by score,
    order them by score or by predicted stars (ties by score), return raw ids."""
    m = art.exported
    scores = m.user_vectors[u] @ m.item_vectors.T
    scores[0] = -np.inf
    if exclude_seen:
        scores[art.seen.items_of(u)] = -np.inf
    pool = np.argsort(-scores, kind="stable")[:candidates]
    pool = pool[np.isfinite(scores[pool])]
    stars = m.predict_ratings(np.full(len(pool), u), pool)
    if rank_by == "rating":
        order = np.lexsort((-scores[pool], -stars))[:k]
    else:
        order = np.arange(len(pool))[:k]
    return art.items.ids[pool[order] - 1].tolist(), stars[order]


@pytest.mark.parametrize("rank_by", ["retrieval", "rating"])
@pytest.mark.parametrize(("k", "candidates"), [(5, 20), (10, 10), (3, 100)])
def test_known_user_matches_reference(rec, planted, k, candidates, rank_by):
    art = load_artifact(planted)
    for user in (1, 7, 30):
        result = rec.recommend(user, k=k, candidates=candidates, rank_by=rank_by)
        ids, stars = reference(art, user, k, candidates, rank_by=rank_by)
        assert result.source == "model" and not result.fallback
        assert [r.item_id for r in result.items] == ids
        np.testing.assert_allclose([r.predicted_rating for r in result.items], stars, rtol=1e-5)
        seen = set(art.items.ids[art.seen.items_of(user) - 1].tolist())
        assert not seen & set(ids)
        values = [
            r.predicted_rating if rank_by == "rating" else r.retrieval_score for r in result.items
        ]
        assert values == sorted(values, reverse=True)


def test_rank_by_orders_the_same_candidates_differently(rec):
    by_score = rec.recommend(7, k=10, candidates=10).items
    by_stars = rec.recommend(7, k=10, candidates=10, rank_by="rating").items
    assert {r.item_id for r in by_score} == {r.item_id for r in by_stars}
    assert [r.item_id for r in by_score] != [r.item_id for r in by_stars]
    with pytest.raises(JointrecError, match=r"rank_by='stars' is invalid: expected one of"):
        rec.recommend(7, k=10, rank_by="stars")
    with pytest.raises(JointrecError, match="rank_by"):
        rec.recommend(ratings=[(101, 5.0)], k=5, rank_by="")


def test_include_seen_can_return_rated_items(rec, planted):
    art = load_artifact(planted)
    ids, _ = reference(art, 4, 60, 60, exclude_seen=False, rank_by="rating")
    result = rec.recommend(4, k=60, candidates=60, exclude_seen=False, rank_by="rating")
    assert [r.item_id for r in result.items] == ids


def test_unknown_user_gets_popularity_flagged(rec, planted):
    art = load_artifact(planted)
    counts = np.bincount(art.seen.indices, minlength=61)[1:]
    expected = art.items.ids[np.argsort(-counts, kind="stable")[:5]].tolist()
    result = rec.recommend("nobody", k=5)
    assert result.source == "popularity" and result.fallback
    assert [r.item_id for r in result.items] == expected
    assert all(np.isnan(r.retrieval_score) for r in result.items)
    with pytest.raises(JointrecError, match="unknown user id 999"):
        rec.recommend(999, k=5, fallback=False)


def test_anonymous_ratings_fold_in(rec, planted):
    art = load_artifact(planted)
    liked = [101, 102, 103]
    result = rec.recommend(ratings=[(i, 5.0) for i in liked], k=10)
    assert result.source == "fold-in"
    assert not set(liked) & {r.item_id for r in result.items}
    # the retrieval query is the (normalised) sum of the rated items' vectors, equal weights
    m = art.exported
    idx = art.items.encode(np.array(liked))
    query = m.item_vectors[idx].sum(axis=0)
    query /= np.linalg.norm(query)
    for r in result.items:
        j = int(art.items.encode(np.array([r.item_id]))[0])
        assert r.retrieval_score == pytest.approx(float(query @ m.item_vectors[j]), abs=1e-5)
    other = rec.recommend(ratings=[(i, 1.0) for i in liked] + [(150, 5.0)], k=10)
    assert [r.item_id for r in other.items] != [r.item_id for r in result.items]


def test_no_ratings_fall_back(rec):
    assert rec.recommend(ratings=[], k=3).source == "popularity"
    one = rec.recommend(ratings=[(101, 3.0)], k=3)
    assert one.source == "fold-in" and 101 not in [r.item_id for r in one.items]


@pytest.mark.parametrize(
    ("ratings", "message"),
    [
        ([(101, 9.0)], r"rating 9.0 for item 101 is out of range: expected 1 <= rating <= 5"),
        ([(5, 4.0)], "unknown item id 5"),
        ([(101, 4.0), (101, 5.0)], "rated twice"),
        ([(101,)], "expected an \\(item id, stars\\) pair"),
    ],
)
def test_bad_ratings_name_the_problem(rec, ratings, message):
    with pytest.raises(JointrecError, match=message):
        rec.recommend(ratings=ratings, k=3)


def test_sizes_are_checked(rec):
    with pytest.raises(JointrecError, match="k=11 is larger than candidates=10"):
        rec.recommend(1, k=11, candidates=10)
    with pytest.raises(JointrecError, match="k=0 is invalid"):
        rec.recommend(1, k=0)
    assert len(rec.recommend(1, k=10, candidates=10_000).items) == 10  # clipped to the catalogue


def test_similar_items_are_nearest_by_cosine(rec, planted):
    art = load_artifact(planted)
    v = art.exported.item_vectors
    cosine = v @ v[1]
    cosine[[0, 1]] = -np.inf
    expected = art.items.ids[np.argsort(-cosine, kind="stable")[:4] - 1].tolist()
    assert [r.item_id for r in rec.similar_items(101, 4)] == expected


def test_predict_matches_model(rec, planted):
    art = load_artifact(planted)
    got = rec.predict(3, [101, 120])
    want = art.exported.predict_ratings(np.array([3, 3]), art.items.encode(np.array([101, 120])))
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_search_titles_and_history(rec):
    assert [rec.catalogue.titles[j] for j in rec.search_titles("movie 1 (", 5)] == [
        "Movie 1 (1951)"
    ]
    history = rec.history(2, n=3)
    assert [h.rating for h in history] == sorted((h.rating for h in history), reverse=True)


def test_hnsw_index_is_used_when_built(planted, tmp_path):
    copy = shutil.copytree(planted, tmp_path / "art")
    with pytest.raises(JointrecError, match="has no HNSW index: build it with 'jointrec index"):
        Recommender.load(copy, index="hnsw")
    from jointrec.inference.ann import build_ann

    report = build_ann(copy, m=8, ef_search=64, k=5, progress=False)
    assert report["recall"] >= 0.95 and (copy / "ann" / "recall.png").is_file()
    hnsw = Recommender.load(copy)
    assert hnsw.index.kind == "hnsw"
    exact = Recommender.load(copy, index="exact")
    assert [r.item_id for r in hnsw.recommend(5, k=5).items] == [
        r.item_id for r in exact.recommend(5, k=5).items
    ]


def test_fp16_index_serves_exact_retrieval_scores(planted, tmp_path):
    copy = shutil.copytree(planted, tmp_path / "art")
    from jointrec.inference.ann import build_ann

    build_ann(copy, m=8, ef_search=64, k=5, progress=False, plot=False, storage="fp16")
    half = Recommender.load(copy)
    exact = Recommender.load(copy, index="exact")
    assert half.index.storage == "fp16" and not half.index.exact_scores
    for user in (1, 5, 17):
        got, want = half.recommend(user, k=5).items, exact.recommend(user, k=5).items
        assert [r.item_id for r in got] == [r.item_id for r in want]
        # re-scored from the model's float32 vectors, not the index's half precision
        np.testing.assert_allclose(
            [r.retrieval_score for r in got], [r.retrieval_score for r in want], rtol=1e-5
        )
    similar = half.similar_items(101, 4)
    assert [r.item_id for r in similar] == [r.item_id for r in exact.similar_items(101, 4)]
    vectors = half.model.item_vectors
    np.testing.assert_allclose(
        [r.retrieval_score for r in similar],
        [vectors[half.item_index(r.item_id)] @ vectors[1] for r in similar],
        rtol=1e-5,
    )


@pytest.mark.parametrize("index", ["exact", "hnsw"])
def test_new_item_is_served_without_retraining(planted, tmp_path, index):
    copy = shutil.copytree(planted, tmp_path / "art")
    if index == "hnsw":
        from jointrec.inference.ann import build_ann

        build_ann(copy, m=8, ef_search=64, k=5, progress=False, plot=False)
    rec = Recommender.load(copy, index=index)
    art = rec.artifact
    new = rec.add_item(999, [(3, 5.0)], title="Brand New (2026)", year=2026, genres=["Drama"])
    assert new == 61 and rec.item_index(999) == 61
    # one rater: the new item's retrieval vector is that user's query vector, so it is the
    # best possible retrieval match for user 3 and among the top candidates
    np.testing.assert_allclose(rec.model.item_vectors[61], rec.model.user_vectors[3], rtol=1e-5)
    result = rec.recommend(3, k=10, candidates=10)
    assert 999 in [r.item_id for r in result.items]
    brand = next(r for r in result.items if r.item_id == 999)
    assert brand.title == "Brand New (2026)" and brand.genres == ("Drama",)
    assert brand.retrieval_score == pytest.approx(1.0, abs=1e-5)
    # the fitted rating embedding predicts the given rating better than an average item
    stars = rec.predict(3, [999])[0]
    average = art.exported.labels_to_stars(
        rec.ranker.labels(
            art.exported.user_embeddings[3], float(art.exported.user_bias[3]), np.arange(1, 61)
        )
    ).mean()
    assert abs(stars - 5.0) < abs(average - 5.0)
    assert [rec.catalogue.titles[j] for j in rec.search_titles("brand new")] == ["Brand New (2026)"]
    assert rec.similar_items(999, 3)[0].item_id != 999


def test_bad_new_items_are_refused(rec):
    with pytest.raises(JointrecError, match="item id 101 already exists"):
        rec.add_item(101, [(1, 4.0)])
    with pytest.raises(JointrecError, match="wrong type"):
        rec.add_item("x", [(1, 4.0)])
    with pytest.raises(JointrecError, match="no ratings"):
        rec.add_item(5000, [])
    with pytest.raises(JointrecError, match="unknown user id 777"):
        rec.add_item(5000, [(777, 4.0)])
    with pytest.raises(JointrecError, match=r"must be in 1..5"):
        rec.add_item(5000, [(1, 6.0)])


def test_newcomers_get_the_popularity_prior_and_nothing_else_does(tmp_path):
    from jointrec.testing.artifacts import planted_artifact

    path = planted_artifact(tmp_path / "art", newcomers=3, newcomer_popularity=0.5)
    art = load_artifact(path)
    rec = Recommender.load(path)
    m = art.exported
    assert m.has_prior and m.user_vectors.shape[1] == m.item_vectors.shape[1] == 9
    q, c = m.user_embeddings, m.item_embeddings  # planted unit vectors
    counts = np.bincount(_seen_items(art), minlength=61)
    prior = np.log1p(counts)
    for user, weight in ((30, 0.5), (5, 0.0)):  # user 30 rated nothing, user 5 did
        scores = q[user] @ c.T + weight * prior
        scores[0] = -np.inf
        scores[art.seen.items_of(user)] = -np.inf
        expected = art.items.ids[np.argsort(-scores, kind="stable")[:5] - 1].tolist()
        assert [r.item_id for r in rec.recommend(user, k=5).items] == expected
    # item-to-item similarity and a visitor's fold-in ignore the prior
    cosine = c @ c[1]
    cosine[[0, 1]] = -np.inf
    expected = art.items.ids[np.argsort(-cosine, kind="stable")[:4] - 1].tolist()
    assert [r.item_id for r in rec.similar_items(101, 4)] == expected
    liked = art.items.encode(np.array([101, 102]))
    query = c[liked].sum(axis=0)
    query /= np.linalg.norm(query)
    for r in rec.recommend(ratings=[(101, 5.0), (102, 5.0)], k=5).items:
        j = int(art.items.encode(np.array([r.item_id]))[0])
        assert r.retrieval_score == pytest.approx(float(query @ c[j]), abs=1e-5)


def _seen_items(art):
    return np.concatenate([art.seen.items_of(u) for u in range(1, 31)])


@pytest.mark.parametrize("index", ["exact", "hnsw"])
def test_a_new_item_joins_a_catalogue_with_the_prior(tmp_path, index):
    from jointrec.testing.artifacts import planted_artifact

    path = planted_artifact(tmp_path / "art", newcomers=3)
    if index == "hnsw":
        from jointrec.inference.ann import build_ann

        build_ann(path, m=8, ef_search=64, k=5, progress=False, plot=False)
    rec = Recommender.load(path, index=index)
    new = rec.add_item(999, [(3, 5.0)], title="Brand New (2026)")
    m = rec.model
    assert m.item_prior is not None and m.item_prior[new] == 0.0  # no training interactions
    np.testing.assert_allclose(m.item_vectors[new, :8], m.user_vectors[3, :8], rtol=1e-5)
    assert m.item_vectors[new, 8] == 0.0
    assert 999 in [r.item_id for r in rec.recommend(3, k=10, candidates=10).items]
    assert len(rec.recommend(30, k=10).items) == 10  # a newcomer, scored with the prior
