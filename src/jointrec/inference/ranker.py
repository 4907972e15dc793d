"""`RatingRanker`: the rating head for one user against many items, with the item half of
its first layer precomputed.

The head's first layer sees ``concat(user, item)``, so ``[u, e] @ W = u @ W_u + e @ W_e``:
the item part ``e @ W_e + b`` is computed once for the whole catalogue, and a request only
adds the user's row to the candidates' rows. Numerically it is `ExportedModel`'s forward
pass, regrouped (tests compare the two).

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
        kernel, bias = model.mlp[0]
        d = model.user_embeddings.shape[1]
        self._user_kernel = np.ascontiguousarray(kernel[:d], dtype=np.float32)
        self._item_kernel = np.ascontiguousarray(kernel[d:], dtype=np.float32)
        self._bias = bias.astype(np.float32)
        self._rest = [(k.astype(np.float32), b.astype(np.float32)) for k, b in model.mlp[1:]]
        self._item_first: np.ndarray | None = None
        if model.num_items * kernel.shape[1] <= precompute_limit:
            self._item_first = model.item_embeddings @ self._item_kernel + self._bias

    def append_item(self, embedding: np.ndarray) -> None:
        """Extends the precomputed table by one new item (already added to the model)."""
        if self._item_first is not None:
            row = embedding @ self._item_kernel + self._bias
            self._item_first = np.vstack([self._item_first, row[None, :]])

    def labels(self, embedding: np.ndarray, bias: float, items: np.ndarray) -> np.ndarray:
        """Unclipped normalised predictions (the model's label scale)."""
        if self._item_first is not None:
            x = self._item_first[items]
        else:
            x = self.model.item_embeddings[items] @ self._item_kernel + self._bias
        x += embedding @ self._user_kernel
        if len(self.model.mlp) == 1:
            out = x[:, 0]
        else:
            np.maximum(x, 0.0, out=x)
            for kernel, b in self._rest[:-1]:
                x = x @ kernel
                x += b
                np.maximum(x, 0.0, out=x)
            kernel, b = self._rest[-1]
            out = (x @ kernel)[:, 0] + b[0]
        m = self.model
        if m.user_bias is not None:
            out = out + (bias + m.offset)
            if m.item_bias is not None:
                out = out + m.item_bias[items]
        return out

    def stars(self, embedding: np.ndarray, bias: float, items: np.ndarray) -> np.ndarray:
        """Predicted ratings in stars (`ExportedModel.labels_to_stars`, in place)."""
        out = self.labels(embedding, bias, items)  # a fresh array
        m = self.model
        if m.clip_predictions:
            np.maximum(out, 0.0, out=out)
            np.minimum(out, 1.0, out=out)
        low, high = m.rating_scale
        out *= high - low
        out += low
        return out
