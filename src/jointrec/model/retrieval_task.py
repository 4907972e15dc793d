"""`RetrievalTask`: in-batch softmax over the batch's items."""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from jointrec.model.accidental_hits import MASK_VALUE
from jointrec.model.embedding_tower import PACKAGE


def weighted_reduce(values: Any, weight: Any, reduction: str) -> Any:
    """``sum(w * v)`` for ``"sum"``; ``sum(w * v) / sum(w)`` for ``"mean"`` (0 if no weight)."""
    total = ops.sum(values * weight)
    if reduction == "sum":
        return total
    return total / ops.maximum(ops.sum(weight), 1e-12)


@keras.saving.register_keras_serializable(package=PACKAGE)
class RetrievalTask(keras.layers.Layer):
    """Softmax cross-entropy of each user against the items of its batch.

    Row ``i``'s positive is item ``i`` of the batch; every other item of the batch is a
    negative. The loss of row ``i`` is ``logsumexp(s_i) - s_ii`` with ``s = q c^T / T``.

    Args:
        temperature: Logits are divided by this.
        reduction: ``"sum"`` over rows (the tutorial, whose loss then grows with the batch) or
            ``"mean"`` over weighted rows.
        remove_accidental_hits: Mask negatives that are the row's own item.
        l2_normalize: Use cosine similarity (unit vectors) instead of the raw dot product.
        min_positive_label: Rows whose rating label is below this are not positives (they
            still serve as negatives for other rows); ``None`` uses every row.
        learn_temperature: Learn the temperature (initialised at ``temperature``).
        positive_weighting: ``"none"``, or ``"rating"`` to weight each positive row by its
            rating label (a 5-star positive counts more than a 4-star one).
        hard_negatives: Keep only this many highest-scoring negatives per row (0: all).
        **kwargs: Passed to `keras.layers.Layer`.

    Example:
        >>> import numpy as np
        >>> q = c = np.eye(3, dtype="float32")
        >>> loss = RetrievalTask(reduction="mean")(q, c, np.array([1, 2, 3]))
        >>> round(float(loss), 4)  # log(e + 2) - 1
        0.5514
    """

    def __init__(
        self,
        temperature: float = 1.0,
        reduction: str = "mean",
        remove_accidental_hits: bool = True,
        l2_normalize: bool = False,
        min_positive_label: float | None = None,
        learn_temperature: bool = False,
        positive_weighting: str = "none",
        hard_negatives: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if reduction not in ("sum", "mean"):
            raise ValueError(f"reduction={reduction!r}: expected 'sum' or 'mean'")
        if temperature <= 0:
            raise ValueError(f"temperature={temperature!r}: expected > 0")
        self.temperature = float(temperature)
        self.reduction = reduction
        self.remove_accidental_hits = bool(remove_accidental_hits)
        self.l2_normalize = bool(l2_normalize)
        self.min_positive_label = None if min_positive_label is None else float(min_positive_label)
        if positive_weighting not in ("none", "rating"):
            raise ValueError(f"positive_weighting={positive_weighting!r}: expected 'none'/'rating'")
        if hard_negatives < 0:
            raise ValueError(f"hard_negatives={hard_negatives!r}: expected >= 0")
        self.learn_temperature = bool(learn_temperature)
        self.positive_weighting = positive_weighting
        self.hard_negatives = int(hard_negatives)

    def build(self, *args: Any, **kwargs: Any) -> None:
        if self.learn_temperature:
            self.log_inverse_temperature = self.add_weight(
                name="log_inverse_temperature",
                shape=(),
                initializer=keras.initializers.Constant(-math.log(self.temperature)),
            )
        self.built = True

    def current_temperature(self) -> float:
        """The temperature in use (the learned one when ``learn_temperature``)."""
        if self.learn_temperature:
            return float(math.exp(-float(ops.convert_to_numpy(self.log_inverse_temperature))))
        return self.temperature

    def vectors(self, x: Any) -> Any:
        """The vectors whose dot product is the retrieval score (unit length if normalising)."""
        if not self.l2_normalize:
            return x
        # rsqrt(|x|^2 + eps) keeps the gradient finite at x = 0 (ops.normalize's is NaN).
        return x * ops.rsqrt(ops.sum(ops.square(x), axis=-1, keepdims=True) + 1e-12)

    def logits(self, query: Any, candidate: Any) -> Any:
        """``[batch, batch]`` scores of every user in the batch against every item."""
        return self._scale(ops.matmul(self.vectors(query), ops.transpose(self.vectors(candidate))))

    def _scale(self, scores: Any) -> Any:
        """Dot products divided by the (fixed or learned) temperature."""
        if self.learn_temperature:
            return scores * ops.exp(self.log_inverse_temperature)
        return scores / self.temperature if self.temperature != 1.0 else scores

    def call(
        self,
        query: Any,
        candidate: Any,
        candidate_ids: Any,
        labels: Any = None,
        sample_weight: Any = None,
        candidate_mask: Any = None,
        candidate_log_q: Any = None,
        positive_index: Any = None,
        exclude: Any = None,
    ) -> Any:
        """Returns the scalar loss.

        Args:
            query: ``[batch, dim]`` user vectors.
            candidate: ``[num_candidates, dim]`` item vectors; in-batch (the default), row
                ``i`` is row ``i``'s positive.
            candidate_ids: ``[num_candidates]`` item ids, for accidental-hit masking.
            labels: ``[batch]`` rating labels, for ``min_positive_label`` and weighting.
            sample_weight: ``[batch]`` row weights.
            candidate_mask: ``[num_candidates]`` 1 for real candidates, 0 for padding.
            candidate_log_q: ``[num_candidates]`` log sampling probability of each
                candidate; when given it is subtracted from the logits (logQ correction).
            positive_index: ``[batch]`` column of each row's positive among the candidates
                (e.g. item indices for a full softmax over the catalogue); ``None`` means
                the diagonal (in-batch).
            exclude: ``[batch, num_candidates]`` truthy where a candidate must not act as a
                negative for that row (e.g. the user's other training items).
        """
        logits = self.logits(query, candidate)
        if candidate_log_q is not None:
            logits = logits - ops.expand_dims(ops.cast(candidate_log_q, logits.dtype), 0)
        weight = self._row_weights(ops.shape(logits)[0], labels, sample_weight, logits.dtype)
        if positive_index is not None:
            return self._indexed_loss(
                logits, candidate_ids, positive_index, weight, candidate_mask, exclude
            )
        # In-batch: row i's positive is column i. Its logit comes from the [batch, dim]
        # vectors (a diagonal taken from the score matrix costs XLA a pass over it), padding
        # columns are masked by a [batch] bias, and [batch, batch] masks are built only when
        # a row has negatives to drop; the positive is then added back with logaddexp.
        num = int(ops.shape(logits)[1])
        positive_logit = self._scale(
            ops.sum(self.vectors(query) * self.vectors(candidate), axis=-1)
        )
        if candidate_log_q is not None:
            positive_logit = positive_logit - ops.cast(candidate_log_q, logits.dtype)
        mask_value = ops.cast(MASK_VALUE, logits.dtype)
        if candidate_mask is not None:
            valid = ops.cast(candidate_mask, "bool")
            logits = logits + ops.expand_dims(ops.where(valid, 0.0, mask_value), 0)
            weight = weight * ops.cast(valid, logits.dtype)
        if not (self.remove_accidental_hits or exclude is not None or self.hard_negatives):
            per_row = ops.logsumexp(logits, axis=1) - positive_logit
            return weighted_reduce(per_row, weight, self.reduction)
        if self.remove_accidental_hits:  # every column holding the row's item, its own too
            drop = ops.equal(ops.expand_dims(candidate_ids, 0), ops.expand_dims(candidate_ids, 1))
        else:
            drop = ops.cast(ops.eye(ops.shape(logits)[0], num), "bool")
        if exclude is not None:
            drop = ops.logical_or(drop, ops.cast(exclude, "bool"))
        negatives = ops.where(drop, mask_value, logits)
        per_row = self._per_row(negatives, positive_logit, num)
        return weighted_reduce(per_row, weight, self.reduction)

    def supports_unique(self) -> bool:
        """Whether `unique_loss` equals `call`'s in-batch loss for these settings (top-k
        hard negatives count duplicate items one by one, so they need the full matrix)."""
        return self.hard_negatives == 0

    def unique_loss(
        self,
        query: Any,
        candidate: Any,
        user_inverse: Any,
        item_inverse: Any,
        item_count: Any,
        labels: Any = None,
        sample_weight: Any = None,
        candidate_log_q: Any = None,
    ) -> Any:
        """The in-batch loss of `call`, computed over the batch's distinct users and items.

        Row ``i`` of a batch scores its user against every row's item, so an item held by
        ``n`` rows appears ``n`` times among the candidates, and rows of the same user share
        every score. With ``S[u, m]`` the score of distinct user ``u`` and item ``m``, row
        ``i``'s softmax denominator is ``sum_m n_m exp(S[u_i, m])``: one log-sum-exp per
        distinct user, over distinct items with ``log n_m`` added. Removing accidental hits
        takes the ``n - 1`` other copies of the row's own item out again:
        ``log(D - (n - 1) e^p) = lse + log1p(-(n - 1) e^(p - lse))``, where ``D`` holds at
        least ``n`` copies of ``e^p``, so the argument stays above ``-(n - 1) / n``.

        Args:
            query: ``[users, dim]`` vectors of the batch's distinct users.
            candidate: ``[items, dim]`` vectors of its distinct items.
            user_inverse: ``[batch]`` row ``i``'s user as an index into ``query``.
            item_inverse: ``[batch]`` row ``i``'s item as an index into ``candidate``.
            item_count: ``[items]`` how many real rows hold each item (0: a padding slot).
            labels: ``[batch]`` rating labels, for ``min_positive_label`` and weighting.
            sample_weight: ``[batch]`` row weights (0 for padding rows).
            candidate_log_q: ``[items]`` log sampling probability, for logQ correction.
        """
        query, candidate = self.vectors(query), self.vectors(candidate)
        scores = self._scale(ops.matmul(query, ops.transpose(candidate)))
        count = ops.cast(item_count, scores.dtype)
        # One [items] column term: + log n_m, minus log q_m, or the mask for padding slots.
        column = ops.where(
            ops.greater(count, 0), ops.log(ops.maximum(count, 1)), ops.cast(MASK_VALUE, "float32")
        )
        if candidate_log_q is not None:
            column = column - ops.cast(candidate_log_q, scores.dtype)
        lse = ops.logsumexp(scores + ops.expand_dims(column, 0), axis=1)
        user_inverse = ops.cast(user_inverse, "int32")
        item_inverse = ops.cast(item_inverse, "int32")
        positive_logit = self._scale(
            ops.sum(
                ops.take(query, user_inverse, axis=0) * ops.take(candidate, item_inverse, axis=0),
                axis=-1,
            )
        )
        if candidate_log_q is not None:
            positive_logit = positive_logit - ops.take(
                ops.cast(candidate_log_q, scores.dtype), item_inverse, axis=0
            )
        row_lse = ops.take(lse, user_inverse, axis=0)
        if self.remove_accidental_hits:
            copies = ops.maximum(ops.take(count, item_inverse, axis=0) - 1, 0)
            share = copies * ops.exp(positive_logit - row_lse)
            row_lse = row_lse + ops.log1p(-ops.minimum(share, 1.0 - 1e-6))
        weight = self._row_weights(ops.shape(user_inverse)[0], labels, sample_weight, scores.dtype)
        return weighted_reduce(row_lse - positive_logit, weight, self.reduction)

    def _row_weights(self, batch: Any, labels: Any, sample_weight: Any, dtype: Any) -> Any:
        """``[batch]`` loss weight of each row: sample weight, positive threshold, rating."""
        weight = ops.ones((batch,), dtype=dtype)
        if sample_weight is not None:
            weight = weight * ops.cast(sample_weight, dtype)
        if self.min_positive_label is not None and labels is not None:
            weight = weight * ops.cast(labels >= self.min_positive_label, dtype)
        if self.positive_weighting == "rating" and labels is not None:
            weight = weight * ops.cast(labels, dtype)
        return weight

    def _indexed_loss(
        self,
        logits: Any,
        candidate_ids: Any,
        positive_index: Any,
        weight: Any,
        candidate_mask: Any,
        exclude: Any,
    ) -> Any:
        """The loss when row ``i``'s positive is column ``positive_index[i]`` (e.g. a full
        softmax over the catalogue).

        Every ``[batch, num_candidates]`` mask (the positive itself, accidental hits,
        exclusions, padding) is folded into one select, and the positive is added back with
        ``logaddexp``: ``loss = logaddexp(lse(negatives), s_pos) - s_pos``, the same value as
        masking around the positive, with fewer passes over the logits.
        """
        index = ops.expand_dims(ops.cast(positive_index, "int32"), 1)
        positive_logit = ops.take_along_axis(logits, index, axis=1)[:, 0]
        if self.remove_accidental_hits:
            # The positive's own column shares its id, so this drops it as well.
            positive_ids = ops.take(candidate_ids, index[:, 0], axis=0)
            drop = ops.equal(ops.expand_dims(candidate_ids, 0), ops.expand_dims(positive_ids, 1))
        else:
            columns = ops.expand_dims(ops.arange(ops.shape(logits)[1], dtype="int32"), 0)
            drop = ops.equal(columns, index)
        if exclude is not None:
            drop = ops.logical_or(drop, ops.cast(exclude, "bool"))
        if candidate_mask is not None:
            invalid = ops.logical_not(ops.cast(candidate_mask, "bool"))
            drop = ops.logical_or(drop, ops.expand_dims(invalid, 0))
        negatives = ops.where(drop, ops.cast(MASK_VALUE, logits.dtype), logits)
        per_row = self._per_row(negatives, positive_logit, int(ops.shape(logits)[1]))
        return weighted_reduce(per_row, weight, self.reduction)

    def _per_row(self, negatives: Any, positive_logit: Any, num: int) -> Any:
        """``log(e^pos + sum of e^neg) - pos`` over all negatives or the hardest ones."""
        if self.hard_negatives > 0:
            k = min(self.hard_negatives, num - 1)
            negatives = ops.top_k(negatives, k, sorted=False)[0]
        return ops.logaddexp(ops.logsumexp(negatives, axis=1), positive_logit) - positive_logit

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "temperature": self.temperature,
                "reduction": self.reduction,
                "remove_accidental_hits": self.remove_accidental_hits,
                "l2_normalize": self.l2_normalize,
                "min_positive_label": self.min_positive_label,
                "learn_temperature": self.learn_temperature,
                "positive_weighting": self.positive_weighting,
                "hard_negatives": self.hard_negatives,
            }
        )
        return config
