"""The NumPy export scores and rates exactly like the Keras model."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.artifact.export import export_model
from jointrec.model.build import build_model
from jointrec.scoring.exported import ExportedModel
from jointrec.settings import ModelConfig


@pytest.mark.parametrize("normalize,biases", [(False, False), (True, True)])
def test_export_matches_keras_and_survives_save_load(tmp_path, normalize, biases):
    model = build_model(
        ModelConfig(
            towers={"embedding_dim": 6},
            retrieval={"l2_normalize": normalize},
            rating={"layer_sizes": (12, 5), "biases": biases, "clip_predictions": False},
        ),
        9,
        14,
        global_mean=0.6,
        seed=2,
    )
    exported = export_model(model, rating_scale=(1.0, 5.0), clip_predictions=False)
    users, items = np.array([0, 3, 8, 5]), np.array([13, 0, 4, 4])
    out = model({"user": users, "item": items})
    np.testing.assert_allclose(
        exported.predict_labels(users, items), np.asarray(out["rating"]), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        exported.predict_ratings(users, items),
        1 + 4 * np.asarray(out["rating"]),
        rtol=1e-5,
        atol=1e-5,
    )
    q = np.asarray(model.retrieval_task.vectors(out["query"]))
    c = np.asarray(model.retrieval_task.vectors(model.candidate_tower(np.arange(14))))
    np.testing.assert_allclose(exported.score_users(users), q @ c.T, rtol=1e-5, atol=1e-6)
    exported.save(tmp_path / "e.npz")
    loaded = ExportedModel.load(tmp_path / "e.npz")
    np.testing.assert_allclose(loaded.score_users(users), exported.score_users(users))
    np.testing.assert_allclose(
        loaded.predict_ratings(users, items), exported.predict_ratings(users, items)
    )


def test_clipping_maps_labels_into_the_star_scale():
    exported = ExportedModel(
        np.zeros((2, 1)),
        np.zeros((2, 1)),
        [(np.zeros((2, 1)), np.zeros(1))],
        rating_scale=(1.0, 5.0),
        clip_predictions=True,
    )
    assert exported.labels_to_stars(np.array([-0.5, 0.5, 1.7])).tolist() == [1.0, 3.0, 5.0]


def test_popularity_prior_adds_beta_log_popularity_for_users_without_interactions(tmp_path):
    from jointrec.errors import JointrecError

    config = ModelConfig(towers={"embedding_dim": 6}, retrieval={"l2_normalize": True})
    model = build_model(config, 9, 14, seed=2)
    users, items = np.array([1, 1, 2, 3, 4, 5, 5]), np.array([2, 3, 3, 3, 7, 2, 13])
    exported = export_model(model, training=(users, items), newcomer_popularity=0.5)
    plain = export_model(model)
    assert exported.has_prior and not plain.has_prior
    counts = np.bincount(items, minlength=14)
    newcomer = np.isin(np.arange(9), [6, 7, 8])  # never in training (0 is the unknown user)
    expected = plain.score_users(np.arange(9)) + 0.5 * newcomer[:, None] * np.log1p(counts)
    np.testing.assert_allclose(exported.score_users(np.arange(9)), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(exported.tower_vectors(exported.item_vectors), plain.item_vectors)
    exported.save(tmp_path / "e.npz")
    loaded = ExportedModel.load(tmp_path / "e.npz")
    np.testing.assert_allclose(loaded.score_users(np.arange(9)), expected, rtol=1e-5, atol=1e-6)
    # no newcomer, or a weight of 0: the vectors are the towers' own
    everyone = (np.arange(1, 9), np.arange(1, 9))
    assert not export_model(model, training=everyone, newcomer_popularity=0.5).has_prior
    assert not export_model(model, training=(users, items)).has_prior
    with pytest.raises(JointrecError, match=r"retrieval.newcomer_popularity=-1.0 is invalid"):
        ModelConfig(retrieval={"newcomer_popularity": -1.0})


def test_recent_popularity_counts_the_latest_rows_only():
    from jointrec.artifact.export import popularity_prior
    from jointrec.data.splits import recent_rows

    times = np.array([10, 40, 20, 30, 50, 60])
    assert recent_rows(times, 0.5).tolist() == [1, 4, 5]  # the latest three, in row order
    assert recent_rows(times, 1.0) is None and recent_rows(None, 0.5) is None
    users, items = np.array([1, 1, 2, 2, 3, 3]), np.array([1, 1, 1, 2, 2, 3])
    prior = popularity_prior(
        (users, items), 5, 4, 2.0, popular_items=items[recent_rows(times, 0.5)]
    )
    # items of rows 1, 4, 5: 1, 2, 3 once each; all-time counts would be 3, 2, 1
    np.testing.assert_allclose(prior["item_prior"], np.log1p([0, 1, 1, 1]), rtol=1e-6)
    assert prior["user_prior"].tolist() == [0.0, 0.0, 0.0, 0.0, 2.0]


def test_the_prior_for_users_with_a_history_reaches_visitors_too(tmp_path):
    from jointrec.artifact.export import popularity_prior
    from jointrec.inference.foldin import fit_user

    users, items = np.array([1, 1, 2, 3]), np.array([1, 2, 2, 3])
    prior = popularity_prior((users, items), 5, 4, 3.0, others=1.5)
    assert prior["user_prior"].tolist() == [0.0, 1.5, 1.5, 1.5, 3.0]  # 4: a newcomer
    assert prior["known_prior"] == 1.5
    assert popularity_prior((users, items), 4, 4, 0.0) == {}  # nobody weighted: no column
    config = ModelConfig(towers={"embedding_dim": 6}, retrieval={"l2_normalize": True})
    model = build_model(config, 5, 4, seed=2)
    exported = export_model(model, training=(users, items), newcomer_popularity=3.0,
                            recent_popularity=1.5)  # fmt: skip
    assert exported.known_prior == 1.5
    visitor = fit_user(exported, np.array([1, 2]), np.array([5.0, 4.0]))
    assert visitor.query is not None and visitor.query.shape == (7,)
    assert visitor.query[-1] == pytest.approx(1.5)  # scored like a user with a history
    exported.save(tmp_path / "e.npz")
    assert ExportedModel.load(tmp_path / "e.npz").known_prior == pytest.approx(1.5)
