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
from jointrec.scoring.exported import ExportedModel


def export_model(
    model: JointModel,
    rating_scale: tuple[float, float] = (1.0, 5.0),
    clip_predictions: bool = True,
    name: str = "joint",
    can_rate: bool = True,
) -> ExportedModel:
    """The arrays of a trained `JointModel`.

    Args:
        model: A trained model.
        rating_scale: Lowest and highest rating, to map labels back to stars.
        clip_predictions: Clip predicted labels to ``[0, 1]``.
        name: Shown in reports.
        can_rate: ``False`` for a model trained without ratings (retrieval only).
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
    return ExportedModel(
        user_embeddings=backend.tower_outputs(model.query_tower, model.num_users),
        item_embeddings=backend.tower_outputs(model.candidate_tower, model.num_items),
        mlp=mlp,
        l2_normalize=model.retrieval_task.l2_normalize,
        rating_scale=rating_scale,
        clip_predictions=clip_predictions,
        name=name,
        can_rate=can_rate,
        **biases,
    )
