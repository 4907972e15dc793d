"""`RemoveAccidentalHits` that works: masks in-batch negatives equal to the row's positive.

keras-rs 0.4.0's layer of this name adds ``finfo.smallest_normal / 100`` (~1e-40) to the
logits, which leaves float32 logits unchanged, and gathers from the flattened id tensor when
ids are 2-D. This one sets accidental hits to a large negative logit, so their softmax weight
is exactly zero, and compares ids row by row. It is a drop-in for code written against
keras-rs; `jointrec.model.RetrievalTask` masks hits itself, folded into the one select that
also drops the positive's own column.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from jointrec.model.embedding_tower import PACKAGE

MASK_VALUE = -1e9


@keras.saving.register_keras_serializable(package=PACKAGE)
class RemoveAccidentalHits(keras.layers.Layer):
    """Masks logits of negatives whose candidate id equals the positive's id.

    Args:
        mask_value: Logit given to accidental hits; large and negative.
        **kwargs: Passed to `keras.layers.Layer`.

    Example:
        >>> import numpy as np
        >>> logits = np.zeros((2, 3), "float32")
        >>> labels = np.eye(2, 3, dtype="float32")
        >>> ids = np.array([7, 7, 9])  # candidate 1 is item 7 again
        >>> np.asarray(RemoveAccidentalHits()(logits, labels, ids))[0].tolist()
        [0.0, -1000000000.0, 0.0]
    """

    def __init__(self, mask_value: float = MASK_VALUE, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.mask_value = float(mask_value)

    def build(self, *args: Any, **kwargs: Any) -> None:
        self.built = True

    def call(self, logits: Any, labels: Any, candidate_ids: Any) -> Any:
        """Returns ``logits`` with accidental hits set to ``mask_value``.

        Args:
            logits: ``[batch, num_candidates]`` scores.
            labels: One-hot ``[batch, num_candidates]``; the 1 marks each row's positive.
            candidate_ids: ``[num_candidates]`` ids shared by all rows, or
                ``[batch, num_candidates]`` ids per row.
        """
        if len(ops.shape(logits)) != 2 or tuple(ops.shape(labels)) != tuple(ops.shape(logits)):
            raise ValueError(
                f"logits and labels must both be [batch, candidates]; got "
                f"{ops.shape(logits)} and {ops.shape(labels)}"
            )
        labels = ops.cast(labels, logits.dtype)
        ids = candidate_ids
        if len(ops.shape(ids)) == 1:
            ids = ops.broadcast_to(ops.expand_dims(ids, 0), ops.shape(logits))
        positive_ids = ops.take_along_axis(
            ids, ops.expand_dims(ops.argmax(labels, axis=1), 1), axis=1
        )
        duplicate = ops.logical_and(ops.equal(ids, positive_ids), ops.equal(labels, 0))
        return ops.where(duplicate, ops.cast(self.mask_value, logits.dtype), logits)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config["mask_value"] = self.mask_value
        return config
