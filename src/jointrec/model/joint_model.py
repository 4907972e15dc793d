"""`JointModel`: one user tower and one item tower shared by retrieval and rating.

Example:
    >>> from jointrec.settings import ModelConfig
    >>> model = build_model(ModelConfig(embedding_dim=8, layer_sizes=(16,)), 10, 20)
    >>> import numpy as np
    >>> out = model({"user": np.array([1, 2]), "item": np.array([3, 4])})
    >>> sorted(out), tuple(out["rating"].shape)
    (['candidate', 'query', 'rating'], (2,))
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import keras
from keras import ops

from jointrec.errors import JointrecError
from jointrec.model.embedding_tower import PACKAGE, EmbeddingTower
from jointrec.model.rating_head import RatingHead
from jointrec.model.rating_task import RatingTask
from jointrec.model.retrieval_task import RetrievalTask
from jointrec.settings import ModelConfig

#: Largest users x items table of seen pairs for ``exclude_seen`` (int8 cells).
MAX_SEEN_CELLS = 200_000_000
#: Largest catalogue that ``negatives="auto"`` trains with a full softmax. Measured
#: (benchmarks/full_softmax_threshold.py, 2 cores): an epoch costs 1.0x the in-batch one at
#: 2k items, 1.7x at 5k, 2.7x at 10k, 3.5x at 20k and 5.5x at 100k; above 10k in-batch
#: negatives with logQ correction are the better use of time (docs/quality.md).
FULL_SOFTMAX_MAX_ITEMS = 10_000


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
        exclude_seen: With ``"full"``: ``"none"``, ``"positives"`` (a user's other liked
            training items are not negatives; low-rated ones stay negatives) or ``"all"``.
            Set the pairs with `set_seen`.
        loss_weighting: ``"fixed"`` (the weights as given) or ``"uncertainty"`` (Kendall et
            al.: each task's loss is scaled by a learned ``exp(-s)`` and ``s`` is added).
        mask_cold_items: With ``"full"``: items without training interactions (set the
            others with `set_trained_items`) are nobody's negatives, so they are not pushed
            down for every user and their side features can place them.
        retrieval_rows: Compute the retrieval loss on at most this many rows of each batch,
            the retrieval positives first (0: every row). Rows below the positive threshold
            weigh 0 in that loss anyway; `positive_rows_bound` picks a bound that a shuffled
            batch exceeds with negligible probability (a positive beyond it would sit out
            that step's retrieval loss).
        **kwargs: Passed to `keras.Model`.

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
        exclude_seen: str = "none",
        loss_weighting: str = "fixed",
        mask_cold_items: bool = False,
        retrieval_rows: int = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if negatives not in ("in_batch", "full"):
            raise ValueError(f"negatives={negatives!r}: expected 'in_batch' or 'full'")
        if exclude_seen not in ("none", "positives", "all"):
            raise ValueError(f"exclude_seen={exclude_seen!r}: expected none/positives/all")
        if loss_weighting not in ("fixed", "uncertainty"):
            raise ValueError(f"loss_weighting={loss_weighting!r}: expected fixed/uncertainty")
        if retrieval_rows < 0:
            raise ValueError(f"retrieval_rows={retrieval_rows!r}: expected >= 0")
        self.negatives = negatives
        self.exclude_seen = exclude_seen
        self.loss_weighting = loss_weighting
        self.mask_cold_items = bool(mask_cold_items)
        self.retrieval_rows = int(retrieval_rows)
        self.query_tower = query_tower
        self.candidate_tower = candidate_tower
        self.rating_head = rating_head
        self.retrieval_task = retrieval_task
        self.rating_task = rating_task
        self.retrieval_weight = float(retrieval_weight)
        self.rating_weight = float(rating_weight)

    def build(self, input_shape: Any = None) -> None:
        if getattr(self, "built", False):
            return
        for tower in (self.query_tower, self.candidate_tower):
            if not tower.built:
                tower.build((None,))
        dim_q = self.query_tower.compute_output_shape((None,))
        dim_c = self.candidate_tower.compute_output_shape((None,))
        if not self.rating_head.built:
            self.rating_head.build(dim_q, dim_c)
        if not self.retrieval_task.built:
            self.retrieval_task.build()
        self.num_items = int(self.candidate_tower.vocabulary_size)
        if self.negatives == "full" and self.exclude_seen != "none":
            num_users = int(self.query_tower.vocabulary_size)
            if num_users * self.num_items > MAX_SEEN_CELLS:
                raise JointrecError(
                    f"exclude_seen={self.exclude_seen!r} with a full softmax needs a "
                    f"{num_users} x {self.num_items} table, more than {MAX_SEEN_CELLS} "
                    "cells: set model negatives='in_batch' (with logq_correction) for this "
                    "catalogue"
                )
            self.seen = self.add_weight(
                name="seen",
                shape=(num_users, self.num_items),
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

    def set_seen(self, users: Any, items: Any) -> None:
        """Marks ``(users[j], items[j])`` so those items are not negatives for those users
        in the full softmax (the unknown item 0 is always excluded)."""
        import numpy as np

        if not hasattr(self, "seen"):
            return
        table = np.zeros(tuple(self.seen.shape), dtype=np.int8)
        table[np.asarray(users), np.asarray(items)] = 1
        table[:, 0] = 1
        self.seen.assign(table)

    def set_trained_items(self, items: Any) -> None:
        """Marks the items that have training interactions; with ``mask_cold_items`` the
        others (and the unknown item 0) are not negatives in the full softmax."""
        import numpy as np

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
            out["rating"] = self.rating_head(
                query, candidate, inputs["user"], inputs["item"], training=training
            )
        return out

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
            labels: ``[batch]`` normalised rating labels.
            mask: ``[batch]`` 1 for real rows and 0 for padding, or ``None``.
            log_q: ``[batch]`` log sampling probability of each item, for logQ correction.
        """
        if self.negatives == "full":
            users, items, query = inputs["user"], inputs["item"], outputs["query"]
            row_labels, row_mask = labels, mask
            rows = self._positive_rows(labels, mask)
            if rows is not None:
                users, items, row_labels = (
                    ops.take(x, rows, axis=0) for x in (users, items, labels)
                )
                query = ops.take(query, rows, axis=0)
                row_mask = None if mask is None else ops.take(mask, rows, axis=0)
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
                candidate_mask=mask,
                candidate_log_q=log_q,
            )
        rating = self.rating_task(labels, outputs["rating"], sample_weight=mask)
        return {"retrieval": retrieval, "rating": rating}

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
        retrieval = self.retrieval_task.unique_loss(
            query,
            candidate,
            batch["user_inverse"],
            batch["item_inverse"],
            batch["item_count"],
            labels=batch["label"],
            sample_weight=mask,
            candidate_log_q=batch.get("item_log_q"),
        )
        rating = self.rating_head(
            ops.take(query, ops.cast(batch["user_inverse"], "int32"), axis=0),
            ops.take(candidate, ops.cast(batch["item_inverse"], "int32"), axis=0),
            batch["user"],
            batch["item"],
            training=training,
        )
        return {
            "retrieval": retrieval,
            "rating": self.rating_task(batch["label"], rating, sample_weight=mask),
        }

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
                "exclude_seen": self.exclude_seen,
                "loss_weighting": self.loss_weighting,
                "mask_cold_items": self.mask_cold_items,
                "retrieval_rows": self.retrieval_rows,
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


