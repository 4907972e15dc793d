"""RatingRanker regroups the rating head; it must equal ExportedModel's forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.exported import ExportedModel
from jointrec.ranking import RatingRanker


def small_model(rng, biases=True) -> ExportedModel:
    d, h = 4, 8
    return ExportedModel(
        user_embeddings=rng.normal(size=(6, d)).astype(np.float32),
        item_embeddings=rng.normal(size=(10, d)).astype(np.float32),
        mlp=[
            (
                rng.normal(scale=0.5, size=(2 * d, h)).astype(np.float32),
                rng.normal(size=h).astype(np.float32) * 0.1,
            ),
            (
                rng.normal(scale=0.5, size=(h, h)).astype(np.float32),
                rng.normal(size=h).astype(np.float32) * 0.1,
            ),
            (rng.normal(scale=0.5, size=(h, 1)).astype(np.float32), np.float32([0.3])),
        ],
        user_bias=rng.normal(size=6).astype(np.float32) * 0.1 if biases else None,
        item_bias=rng.normal(size=10).astype(np.float32) * 0.1 if biases else None,
        offset=0.2 if biases else 0.0,
        l2_normalize=True,
    )


@pytest.mark.parametrize("limit", [0, 10**9])
@pytest.mark.parametrize("biases", [True, False])
def test_ranker_equals_exported_predictions(rng, limit, biases):
    model = small_model(rng, biases)
    ranker = RatingRanker(model, precompute_limit=limit)
    items = np.array([1, 2, 3, 9, 9])
    for u in range(1, 6):
        bias = float(model.user_bias[u]) if biases else 0.0
        np.testing.assert_allclose(
            ranker.stars(model.user_embeddings[u], bias, items),
            model.predict_ratings(np.full(len(items), u), items),
            rtol=1e-5,
        )
