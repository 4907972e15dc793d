"""`export_model`: a trained Keras `JointModel` as an `ExportedModel` (NumPy arrays).

Both towers run over their whole vocabulary once (`jointrec.backend.tower_outputs`: one
compiled call per chunk on JAX); the rating head's weights are copied as they are.

Example:
    >>> exported = export_model(model, rating_scale=(1.0, 5.0))  # doctest: +SKIP
    >>> exported.predict_ratings(np.array([1]), np.array([50]))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jointrec import backend
from jointrec.model.joint_model import JointModel
from jointrec.scoring.exported import ExportedModel, prior_users


def export_model(
    model: JointModel,
    rating_scale: tuple[float, float] = (1.0, 5.0),
    clip_predictions: bool = True,
    name: str = "joint",
    can_rate: bool = True,
    training: tuple[np.ndarray, np.ndarray] | None = None,
    newcomer_popularity: float = 0.0,
    popular_items: np.ndarray | None = None,
    recent_popularity: float = 0.0,
    rated_users: np.ndarray | None = None,
    rating_shrinkage: float = 0.0,
) -> ExportedModel:
    """The arrays of a trained `JointModel`.

    Args:
        model: A trained model.
        rating_scale: Lowest and highest rating, to map labels back to stars.
        clip_predictions: Clip predicted labels to ``[0, 1]``.
        name: Shown in reports.
        can_rate: ``False`` for a model trained without ratings (retrieval only).
        training: ``(users, items)`` index arrays of the training interactions, for the
            newcomer prior.
        newcomer_popularity: Weight of the popularity prior in the retrieval scores of users
            with no training interaction (`popularity_prior`); 0, or no newcomer, for none.
        popular_items: The item indices popularity is counted over (e.g. those of the latest
            training rows, `jointrec.data.splits.recent_rows`); ``None``: every training row's.
        recent_popularity: The same prior's weight for users with training interactions
            (and folded-in visitors).
        rated_users: The user index of each rated training row, for ``rating_shrinkage``.
        rating_shrinkage: ``rating.shrinkage``: each user's predicted rating is shrunk
            towards the average training user's by ``n / (n + k)`` (`rating_shrinkage`);
            0, or no ``rated_users``, for none.
    """
    head = model.rating_head
    mlp = [
        (np.asarray(layer.kernel.numpy()), np.asarray(layer.bias.numpy()))
        for layer in [*head.hidden, head.output_layer]
    ]
    biases: dict[str, Any] = {}
    if head.use_biases:
        biases = {
            "user_bias": head.user_bias.embeddings.numpy()[:, 0],
            "item_bias": head.item_bias.embeddings.numpy()[:, 0],
            "offset": float(head.offset.numpy()),
        }
    if getattr(head, "autoencoder_units", 0):
        items = np.arange(model.num_items)
        biases["item_codes"] = np.concatenate(
            [np.asarray(head.item_codes(items[j : j + 4096])) for j in range(0, len(items), 4096)]
        ).astype(np.float32)
        biases["user_codes"] = np.asarray(head.user_codes.numpy(), dtype=np.float32)
        if head.autoencoder_combine == "mean":
            biases["head_weight"] = biases["code_weight"] = 0.5
    prior = popularity_prior(
        training,
        model.num_users,
        model.num_items,
        newcomer_popularity,
        popular_items,
        recent_popularity,
    )
    exported = ExportedModel(
        user_embeddings=backend.tower_outputs(model.query_tower, model.num_users),
        item_embeddings=backend.tower_outputs(model.candidate_tower, model.num_items),
        mlp=mlp,
        l2_normalize=model.retrieval_task.l2_normalize,
        rating_scale=rating_scale,
        clip_predictions=clip_predictions,
        name=name,
        can_rate=can_rate,
        user_prior=prior.get("user_prior"),
        item_prior=prior.get("item_prior"),
        known_prior=float(prior.get("known_prior", 0.0)),
        **biases,
    )
    if rated_users is not None and rating_shrinkage > 0 and can_rate:
        add_rating_shrinkage(exported, rated_users, rating_shrinkage)
    return exported


def add_rating_shrinkage(exported: ExportedModel, rated_users: np.ndarray, k: float) -> None:
    """Sets ``exported``'s rating shrinkage (`ExportedModel.shrink`): each user's weight
    ``n / (n + k)`` from their ``n`` rated training rows, and each item's rating for the
    average user, the head's mean label over (at most 1,024 of) the users with ratings.

    Example:
        >>> add_rating_shrinkage(exported, train.user[rated], 5.0)  # doctest: +SKIP
        >>> exported.rating_weight[newcomer]  # doctest: +SKIP
        0.0
    """
    n = np.bincount(np.asarray(rated_users, dtype=np.int64), minlength=exported.num_users)
    weight = (n[: exported.num_users] / (n[: exported.num_users] + k)).astype(np.float32)
    users = prior_users(weight)
    total = np.zeros(exported.num_items, dtype=np.float64)
    items = np.arange(exported.num_items)
    item_first = exported.item_first(exported.item_embeddings)  # once, not per user
    for u in users:  # one head pass over the catalogue per user
        first = item_first + exported.user_first(exported.user_embeddings[u])
        labels = exported.head_from_first(first)
        total += exported.add_biases(labels, np.full(exported.num_items, u), items)
    exported.rating_prior = (total / max(len(users), 1)).astype(np.float32)
    exported.rating_weight = weight
    exported.rating_shrinkage = float(k)


def popularity_prior(
    training: tuple[np.ndarray, np.ndarray] | None,
    num_users: int,
    num_items: int,
    weight: float,
    popular_items: np.ndarray | None = None,
    others: float = 0.0,
) -> dict[str, Any]:
    """``user_prior`` / ``item_prior`` / ``known_prior`` of an `ExportedModel`: ``weight``
    for each user index with no training interaction (the unknown index 0 aside: it gets
    the popularity fallback) and ``others`` for the users who have some, and each item's
    ``log(1 + interactions)`` counted over ``popular_items`` (default: every training row's
    item); empty when no user gets a weight (the vectors then stay as the towers give them).

    Example:
        >>> p = popularity_prior((np.array([1, 1]), np.array([1, 2])), 3, 3, 0.5)
        >>> p["user_prior"].tolist(), [round(float(v), 3) for v in p["item_prior"]]
        ([0.0, 0.0, 0.5], [0.0, 0.693, 0.693])
    """
    if training is None:
        return {}
    users, items = (np.asarray(a, dtype=np.int64) for a in training)
    newcomer = np.bincount(users, minlength=num_users)[:num_users] == 0
    user_prior = np.where(newcomer, np.float32(weight), np.float32(others)).astype(np.float32)
    user_prior[0] = 0.0
    if not user_prior.any():
        return {}
    if popular_items is not None:
        items = np.asarray(popular_items, dtype=np.int64)
    counts = np.bincount(items, minlength=num_items)[:num_items]
    return {
        "user_prior": user_prior,
        "item_prior": np.log1p(counts).astype(np.float32),
        "known_prior": float(others),
    }
