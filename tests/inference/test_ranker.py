"""RatingRanker regroups the rating head; it must equal ExportedModel's forward pass."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.inference.ranker import RatingRanker


@pytest.mark.parametrize("limit", [0, 10**9])
@pytest.mark.parametrize("biases", [True, False])
def test_ranker_equals_exported_predictions(small_exported, limit, biases):
    model = small_exported(biases)
    ranker = RatingRanker(model, precompute_limit=limit)
    items = np.array([1, 2, 3, 9, 9])
    for u in range(1, 6):
        bias = float(model.user_bias[u]) if biases else 0.0
        np.testing.assert_allclose(
            ranker.stars(model.user_embeddings[u], bias, items),
            model.predict_ratings(np.full(len(items), u), items),
            rtol=1e-5,
        )
