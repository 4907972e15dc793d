"""Rating shrinkage (``rating.shrinkage``): each user's prediction is pulled towards the
average training user's by ``n / (n + k)``, the same number everywhere it is served."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.artifact.export import add_rating_shrinkage
from jointrec.errors import JointrecError
from jointrec.scoring.exported import ExportedModel, prior_users
from jointrec.settings import RatingConfig


def _model(seed: int = 0, users: int = 7, items: int = 9, dim: int = 3) -> ExportedModel:
    rng = np.random.default_rng(seed)
    f = np.float32
    return ExportedModel(
        user_embeddings=rng.normal(size=(users, dim)).astype(f),
        item_embeddings=rng.normal(size=(items, dim)).astype(f),
        mlp=[
            (rng.normal(size=(2 * dim, 5)).astype(f), rng.normal(size=5).astype(f)),
            (rng.normal(size=(5, 1)).astype(f), np.array([0.1], f)),
        ],
        user_bias=rng.normal(scale=0.1, size=users).astype(f),
        item_bias=rng.normal(scale=0.1, size=items).astype(f),
        offset=0.5,
    )


def _reference(m: ExportedModel, u: np.ndarray, i: np.ndarray) -> np.ndarray:
    """The biased head written out in NumPy, without shrinkage."""
    x = np.concatenate([m.user_embeddings[u], m.item_embeddings[i]], axis=1)
    (w0, b0), (w1, b1) = m.mlp
    h = np.maximum(x @ w0 + b0, 0.0) @ w1 + b1
    assert m.user_bias is not None and m.item_bias is not None
    return h[:, 0] + m.user_bias[u] + m.item_bias[i] + m.offset


def test_shrinkage_matches_a_numpy_reference():
    m = _model()
    rated = np.array([1, 1, 1, 2, 4, 4, 4, 4, 4, 4])  # users 1, 2, 4 rated; 3, 5, 6 did not
    add_rating_shrinkage(m, rated, k=2.0)
    n = np.bincount(rated, minlength=7)
    assert m.rating_weight is not None and m.rating_prior is not None
    np.testing.assert_allclose(m.rating_weight, n / (n + 2.0), rtol=1e-6)
    items = np.arange(9)
    average = np.mean([_reference(m, np.full(9, u), items) for u in (1, 2, 4)], axis=0)
    np.testing.assert_allclose(m.rating_prior, average, rtol=1e-5, atol=1e-6)
    u, i = np.array([1, 2, 3, 4, 6]), np.array([0, 5, 5, 8, 2])
    w = (n / (n + 2.0))[u]
    expected = w * _reference(m, u, i) + (1 - w) * average[i]
    np.testing.assert_allclose(m.predict_labels(u, i), expected, rtol=1e-5, atol=1e-6)
    # a newcomer (no rating) gets the average user's rating of the item, whoever they are
    assert m.predict_labels(np.array([3, 6]), np.array([5, 5])) == pytest.approx([average[5]] * 2)


def test_shrinkage_survives_save_and_load_and_off_changes_nothing(tmp_path):
    plain = _model(seed=1)
    u, i = np.array([1, 2, 3]), np.array([4, 5, 6])
    before = plain.predict_labels(u, i)
    np.testing.assert_allclose(before, _reference(plain, u, i), rtol=1e-5, atol=1e-6)
    shrunk = _model(seed=1)
    add_rating_shrinkage(shrunk, np.array([1, 2, 2]), k=5.0)
    assert not np.allclose(shrunk.predict_labels(u, i), before)
    shrunk.save(tmp_path / "e.npz")
    loaded = ExportedModel.load(tmp_path / "e.npz")
    assert loaded.rating_shrinkage == 5.0
    np.testing.assert_allclose(loaded.predict_labels(u, i), shrunk.predict_labels(u, i))
    plain.save(tmp_path / "p.npz")
    assert ExportedModel.load(tmp_path / "p.npz").rating_prior is None


def test_a_new_item_gets_its_average_user_rating():
    m = _model(seed=2)
    add_rating_shrinkage(m, np.array([1, 2, 5, 5]), k=1.0)
    embedding = np.array([0.3, -0.2, 0.9], dtype=np.float32)
    j = m.append_item(embedding, 0.05, embedding)
    assert m.rating_prior is not None and len(m.rating_prior) == m.num_items
    raters = np.array([1, 2, 5])
    assert m.item_bias is not None
    x = np.concatenate([m.user_embeddings[raters], np.tile(embedding, (3, 1))], axis=1)
    (w0, b0), (w1, b1) = m.mlp
    assert m.user_bias is not None
    raw = (np.maximum(x @ w0 + b0, 0) @ w1 + b1)[:, 0] + m.user_bias[raters] + 0.05 + m.offset
    assert float(m.rating_prior[j]) == pytest.approx(float(raw.mean()), rel=1e-5)


def test_visitor_weight_and_prior_users():
    m = _model()
    assert m.visitor_weight(4) == 1.0  # no shrinkage
    add_rating_shrinkage(m, np.array([1]), k=4.0)
    assert m.visitor_weight(4) == pytest.approx(0.5)
    assert m.visitor_weight(12) == pytest.approx(0.75)
    weight = np.r_[0.0, np.full(10, 0.5)]
    assert prior_users(weight, limit=3).tolist() == [1, 5, 10]  # evenly spaced, ends kept
    assert prior_users(weight).tolist() == list(range(1, 11))


def test_negative_shrinkage_is_one_clear_error():
    with pytest.raises(JointrecError, match=r"rating.shrinkage=-1.0 is invalid: expected"):
        RatingConfig(shrinkage=-1.0)


def _assert_average_user_stars(rec, result) -> None:
    """Every item of ``result`` is rated as the average training user rates it."""
    m = rec.model
    idx = rec.artifact.items.encode(np.array([r.item_id for r in result.items]))
    stars = [r.predicted_rating for r in result.items]
    np.testing.assert_allclose(stars, m.labels_to_stars(m.rating_prior[idx]), rtol=1e-5)


def test_served_stars_are_the_shrunk_predictions(tmp_path):
    from jointrec.inference.foldin import fit_user
    from jointrec.inference.recommender import Recommender
    from jointrec.testing.artifacts import planted_artifact

    rec = Recommender.load(planted_artifact(tmp_path / "art", newcomers=3, shrinkage=4.0))
    m = rec.model
    assert m.rating_weight is not None and m.rating_prior is not None
    for user in (2, 29):  # known (6 ratings: weight 0.6) and a newcomer (weight 0)
        u = int(rec.artifact.users.encode(np.array([user]))[0])
        result = rec.recommend(user, k=5, rank_by="rating")
        idx = rec.artifact.items.encode(np.array([r.item_id for r in result.items]))
        stars = [r.predicted_rating for r in result.items]
        np.testing.assert_allclose(stars, m.predict_ratings(np.full(5, u), idx), rtol=1e-5)
        assert rec.predict(user, [r.item_id for r in result.items]) == pytest.approx(stars)
    _assert_average_user_stars(rec, rec.recommend(29, k=5))  # a newcomer
    # a visitor with 4 ratings weighs their folded-in prediction 4 / (4 + 4)
    ratings = [(101, 5.0), (102, 4.0), (110, 1.0), (120, 3.0)]
    visitor = rec.recommend(ratings=ratings, k=5)
    folded = fit_user(m, *rec._encode_ratings(ratings), prior=rec._user_prior)
    idx = rec.artifact.items.encode(np.array([r.item_id for r in visitor.items]))
    raw = rec.ranker.labels(folded.embedding, folded.bias, idx)
    expected = m.labels_to_stars(0.5 * raw + 0.5 * m.rating_prior[idx])
    np.testing.assert_allclose([r.predicted_rating for r in visitor.items], expected, rtol=1e-5)
    # the popularity fallback rates by the same average user
    _assert_average_user_stars(rec, rec.recommend(999, k=3))


def test_training_with_the_setting_writes_it_into_the_artifact(tmp_path):
    from jointrec.artifact.directory import load_artifact
    from jointrec.experiments.train import train
    from jointrec.settings import preset
    from jointrec.testing import write_tiny_ml100k

    data = write_tiny_ml100k(tmp_path / "ml-100k.zip")
    config = preset("default").replace(
        train={"epochs": 1, "batch_size": 64}, model={"rating": {"shrinkage": 3.0}}
    )
    result = train(config, data=data, out=tmp_path / "run", progress=False)
    m = load_artifact(result.artifact).exported
    assert m.rating_shrinkage == 3.0 and m.rating_weight is not None
    n = np.bincount(result.data.train.user, minlength=m.num_users)  # every row is rated
    np.testing.assert_allclose(m.rating_weight, n / (n + 3.0), rtol=1e-6)
    u, i = result.data.test.user, result.data.test.item
    head = m.predict_labels_from(m.user_embeddings[u], m.item_embeddings[i], u, i)
    np.testing.assert_allclose(m.predict_labels(u, i), m.shrink(head, i, m.rating_weight[u]))
    stars = m.labels_to_stars(m.predict_labels(u, i))
    rmse = float(np.sqrt(np.mean((stars - result.data.test.rating) ** 2)))
    assert rmse == pytest.approx(result.report["rmse"], rel=1e-4)  # the report uses it too