def resolve_negatives(config: ModelConfig, num_users: int, num_items: int) -> ModelConfig:
    """``negatives="auto"`` made concrete for a catalogue: a full softmax when it is small
    (at most `FULL_SOFTMAX_MAX_ITEMS` items, and a ``seen`` table within `MAX_SEEN_CELLS`
    when ``exclude_seen`` needs one), else in-batch negatives with logQ correction.

    Example:
        >>> resolve_negatives(ModelConfig(negatives="auto"), 944, 1683).negatives
        'full'
        >>> big = resolve_negatives(ModelConfig(negatives="auto"), 10_000, 60_000)
        >>> big.negatives, big.logq_correction
        ('in_batch', True)
    """
    if config.negatives != "auto":
        return config
    cells = num_users * num_items if config.exclude_seen != "none" else 0
    if num_items <= FULL_SOFTMAX_MAX_ITEMS and cells <= MAX_SEEN_CELLS:
        return dataclasses.replace(config, negatives="full")
    return dataclasses.replace(config, negatives="in_batch", logq_correction=True)


def positive_rows_bound(positives: int, examples: int, batch_size: int) -> int:
    """Rows per batch that hold a shuffled batch's retrieval positives but for a negligible
    chance: the expected count plus 6 standard deviations (hypergeometric), rounded up to
    a multiple of 8; ``batch_size`` when that is not smaller.

    Args:
        positives: Training examples that are retrieval positives.
        examples: All training examples.
        batch_size: Rows per batch.

    Example:
        >>> positive_rows_bound(44_000, 80_000, 1000)
        648
        >>> positive_rows_bound(80_000, 80_000, 1000)
        1000
    """
    if examples <= 0 or positives >= examples:
        return batch_size
    p = positives / examples
    n = min(batch_size, examples)
    finite = (examples - n) / max(examples - 1, 1)
    sd = math.sqrt(n * p * (1 - p) * finite)
    bound = math.ceil((n * p + 6 * sd + 1) / 8.0) * 8
    return batch_size if bound >= batch_size else bound


