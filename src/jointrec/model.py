"""`JointModel`: one user tower and one item tower shared by retrieval and rating.

Example:
    >>> from jointrec.config import ModelConfig
    >>> model = build_model(ModelConfig(embedding_dim=8, layer_sizes=(16,)), 10, 20)
    >>> import numpy as np
    >>> out = model({"user": np.array([1, 2]), "item": np.array([3, 4])})
    >>> sorted(out), tuple(out["rating"].shape)
    (['candidate', 'query', 'rating'], (2,))
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from jointrec import _backend  # noqa: F401  (selects JAX before Keras loads)
from jointrec.config import ModelConfig
from jointrec.layers.embedding_tower import PACKAGE, EmbeddingTower
from jointrec.layers.rating_head import RatingHead
from jointrec.tasks.rating import RatingTask
from jointrec.tasks.retrieval import RetrievalTask


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
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.query_tower = query_tower
        self.candidate_tower = candidate_tower
        self.rating_head = rating_head
        self.retrieval_task = retrieval_task
        self.rating_task = rating_task
        self.retrieval_weight = float(retrieval_weight)
        self.rating_weight = float(rating_weight)

    def build(self, input_shape: Any = None) -> None:
        if self.built:
            return
        self.query_tower.build((None,))
        self.candidate_tower.build((None,))
        dim_q = self.query_tower.compute_output_shape((None,))
        dim_c = self.candidate_tower.compute_output_shape((None,))
        self.rating_head.build(dim_q, dim_c)
        self.built = True

    def get_build_config(self) -> dict[str, Any]:
        return {}

    def build_from_config(self, config: dict[str, Any]) -> None:
        self.build()

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        query = self.query_tower(inputs["user"], training=training)
        out = {"query": query}
        if "item" in inputs:
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

    def total_loss(
        self, losses: dict[str, Any], retrieval_weight: Any = None, rating_weight: Any = None
    ) -> Any:
        """Weighted sum of the task losses (weights default to the model's)."""
        w_ret = self.retrieval_weight if retrieval_weight is None else retrieval_weight
        w_rat = self.rating_weight if rating_weight is None else rating_weight
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
            {"retrieval_weight": self.retrieval_weight, "rating_weight": self.rating_weight}
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


def build_model(
    config: ModelConfig,
    num_users: int,
    num_items: int,
    rating_scale: tuple[float, float] = (1.0, 5.0),
    global_mean: float = 0.5,
    seed: int | None = None,
) -> JointModel:
    """Builds a `JointModel` from settings.

    Args:
        config: Architecture and loss settings.
        num_users: User vocabulary size (unknown index 0 included).
        num_items: Item vocabulary size (unknown index 0 included).
        rating_scale: Lowest and highest rating, to map ``retrieval_min_rating`` to a label.
        global_mean: Mean training label, the initial offset of a biased rating head.
        seed: Seeds weight initialisation (Keras global seed).
    """
    if seed is not None:
        keras.utils.set_random_seed(seed)
    low, high = rating_scale
    min_label = (
        None
        if config.retrieval_min_rating is None
        else (config.retrieval_min_rating - low) / (high - low)
    )
    model = JointModel(
        query_tower=EmbeddingTower(num_users, config.embedding_dim, name="query_tower"),
        candidate_tower=EmbeddingTower(num_items, config.embedding_dim, name="candidate_tower"),
        rating_head=RatingHead(
            config.layer_sizes,
            num_users=num_users if config.rating_biases else 0,
            num_items=num_items if config.rating_biases else 0,
            global_mean=global_mean if config.rating_biases else 0.0,
            name="rating_head",
        ),
        retrieval_task=RetrievalTask(
            temperature=config.temperature,
            reduction=config.retrieval_reduction,
            remove_accidental_hits=config.remove_accidental_hits,
            l2_normalize=config.l2_normalize,
            min_positive_label=min_label,
            name="retrieval_task",
        ),
        rating_task=RatingTask(name="rating_task"),
        retrieval_weight=config.retrieval_weight,
        rating_weight=config.rating_weight,
        name="joint_model",
    )
    model.build()
    return model
