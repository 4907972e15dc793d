"""`build_model`: a `JointModel` from `jointrec.settings.ModelConfig` and what it needs to know
about its data (vocabulary sizes, the training pairs, encoded side features).

It resolves ``negatives="auto"`` for the catalogue (`resolve_negatives`), builds the towers
(id-only `EmbeddingTower`, `FeatureTower` when there are side features, or your own Keras
layers), the rating head and the two tasks, and marks the training pairs the full softmax
must know about (`JointModel.mark_training_pairs`).

Example:
    >>> from jointrec.settings import ModelConfig
    >>> model = build_model(ModelConfig(towers={"embedding_dim": 8}), 10, 20, seed=0)
    >>> import numpy as np
    >>> out = model({"user": np.array([1, 2]), "item": np.array([3, 4])})
    >>> sorted(out), tuple(out["rating"].shape)
    (['candidate', 'query', 'rating'], (2,))
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, TypeAlias

import keras
import numpy as np

from jointrec.data.encoded import EncodedInteractions
from jointrec.errors import JointrecError
from jointrec.features.encoder import EncodedFeatures
from jointrec.model.embedding_tower import EmbeddingTower
from jointrec.model.feature_tower import FeatureTower
from jointrec.model.joint_model import MAX_SEEN_CELLS, JointModel
from jointrec.model.rating_head import MAX_RATING_CELLS, RatingHead
from jointrec.model.rating_task import RatingTask
from jointrec.model.retrieval_task import RetrievalTask
from jointrec.settings.model import ModelConfig

#: A tower given by the user: a Keras layer from indices to vectors, or a function
#: ``(vocabulary_size, embedding_dim) -> layer``.
Tower: TypeAlias = keras.layers.Layer | Callable[[int, int], keras.layers.Layer]

#: Largest catalogue that ``negatives="auto"`` trains with a full softmax. Measured
#: (benchmarks/full_softmax_threshold.py, 2 cores): an epoch costs 1.0x the in-batch one at
#: 2k items, 1.7x at 5k, 2.7x at 10k, 3.5x at 20k and 5.5x at 100k; above 10k in-batch
#: negatives with logQ correction are the better use of time (docs/quality.md).
FULL_SOFTMAX_MAX_ITEMS = 10_000


def resolve_negatives(config: ModelConfig, num_users: int, num_items: int) -> ModelConfig:
    """``negatives="auto"`` made concrete for a catalogue: a full softmax when it is small
    (at most `FULL_SOFTMAX_MAX_ITEMS` items, and a ``seen`` table within
    `jointrec.model.joint_model.MAX_SEEN_CELLS` when ``mask_seen`` needs one), else in-batch
    negatives with logQ correction.

    Example:
        >>> auto = ModelConfig(retrieval={"negatives": "auto"})
        >>> resolve_negatives(auto, 944, 1683).retrieval.negatives
        'full'
        >>> big = resolve_negatives(auto, 10_000, 60_000).retrieval
        >>> big.negatives, big.logq_correction
        ('in_batch', True)
    """
    retrieval = config.retrieval
    if retrieval.negatives != "auto":
        return config
    cells = num_users * num_items if retrieval.mask_seen != "none" else 0
    if num_items <= FULL_SOFTMAX_MAX_ITEMS and cells <= MAX_SEEN_CELLS:
        changed = dataclasses.replace(retrieval, negatives="full")
    else:
        changed = dataclasses.replace(retrieval, negatives="in_batch", logq_correction=True)
    return dataclasses.replace(config, retrieval=changed)


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


def min_positive_label(config: ModelConfig, rating_scale: tuple[float, float]) -> float | None:
    """``retrieval.min_rating`` (stars) on the ``[0, 1]`` label scale, or ``None``."""
    threshold = config.retrieval.min_rating
    if threshold is None:
        return None
    low, high = rating_scale
    return (threshold - low) / (high - low)


def _unrated_ramp(
    config: ModelConfig,
    rating_scale: tuple[float, float],
    training: EncodedInteractions | None = None,
) -> tuple[float, float] | None:
    """``retrieval.unrated_ramp`` as ``(low, high)`` on the ``[0, 1]`` label scale; ``None``
    when it is off, or when the training rows carry a rating column but no rating (an
    untrained rating head has nothing to say about them)."""
    high = min_positive_label(config, rating_scale)
    width = config.retrieval.unrated_ramp
    if not width or high is None:
        return None
    if training is not None and training.rating is not None and not training.rated.any():
        return None
    return high - width / (rating_scale[1] - rating_scale[0]), high


def build_model(
    config: ModelConfig,
    num_users: int,
    num_items: int,
    *,
    rating_scale: tuple[float, float] = (1.0, 5.0),
    seed: int | None = None,
    training: EncodedInteractions | None = None,
    global_mean: float | None = None,
    batch_size: int | None = None,
    shuffle: bool = True,
    user_features: EncodedFeatures | None = None,
    item_features: EncodedFeatures | None = None,
    user_tower: Tower | None = None,
    item_tower: Tower | None = None,
) -> JointModel:
    """Builds a `JointModel` from settings.

    Args:
        config: Architecture and loss settings (``negatives="auto"`` is resolved here).
        num_users: User vocabulary size (unknown index 0 included).
        num_items: Item vocabulary size (unknown index 0 included).
        rating_scale: Lowest and highest rating, to map ``retrieval.min_rating`` to a label.
        seed: Seeds weight initialisation (Keras global seed).
        training: The encoded training interactions: their mean label starts a biased
            rating head, and the full softmax marks each user's seen items and the items
            with interactions.
        global_mean: Initial offset of a biased rating head; default: the mean training
            label (0.5 without ``training``).
        batch_size: Rows per training batch, to bound the rows the full-softmax loss needs
            (`positive_rows_bound`); ``None``: every row.
        shuffle: Whether batches are reshuffled every epoch (the bound assumes it).
        user_features: Encoded side features of every user index, or ``None``.
        item_features: The same for items.
        user_tower: Your own user tower instead of the configured one
            (``towers.user_features`` and ``user_history`` are then unused): a Keras layer
            from user indices (0 = unknown) to vectors, or a function
            ``(vocabulary_size, embedding_dim) -> layer`` that makes one. It must be
            serializable (registered with ``keras.saving.register_keras_serializable`` and
            with a ``get_config``), create its weights in ``build``, and give vectors as wide
            as the item tower's; see ``examples/custom_tower.py``.
        item_tower: The same for items.
    """
    config = resolve_negatives(config, num_users, num_items)
    if seed is not None:
        keras.utils.set_random_seed(seed)
    towers, retrieval, rating = config.towers, config.retrieval, config.rating
    regularizer = keras.regularizers.L2(towers.embedding_l2) if towers.embedding_l2 > 0 else None
    if global_mean is None:
        rated = None if training is None else training.labels()[training.rated]
        global_mean = 0.5 if rated is None or not len(rated) else float(rated.mean())
    negatives = retrieval.negatives
    dim = towers.embedding_dim
    model = JointModel(
        query_tower=_own_tower(user_tower, num_users, dim, "user tower")
        or _tower(
            config,
            num_users,
            user_features,
            regularizer,
            "query_tower",
            cold_dropout=towers.user_cold_dropout,
            seed=seed,
        ),
        candidate_tower=_own_tower(item_tower, num_items, dim, "item tower")
        or _tower(config, num_items, item_features, regularizer, "candidate_tower"),
        rating_head=RatingHead(
            rating.layer_sizes,
            num_users=num_users if rating.biases else 0,
            num_items=num_items if rating.biases else 0,
            global_mean=global_mean if rating.biases else 0.0,
            embeddings_regularizer=regularizer,
            dropout=rating.dropout,
            autoencoder_units=autoencoder_units(config, num_users, num_items, training),
            autoencoder_l2=rating.autoencoder_l2,
            autoencoder_combine=rating.autoencoder_combine,
            name="rating_head",
        ),
        retrieval_task=RetrievalTask(
            temperature=retrieval.temperature,
            reduction=retrieval.reduction,
            remove_accidental_hits=retrieval.remove_accidental_hits,
            l2_normalize=retrieval.l2_normalize,
            min_positive_label=min_positive_label(config, rating_scale),
            learn_temperature=retrieval.learn_temperature,
            positive_weighting=retrieval.positive_weighting,
            hard_negatives=retrieval.hard_negatives,
            name="retrieval_task",
        ),
        rating_task=RatingTask(name="rating_task"),
        retrieval_weight=config.multitask.retrieval_weight,
        rating_weight=config.multitask.rating_weight,
        negatives=negatives,
        mask_seen=retrieval.mask_seen if negatives == "full" else "none",
        loss_weighting=config.multitask.loss_weighting,
        mask_cold_items=negatives == "full",
        retrieval_rows=_retrieval_rows(config, training, batch_size, shuffle),
        unrated_weight=retrieval.unrated_weight,
        unrated_ramp=_unrated_ramp(config, rating_scale, training),
        num_users=num_users,
        num_items=num_items,
        name="joint_model",
    )
    model.build()
    for tower, encoded in (
        (model.query_tower, user_features),
        (model.candidate_tower, item_features),
    ):
        if encoded is not None and isinstance(tower, FeatureTower):
            tower.set_feature_values(encoded.arrays)
    if training is not None:
        model.mark_training_pairs(training.user, training.item, _positives(config, training))
        if training.rating is not None:
            model.rating_head.set_item_ratings(training.user, training.item, training.labels())
    return model


def autoencoder_units(
    config: ModelConfig,
    num_users: int,
    num_items: int,
    training: EncodedInteractions | None = None,
) -> int:
    """``rating.autoencoder``, or 0 when its ``items x users`` rating table would exceed
    `MAX_RATING_CELLS` (a large catalogue trains without it) or when the training users have
    fewer than ``rating.autoencoder_min_ratings`` ratings on average.

    Example:
        >>> x = EncodedInteractions(np.array([1, 1, 2]), np.array([1, 2, 1]), np.ones(3))
        >>> c = ModelConfig(rating={"biases": True, "autoencoder": 8})
        >>> autoencoder_units(c, 3, 3), autoencoder_units(c, 3, 3, x)  # 1.5 ratings a user
        (8, 0)
    """
    rating = config.rating
    if num_users * num_items > MAX_RATING_CELLS:
        return 0
    if training is not None and rating.autoencoder and training.rating is not None:
        rated = np.isfinite(training.rating)
        users = len(np.unique(training.user[rated]))
        if users == 0 or rated.sum() / users < rating.autoencoder_min_ratings:
            return 0
    return rating.autoencoder


def _positives(config: ModelConfig, training: EncodedInteractions) -> np.ndarray | None:
    """Which training rows are retrieval positives (rated >= ``retrieval.min_rating``
    stars, or unrated), or ``None`` when every row is."""
    threshold = config.retrieval.min_rating
    if threshold is None or training.rating is None:
        return None
    return np.asarray((training.rating >= threshold) | ~training.rated)


def _retrieval_rows(
    config: ModelConfig,
    training: EncodedInteractions | None,
    batch_size: int | None,
    shuffle: bool,
) -> int:
    """Rows per batch the full-softmax retrieval loss needs (its positives, with a margin),
    or 0 for every row: batches must be reshuffled each epoch for the bound to hold."""
    if (
        config.retrieval.negatives != "full"
        or training is None
        or batch_size is None
        or not shuffle
    ):
        return 0
    positive = _positives(config, training)
    if positive is None:
        return 0
    rows = positive_rows_bound(int(positive.sum()), len(training), batch_size)
    return 0 if rows >= batch_size else rows


def _own_tower(tower: Tower | None, size: int, dim: int, what: str) -> keras.layers.Layer | None:
    """The layer of a tower given by the user (made by ``tower(size, dim)`` when it is a
    function), checked to survive a Keras save and load."""
    if tower is None:
        return None
    layer = tower if isinstance(tower, keras.layers.Layer) else tower(size, dim)
    if not isinstance(layer, keras.layers.Layer):
        raise JointrecError(
            f"the {what} {layer!r} is not a Keras layer: expected a keras.layers.Layer from "
            "indices to vectors, or a function (vocabulary_size, embedding_dim) -> layer"
        )
    check_serializable(layer, what)
    return layer


def check_serializable(layer: keras.layers.Layer, what: str) -> None:
    """Raises `JointrecError` unless ``layer`` round-trips through Keras serialization (so
    that the artifact's ``model.keras`` loads again)."""
    try:
        keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    except Exception as err:  # Keras raises TypeError, ValueError, NotImplementedError...
        reason = " ".join(str(err).split())[:160]
        raise JointrecError(
            f"the {what} {type(layer).__name__} cannot be saved and loaded by Keras "
            f"({type(err).__name__}: {reason}): register its class with "
            "@keras.saving.register_keras_serializable() and give it a get_config() that "
            "returns its constructor arguments"
        ) from None


def _tower(
    config: ModelConfig,
    size: int,
    encoded: EncodedFeatures | None,
    regularizer: Any,
    name: str,
    cold_dropout: float = 0.0,
    seed: int | None = None,
) -> keras.layers.Layer:
    """An id-only `EmbeddingTower`, or a `FeatureTower` when there are encoded features
    (``cold_dropout`` needs them: an id-only tower has nothing to place a newcomer by)."""
    dim = config.towers.embedding_dim
    if encoded is None or not encoded.arrays:
        return EmbeddingTower(size, dim, embeddings_regularizer=regularizer, name=name)
    return FeatureTower(
        size,
        dim,
        features=encoded.layout(),
        combiner=config.towers.feature_combiner,
        embeddings_regularizer=regularizer,
        cold_dropout=cold_dropout,
        seed=seed,
        name=name,
    )