def build_model(
    config: ModelConfig,
    num_users: int,
    num_items: int,
    rating_scale: tuple[float, float] = (1.0, 5.0),
    global_mean: float = 0.5,
    seed: int | None = None,
    user_features: Any = None,
    item_features: Any = None,
    retrieval_rows: int = 0,
) -> JointModel:
    """Builds a `JointModel` from settings.

    Args:
        config: Architecture and loss settings.
        num_users: User vocabulary size (unknown index 0 included).
        num_items: Item vocabulary size (unknown index 0 included).
        rating_scale: Lowest and highest rating, to map ``retrieval_min_rating`` to a label.
        global_mean: Mean training label, the initial offset of a biased rating head.
        seed: Seeds weight initialisation (Keras global seed).
        user_features: `jointrec.features.EncodedFeatures` of every user index, or ``None``
            for an id-only user tower.
        item_features: The same for items.
        retrieval_rows: Rows of each batch the retrieval loss uses, positives first (0: all);
            see `positive_rows_bound`.

    ``config.negatives="auto"`` is resolved here (`resolve_negatives`).
    """
    config = resolve_negatives(config, num_users, num_items)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    low, high = rating_scale
    min_label = (
        None
        if config.retrieval_min_rating is None
        else (config.retrieval_min_rating - low) / (high - low)
    )
    regularizer = keras.regularizers.L2(config.embedding_l2) if config.embedding_l2 > 0 else None
    model = JointModel(
        query_tower=_tower(config, num_users, user_features, regularizer, "query_tower"),
        candidate_tower=_tower(config, num_items, item_features, regularizer, "candidate_tower"),
        rating_head=RatingHead(
            config.layer_sizes,
            num_users=num_users if config.rating_biases else 0,
            num_items=num_items if config.rating_biases else 0,
            global_mean=global_mean if config.rating_biases else 0.0,
            embeddings_regularizer=regularizer,
            dropout=config.rating_dropout,
            name="rating_head",
        ),
        retrieval_task=RetrievalTask(
            temperature=config.temperature,
            reduction=config.retrieval_reduction,
            remove_accidental_hits=config.remove_accidental_hits,
            l2_normalize=config.l2_normalize,
            min_positive_label=min_label,
            learn_temperature=config.learn_temperature,
            positive_weighting=config.positive_weighting,
            hard_negatives=config.hard_negatives,
            name="retrieval_task",
        ),
        rating_task=RatingTask(name="rating_task"),
        retrieval_weight=config.retrieval_weight,
        rating_weight=config.rating_weight,
        negatives=config.negatives,
        exclude_seen=config.exclude_seen if config.negatives == "full" else "none",
        loss_weighting=config.loss_weighting,
        mask_cold_items=config.negatives == "full",
        retrieval_rows=retrieval_rows,
        name="joint_model",
    )
    model.build()
    towers = ((model.query_tower, user_features), (model.candidate_tower, item_features))
    for tower, encoded in towers:
        if encoded is not None and hasattr(tower, "set_feature_values"):
            tower.set_feature_values(encoded.arrays)
    return model


def _tower(
    config: ModelConfig, size: int, encoded: Any, regularizer: Any, name: str
) -> keras.layers.Layer:
    """An id-only `EmbeddingTower`, or a `FeatureTower` when there are encoded features."""
    if encoded is None or not encoded.arrays:
        return EmbeddingTower(
            size, config.embedding_dim, embeddings_regularizer=regularizer, name=name
        )
    from jointrec.model.feature_tower import FeatureTower

    return FeatureTower(
        size,
        config.embedding_dim,
        features=encoded.layout(),
        combiner=config.feature_combiner,
        embeddings_regularizer=regularizer,
        name=name,
    )
