"""`JointModel`: one user tower and one item tower shared by retrieval and rating.

`jointrec.model.build.build_model` makes one from settings.

Example:
    >>> from jointrec.model import EmbeddingTower, RatingHead, RatingTask, RetrievalTask
    >>> model = JointModel(EmbeddingTower(10, 8), EmbeddingTower(20, 8), RatingHead((16,)),
    ...                    RetrievalTask(), RatingTask())
    >>> import numpy as np
    >>> out = model({"user": np.array([1, 2]), "item": np.array([3, 4])})
    >>> sorted(out), tuple(out["rating"].shape)
    (['candidate', 'query', 'rating'], (2,))
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from jointrec.errors import JointrecError
from jointrec.model.embedding_tower import PACKAGE
from jointrec.model.rating_head import RatingHead
from jointrec.model.rating_task import RatingTask, retrieval_labels
from jointrec.model.retrieval_task import RetrievalTask

#: Largest users x items table of seen pairs for ``mask_seen`` (int8 cells).
MAX_SEEN_CELLS = 200_000_000


@keras.saving.register_keras_serializable(package=PACKAGE)
class JointModel(keras.Model):
    """Two towers and two tasks; the loss is ``w_ret * retrieval + w_rat * rating``.

    Inputs are a dict with ``"user"`` and ``"item"`` index tensors (``"item"`` may be left
    out to get user vectors only). Outputs are ``"query"`` and ``"candidate"`` vectors and the
    normalised ``"rating"`` prediction.

    Args:
        query_tower: Layer mapping user indices to vectors.
        candidate_tower: Layer mapping item indices to vectors.
        rating_head: `RatingHead` over the two vectors.
        retrieval_task: `RetrievalTask` computing the in-batch softmax loss.
        rating_task: `RatingTask` computing the rating loss.
        retrieval_weight: Weight of the retrieval loss.
        rating_weight: Weight of the rating loss.
        negatives: ``"in_batch"`` (the batch's items are the candidates, scales to any
            catalogue) or ``"full"`` (softmax over the whole catalogue, for small ones).
        mask_seen: With ``"full"``: ``"none"``, ``"positives"`` (a user's other liked
            training items are not negatives; low-rated ones stay negatives) or ``"all"``.
            Set the pairs with `mark_training_pairs`.
        loss_weighting: ``"fixed"`` (the weights as given) or ``"uncertainty"`` (Kendall et
            al.: each task's loss is scaled by a learned ``exp(-s)`` and ``s`` is added).
        mask_cold_items: With ``"full"``: items without training interactions (the others
            are marked by `mark_training_pairs`) are nobody's negatives, so they are not
            pushed down for every user and their side features can place them.
        retrieval_rows: Compute the retrieval loss on at most this many rows of each batch,
            the retrieval positives first (0: every row). Rows below the positive threshold
            weigh 0 in that loss anyway; `positive_rows_bound` picks a bound that a shuffled
            batch exceeds with negligible probability (a positive beyond it would sit out
            that step's retrieval loss).
        num_users: User indices (unknown index 0 included); default: the query tower's
            ``vocabulary_size``.
        num_items: Item indices; default: the candidate tower's ``vocabulary_size``. Give
            both when a tower is your own layer without that attribute.
        **kwargs: Passed to `keras.Model` (``exclude_seen``, the name ``mask_seen`` had in
            jointrec 0.1, is accepted so that models saved then still load).

    References:
        keras-rs, "Multi-task recommenders: retrieval + ranking" (2025).
    """

    def __init__(
        self,
        query_tower: keras.layers.Layer,
        candidate_tower: keras.layers.Layer,
        rating_head: RatingHead,
        retrieval_task: RetrievalTask,
        rating_task: RatingTask,
        retrieval_weight: float = 1.0,
        rating_weight: float = 1.0,
        negatives: str = "in_batch",
        mask_seen: str = "none",
        loss_weighting: str = "fixed",
        mask_cold_items: bool = False,
        retrieval_rows: int = 0,
        num_users: int | None = None,
        num_items: int | None = None,
        unrated_weight: float = 1.0,
        unrated_ramp: tuple[float, float] | None = None,
        **kwargs: Any,
    ) -> None:
        mask_seen = kwargs.pop("exclude_seen", mask_seen)
        super().__init__(**kwargs)
        if negatives not in ("in_batch", "full"):
            raise ValueError(f"negatives={negatives!r}: expected 'in_batch' or 'full'")
        if mask_seen not in ("none", "positives", "all"):
            raise ValueError(f"mask_seen={mask_seen!r}: expected none/positives/all")
        if loss_weighting not in ("fixed", "uncertainty"):
            raise ValueError(f"loss_weighting={loss_weighting!r}: expected fixed/uncertainty")
        if retrieval_rows < 0:
            raise ValueError(f"retrieval_rows={retrieval_rows!r}: expected >= 0")
        self.negatives = negatives
        self.mask_seen = mask_seen
        self.loss_weighting = loss_weighting
        self.mask_cold_items = bool(mask_cold_items)
        self.retrieval_rows = int(retrieval_rows)
        self.num_users = _size(query_tower, num_users, "num_users")
        self.num_items = _size(candidate_tower, num_items, "num_items")
        self.query_tower = query_tower
        self.candidate_tower = candidate_tower
        self.rating_head = rating_head
        self.retrieval_task = retrieval_task
        self.rating_task = rating_task
        self.retrieval_weight = float(retrieval_weight)
        self.rating_weight = float(rating_weight)
        self.unrated_weight = float(unrated_weight)
        self.unrated_ramp = None if unrated_ramp is None else tuple(map(float, unrated_ramp))

    def build(self, input_shape: Any = None) -> None:
        if getattr(self, "built", False):
            return
        for tower in (self.query_tower, self.candidate_tower):
            if not tower.built:
                tower.build((None,))
        dim_q = self.query_tower.compute_output_shape((None,))
        dim_c = self.candidate_tower.compute_output_shape((None,))
        if int(dim_q[-1]) != int(dim_c[-1]):
            raise JointrecError(
                f"the user tower gives vectors of width {dim_q[-1]} and the item tower of "
                f"width {dim_c[-1]}: retrieval scores their dot product, so the widths must "
                "match"
            )
        if not self.rating_head.built:
            self.rating_head.build(dim_q, dim_c)
        if not self.retrieval_task.built:
            self.retrieval_task.build()
        if self.negatives == "full" and self.mask_seen != "none":
            if self.num_users * self.num_items > MAX_SEEN_CELLS:
                raise JointrecError(
                    f"mask_seen={self.mask_seen!r} with a full softmax needs a "
                    f"{self.num_users} x {self.num_items} table, more than {MAX_SEEN_CELLS} "
                    "cells: set model.retrieval.negatives='in_batch' (with logq_correction) "
                    "for this catalogue"
                )
            self.seen = self.add_weight(
                name="seen",
                shape=(self.num_users, self.num_items),
                dtype="int8",
                initializer="zeros",
                trainable=False,
            )
        if self.negatives == "full" and self.mask_cold_items:
            self.trained_items = self.add_weight(
                name="trained_items",
                shape=(self.num_items,),
                dtype="int8",
                initializer="ones",
                trainable=False,
            )
        if self.loss_weighting == "uncertainty":
            self.log_variances = self.add_weight(
                name="log_variances", shape=(2,), initializer="zeros"
            )
        self.built = True

    def get_build_config(self) -> dict[str, Any]:
        return {"built": True}

    def build_from_config(self, config: dict[str, Any]) -> None:
        """Rebuilds every variable on load (the model's own ones included)."""
        self.build()

    def mark_training_pairs(
        self, users: np.ndarray, items: np.ndarray, positive: np.ndarray | None = None
    ) -> None:
        """Tells the full softmax about the training pairs: which items each user has seen
        (not negatives for that user, per ``mask_seen``) and which items have interactions
        (with ``mask_cold_items`` the others are nobody's negatives).

        Args:
            users: ``[n]`` user indices of the training pairs.
            items: ``[n]`` item indices.
            positive: ``[n]`` booleans, the rows that are retrieval positives (used by
                ``mask_seen="positives"``); ``None``: every row.
        """
        users, items = np.asarray(users), np.asarray(items)
        self.set_trained_items(np.unique(items))
        if self.mask_seen == "positives" and positive is not None:
            keep = np.asarray(positive, dtype=bool)
            users, items = users[keep], items[keep]
        self.set_seen(users, items)

    def set_seen(self, users: np.ndarray, items: np.ndarray) -> None:
        """Marks ``(users[j], items[j])`` so those items are not negatives for those users
        in the full softmax (the unknown item 0 is always excluded); a no-op without
        ``mask_seen``."""
        if not hasattr(self, "seen"):
            return
        table = np.zeros(tuple(self.seen.shape), dtype=np.int8)
        table[np.asarray(users), np.asarray(items)] = 1
        table[:, 0] = 1
        self.seen.assign(table)

    def set_trained_items(self, items: np.ndarray) -> None:
        """Marks the items that have training interactions; with ``mask_cold_items`` the
        others (and the unknown item 0) are not negatives in the full softmax."""
        if not hasattr(self, "trained_items"):
            return
        flags = np.zeros(tuple(self.trained_items.shape), dtype=np.int8)
        flags[np.asarray(items)] = 1
        flags[0] = 0
        self.trained_items.assign(flags)

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        query = self.query_tower(inputs["user"], training=training)
        out = {"query": query}
        if "item" in inputs:
            if self.negatives == "full":
                every = self.candidate_tower(ops.arange(self.num_items), training=training)
                out["all_candidates"] = every
                candidate = ops.take(every, ops.cast(inputs["item"], "int32"), axis=0)
            else:
                candidate = self.candidate_tower(inputs["item"], training=training)
            out["candidate"] = candidate
            out.update(
                self._rating_outputs(query, candidate, inputs["user"], inputs["item"], training)
            )
        return out

    def _rating_outputs(
        self, query: Any, candidate: Any, users: Any, items: Any, training: bool
    ) -> dict[str, Any]:
        """``{"rating"}``, plus ``"rating_parts"`` when the head trains its two parts apart
        (`RatingHead.splits_loss`; the rating is then their mean)."""
        if not getattr(self.rating_head, "splits_loss", False):
            return {"rating": self.rating_head(query, candidate, users, items, training=training)}
        parts = self.rating_head.parts(query, candidate, users, items, training=training)
        return {"rating_parts": parts, "rating": 0.5 * (parts[0] + parts[1])}

    def _rating_loss(self, labels: Any, outputs: dict[str, Any], mask: Any) -> Any:
        """The rating loss: of the prediction, or the mean of each part's loss when the head
        trains its parts apart (`RatingHead.splits_loss`)."""
        if "rating_parts" in outputs:
            head, codes = outputs["rating_parts"]
            return 0.5 * (
                self.rating_task(labels, head, sample_weight=mask)
                + self.rating_task(labels, codes, sample_weight=mask)
            )
        return self.rating_task(labels, outputs["rating"], sample_weight=mask)

    def task_losses(
        self,
        inputs: dict[str, Any],
        outputs: dict[str, Any],
        labels: Any,
        mask: Any = None,
        log_q: Any = None,
    ) -> dict[str, Any]:
        """Per-task losses of one batch.

        Args:
            inputs: The batch's ``"user"`` and ``"item"`` indices.
            outputs: What `call` returned for ``inputs``.
            labels: ``[batch]`` normalised rating labels; NaN marks an unrated row (a
                retrieval positive outside the rating loss).
            mask: ``[batch]`` 1 for real rows and 0 for padding, or ``None``.
            log_q: ``[batch]`` log sampling probability of each item, for logQ correction.
        """
        rating_labels, labels = labels, retrieval_labels(labels)
        weight = self._unrated_positive_weight(rating_labels, outputs["rating"])
        if self.negatives == "full":
            users, items, query = inputs["user"], inputs["item"], outputs["query"]
            row_mask = mask if weight is None else _times(mask, weight)
            row_labels = labels
            rows = self._positive_rows(labels, mask)
            if rows is not None:
                users, items, row_labels = (
                    ops.take(x, rows, axis=0) for x in (users, items, labels)
                )
                query = ops.take(query, rows, axis=0)
                row_mask = None if row_mask is None else ops.take(row_mask, rows, axis=0)
            exclude = None
            if hasattr(self, "seen"):
                exclude = ops.take(self.seen, ops.cast(users, "int32"), axis=0)
            retrieval = self.retrieval_task(
                query,
                outputs["all_candidates"],
                ops.arange(self.num_items),
                labels=row_labels,
                sample_weight=row_mask,
                positive_index=items,
                exclude=exclude,
                candidate_mask=getattr(self, "trained_items", None),
            )
        else:
            retrieval = self.retrieval_task(
                outputs["query"],
                outputs["candidate"],
                inputs["item"],
                labels=labels,
                sample_weight=weight,
                candidate_mask=mask,
                candidate_log_q=log_q,
            )
        return {"retrieval": retrieval, "rating": self._rating_loss(rating_labels, outputs, mask)}

    def supports_unique(self) -> bool:
        """Whether `unique_task_losses` gives `task_losses`'s numbers for this model: in-batch
        negatives, towers that map an id to the same vector in every row (no dropout), and
        a retrieval task that allows it (`RetrievalTask.supports_unique`)."""
        if self.negatives != "in_batch" or not self.retrieval_task.supports_unique():
            return False
        for tower in (self.query_tower, self.candidate_tower):
            if any(isinstance(layer, keras.layers.Dropout) for layer in tower._flatten_layers()):
                return False
        return True

    def unique_task_losses(self, batch: dict[str, Any], training: bool = True) -> dict[str, Any]:
        """`task_losses` of `call`'s outputs for a batch given with its distinct ids.

        The towers run once per distinct user and item, the retrieval loss is computed from
        distinct scores (`RetrievalTask.unique_loss`), and the rating head gets each row's
        vectors gathered from the distinct ones. (Splitting the first rating layer into
        ``u W_u + v W_v`` per distinct id saves FLOPs but not time: gathering and
        scatter-adding 256-wide rows costs what the smaller matmuls save.)

        Args:
            batch: ``user``, ``item``, ``label``, ``mask`` (and ``log_q``) per row, plus the
                columns `jointrec.training.batch_unique.with_unique_ids` adds.
            training: Training mode.
        """
        query = self.query_tower(batch["user_unique"], training=training)
        candidate = self.candidate_tower(batch["item_unique"], training=training)
        mask = batch.get("mask")
        rows = (
            ops.take(query, ops.cast(batch["user_inverse"], "int32"), axis=0),
            ops.take(candidate, ops.cast(batch["item_inverse"], "int32"), axis=0),
            batch["user"],
            batch["item"],
        )
        outputs = self._rating_outputs(*rows, training)
        weight = self._unrated_positive_weight(batch["label"], outputs["rating"])
        retrieval = self.retrieval_task.unique_loss(
            query,
            candidate,
            batch["user_inverse"],
            batch["item_inverse"],
            batch["item_count"],
            labels=retrieval_labels(batch["label"]),
            sample_weight=mask if weight is None else _times(mask, weight),
            candidate_log_q=batch.get("item_log_q"),
        )
        return {"retrieval": retrieval, "rating": self._rating_loss(batch["label"], outputs, mask)}

    def _unrated_positive_weight(self, labels: Any, predicted: Any) -> Any:
        """``[batch]`` retrieval weight of each row as a positive: 1 for a rated row,
        ``unrated_weight`` for an unrated one, times, with ``unrated_ramp = (low, high)``,
        the rating head's (gradient-stopped) prediction mapped linearly from 0 at ``low``
        to 1 at ``high`` (label scale); ``None`` when every unrated row weighs 1."""
        if self.unrated_weight == 1.0 and self.unrated_ramp is None:
            return None
        labels = ops.cast(labels, "float32")
        unrated = ops.full_like(labels, self.unrated_weight)
        if self.unrated_ramp is not None:
            low, high = self.unrated_ramp
            guess = ops.stop_gradient(ops.cast(ops.reshape(predicted, (-1,)), "float32"))
            unrated = unrated * ops.clip((guess - low) / max(high - low, 1e-6), 0.0, 1.0)
        return ops.where(ops.isfinite(labels), ops.ones_like(labels), unrated)

    def _positive_rows(self, labels: Any, mask: Any) -> Any:
        """Indices of the ``retrieval_rows`` rows the retrieval loss uses (positives first),
        or ``None`` for every row."""
        threshold = self.retrieval_task.min_positive_label
        batch = int(ops.shape(labels)[0])
        if not self.retrieval_rows or self.retrieval_rows >= batch or threshold is None:
            return None
        positive = ops.cast(ops.greater_equal(labels, threshold), "float32")
        if mask is not None:
            positive = positive * ops.cast(mask, "float32")
        return ops.top_k(positive, self.retrieval_rows, sorted=False)[1]

    def total_loss(
        self, losses: dict[str, Any], retrieval_weight: Any = None, rating_weight: Any = None
    ) -> Any:
        """Weighted sum of the task losses (weights default to the model's)."""
        w_ret = self.retrieval_weight if retrieval_weight is None else retrieval_weight
        w_rat = self.rating_weight if rating_weight is None else rating_weight
        if self.loss_weighting == "uncertainty":
            s_ret, s_rat = self.log_variances[0], self.log_variances[1]
            return w_ret * (ops.exp(-s_ret) * losses["retrieval"] + s_ret) + w_rat * (
                ops.exp(-s_rat) * losses["rating"] + s_rat
            )
        return w_ret * losses["retrieval"] + w_rat * losses["rating"]

    def compute_loss(
        self,
        x: Any = None,
        y: Any = None,
        y_pred: Any = None,
        sample_weight: Any = None,
        training: bool = True,
    ) -> Any:
        """Keras hook so that ``model.fit(x, y)`` trains the same loss as the fast path."""
        losses = self.task_losses(x, y_pred, ops.reshape(y, (-1,)), mask=sample_weight)
        return self.total_loss(losses)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                name: keras.saving.serialize_keras_object(getattr(self, name))
                for name in (
                    "query_tower",
                    "candidate_tower",
                    "rating_head",
                    "retrieval_task",
                    "rating_task",
                )
            }
        )
        config.update(
            {
                "retrieval_weight": self.retrieval_weight,
                "rating_weight": self.rating_weight,
                "negatives": self.negatives,
                "mask_seen": self.mask_seen,
                "loss_weighting": self.loss_weighting,
                "mask_cold_items": self.mask_cold_items,
                "retrieval_rows": self.retrieval_rows,
                "unrated_weight": self.unrated_weight,
                "unrated_ramp": self.unrated_ramp,
                "num_users": self.num_users,
                "num_items": self.num_items,
            }
        )
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> JointModel:
        config = dict(config)
        for name in (
            "query_tower",
            "candidate_tower",
            "rating_head",
            "retrieval_task",
            "rating_task",
        ):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)


def _size(tower: Any, given: int | None, name: str) -> int:
    """``given``, else the tower's ``vocabulary_size``, with a clear error for a custom tower
    that has neither."""
    if given is not None:
        return int(given)
    size = getattr(tower, "vocabulary_size", None)
    if size is None:
        raise JointrecError(
            f"{type(tower).__name__} has no vocabulary_size: pass {name}= to JointModel "
            "(build_model does) for a tower of your own"
        )
    return int(size)


def _times(mask: Any, weight: Any) -> Any:
    """``mask * weight`` (``weight`` alone when there is no mask)."""
    return weight if mask is None else ops.cast(mask, "float32") * weight
