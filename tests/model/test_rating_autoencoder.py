"""The rating head's item autoencoder against a NumPy reference, in Keras, in the export, in
serving and through a save/load."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.artifact.export import export_model
from jointrec.data.encoded import EncodedInteractions
from jointrec.errors import JointrecError
from jointrec.inference.ranker import RatingRanker
from jointrec.model.build import build_model
from jointrec.scoring.exported import ExportedModel
from jointrec.settings import ModelConfig


def _model(combine: str, rng: np.random.Generator):
    users = rng.integers(1, 9, 40)
    items = rng.integers(1, 14, 40)
    stars = rng.integers(1, 6, 40).astype(np.float32)
    keep = np.unique(users * 100 + items, return_index=True)[1]  # distinct pairs
    training = EncodedInteractions(users[keep], items[keep], stars[keep])
    config = ModelConfig(
        towers={"embedding_dim": 6},
        rating={
            "layer_sizes": (5,),
            "biases": True,
            "clip_predictions": False,
            "autoencoder": 3,
            "autoencoder_combine": combine,
            "autoencoder_min_ratings": 0.0,
        },
    )
    model = build_model(config, 9, 14, training=training, seed=1)
    head = model.rating_head
    # Non-zero per-user vectors (they start at zero), so the term is visible.
    head.user_codes.assign(rng.normal(0, 1, (9, 3)).astype("float32"))
    return model, training


def _reference(model, training, users, items, leave_out):
    """NumPy: h_i = sigmoid(r_i V + b) (own rating left out when training), rating = MLP +
    biases + p_u . h_i (sum) or the mean of MLP + biases and p_u . h_i + biases."""
    head = model.rating_head
    table = np.zeros((14, 9), np.float32)
    table[training.item, training.user] = (training.labels() + 0.25) / 1.25
    v, b = head.encoder.numpy(), head.encoder_bias.numpy()
    rows = table[items].copy()
    if leave_out:
        rows[np.arange(len(users)), users] = 0.0
    codes = 1.0 / (1.0 + np.exp(-(rows @ v + b)))
    term = (head.user_codes.numpy()[users] * codes).sum(axis=1)
    query = np.asarray(model.query_tower(users))
    candidate = np.asarray(model.candidate_tower(items))
    x = np.concatenate([query, candidate], axis=1)
    for layer in head.hidden:
        x = np.maximum(x @ layer.kernel.numpy() + layer.bias.numpy(), 0.0)
    mlp = (x @ head.output_layer.kernel.numpy() + head.output_layer.bias.numpy())[:, 0]
    biases = (
        head.user_bias.embeddings.numpy()[users, 0]
        + head.item_bias.embeddings.numpy()[items, 0]
        + float(head.offset.numpy())
    )
    if head.autoencoder_combine == "mean":
        return 0.5 * (mlp + biases) + 0.5 * (term + biases), (mlp + biases, term + biases)
    return mlp + biases + term, None


@pytest.mark.parametrize("combine", ["sum", "mean"])
def test_autoencoder_matches_numpy_and_leaves_the_own_rating_out_in_training(rng, combine):
    model, training = _model(combine, rng)
    users, items = training.user[:6], training.item[:6]  # training pairs: own rating present
    for leave_out in (False, True):
        out = model({"user": users, "item": items}, training=leave_out)
        expected, parts = _reference(model, training, users, items, leave_out)
        np.testing.assert_allclose(np.asarray(out["rating"]), expected, rtol=1e-5, atol=1e-5)
        if parts is not None:  # the mean head trains each part on the rating loss
            for got, want in zip(out["rating_parts"], parts, strict=True):
                np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
    labels = training.labels()[:6]
    loss = float(model.task_losses({"user": users, "item": items}, out, labels)["rating"])
    if parts is None:
        want = np.mean((expected - labels) ** 2)
    else:
        want = 0.5 * (np.mean((parts[0] - labels) ** 2) + np.mean((parts[1] - labels) ** 2))
    assert loss == pytest.approx(want, rel=1e-4)


@pytest.mark.parametrize("combine", ["sum", "mean"])
def test_export_ranker_and_file_rate_like_keras(rng, tmp_path, combine):
    model, training = _model(combine, rng)
    exported = export_model(model, rating_scale=(1.0, 5.0), clip_predictions=False)
    users, items = np.array([1, 3, 8, 5, 2]), np.array([13, 2, 4, 4, 1])
    keras_labels = np.asarray(model({"user": users, "item": items})["rating"])
    np.testing.assert_allclose(exported.predict_labels(users, items), keras_labels, atol=1e-5)
    ranker = RatingRanker(exported)
    for j in range(len(users)):
        u = users[j]
        got = ranker.labels(
            exported.user_embeddings[u],
            float(exported.user_bias[u]),
            items[j : j + 1],
            exported.user_codes[u],
        )
        np.testing.assert_allclose(got, keras_labels[j : j + 1], atol=1e-5)
    exported.save(tmp_path / "m.npz")
    again = ExportedModel.load(tmp_path / "m.npz")
    np.testing.assert_allclose(again.predict_labels(users, items), keras_labels, atol=1e-5)


def test_autoencoder_settings_are_checked():
    with pytest.raises(JointrecError, match="rating.autoencoder"):
        ModelConfig(rating={"autoencoder": 8, "biases": False})
    with pytest.raises(JointrecError, match="rating.autoencoder"):
        ModelConfig(rating={"autoencoder": -1, "biases": True})


def test_a_catalogue_too_large_for_the_table_trains_without_the_autoencoder(monkeypatch):
    from jointrec.model import build

    config = ModelConfig(rating={"biases": True, "autoencoder": 4, "layer_sizes": (4,)})
    monkeypatch.setattr(build, "MAX_RATING_CELLS", 9 * 14 - 1)
    assert build.build_model(config, 9, 14, seed=0).rating_head.autoencoder_units == 0
    monkeypatch.setattr(build, "MAX_RATING_CELLS", 9 * 14)
    assert build.build_model(config, 9, 14, seed=0).rating_head.autoencoder_units == 4


def test_unrated_rows_stay_out_of_the_rating_table():
    config = ModelConfig(rating={"biases": True, "autoencoder": 2, "layer_sizes": (4,)})
    model = build_model(config, 4, 5, seed=0)
    model.rating_head.set_item_ratings(
        np.array([1, 2, 3]), np.array([1, 1, 4]), np.array([1.0, np.nan, 0.0], "float32")
    )
    table = model.rating_head.item_ratings.numpy()
    assert table[1, 1] == pytest.approx(1.0) and table[4, 3] == pytest.approx(0.2)
    assert table[1, 2] == 0.0 and np.isfinite(table).all()


def test_users_with_few_ratings_train_without_the_autoencoder():
    from jointrec.model.build import autoencoder_units

    config = ModelConfig(rating={"biases": True, "autoencoder": 4, "autoencoder_min_ratings": 3})
    users = np.array([1, 1, 1, 2, 2, 2, 3, 3, 3])  # 3 ratings a user: used
    x = EncodedInteractions(users, np.arange(9) % 5 + 1, np.full(9, 4.0, "float32"))
    assert autoencoder_units(config, 4, 6, x) == 4
    x = x.take(np.arange(8))  # 8 / 3 a user: not used
    assert autoencoder_units(config, 4, 6, x) == 0
    unrated = EncodedInteractions(users, x.item[:1].repeat(9), np.array([4.0] * 5 + [np.nan] * 4))
    assert autoencoder_units(config, 4, 6, unrated) == 0  # unrated rows do not count: 5 / 2
    assert build_model(config, 4, 6, training=x, seed=0).rating_head.autoencoder_units == 0
