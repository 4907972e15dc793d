"""`RatingRanker`: the rating head for one user against many items, with the item half of
its first layer precomputed for the whole catalogue.

The head's first layer sees ``concat(user, item)``, so ``[u, e] @ W + b = u @ W_u + (e @ W_e
+ b)``: the item part is computed once (`ExportedModel.item_first` over every item), and a
request only adds the user's row to the candidates' rows before the rest of the head
(`ExportedModel.head_from_first`). It is `ExportedModel`'s own forward pass with one step
cached, so the numbers are the same.

Example:
    >>> ranker = RatingRanker(exported)  # doctest: +SKIP
    >>> ranker.stars(exported.user_embeddings[5], 0.0, np.array([1, 2]))  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from jointrec.scoring.exported import ExportedModel

PRECOMPUTE_LIMIT = 64 * 1024 * 1024  # floats (256 MiB) of precomputed first-layer rows


class RatingRanker:
    """Predicted stars for one user embedding against item indices.

    Args:
        model: The exported model.
        precompute_limit: Largest ``num_items x hidden`` table to precompute; above it the
            first layer runs per request on the candidates only.
    """

    def __init__(self, model: ExportedModel, precompute_limit: int = PRECOMPUTE_LIMIT) -> None:
        self.model = model
        hidden = model.mlp[0][0].shape[1]
        self._item_first: np.ndarray | None = None
        if model.num_items * hidden <= precompute_limit:
            self._item_first = model.item_first(model.item_embeddings)

    def append_item(self, embedding: np.ndarray) -> None:
        """Extends the precomputed table by one new item (already added to the model)."""
        if self._item_first is not None:
            row = self.model.item_first(embedding[None, :])
            self._item_first = np.vstack([self._item_first, row])

    def labels(
        self,
        embedding: np.ndarray,
        bias: float,
        items: np.ndarray,
        code: np.ndarray | None = None,
        weight: float = 1.0,
    ) -> np.ndarray:
        """Unclipped normalised predictions (the model's label scale); ``code`` is the user's
        rating-autoencoder vector when the head has one (``None`` for a new visitor);
        ``weight`` shrinks them towards the average user's (`ExportedModel.shrink`; 1: no
        shrinkage)."""
        m = self.model
        if self._item_first is not None:
            first = self._item_first[items]
        else:
            first = m.item_first(m.item_embeddings[items])
        first += m.user_first(embedding)
        out = m.add_biases(m.head_from_first(first), items=items, user_bias=bias, user_code=code)
        return out if weight == 1.0 else m.shrink(out, items, weight)

    def stars(
        self,
        embedding: np.ndarray,
        bias: float,
        items: np.ndarray,
        code: np.ndarray | None = None,
        weight: float = 1.0,
    ) -> np.ndarray:
        """Predicted ratings in stars (`ExportedModel.labels_to_stars`)."""
        return self.model.labels_to_stars(self.labels(embedding, bias, items, code, weight))
