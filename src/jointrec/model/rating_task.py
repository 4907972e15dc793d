"""`RatingTask`: mean squared error on the normalised rating label, over rated rows.

Mixed feedback marks an unrated row with a NaN label: the rating loss gives it weight 0,
and `retrieval_labels` turns it into a positive at the top of the label scale.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from jointrec.model.embedding_tower import PACKAGE
from jointrec.model.retrieval_task import weighted_reduce


@keras.saving.register_keras_serializable(package=PACKAGE)
class RatingTask(keras.layers.Layer):
    """Weighted mean of ``(prediction - label)^2`` over the rated rows (NaN label: unrated,
    weight 0).

    Args:
        **kwargs: Passed to `keras.layers.Layer`.

    Example:
        >>> import numpy as np
        >>> float(RatingTask()(np.array([0.0, 1.0]), np.array([0.5, 1.0])))
        0.125
        >>> float(RatingTask()(np.array([0.0, np.nan]), np.array([0.5, 1.0])))
        0.25
    """

    def build(self, *args: Any, **kwargs: Any) -> None:
        self.built = True

    def call(self, labels: Any, predictions: Any, sample_weight: Any = None) -> Any:
        """Returns the scalar loss of ``predictions`` against ``labels`` (both ``[batch]``)."""
        labels = ops.cast(labels, "float32")
        rated = ops.isfinite(labels)
        target = ops.where(rated, labels, ops.zeros_like(labels))
        error = ops.square(ops.cast(predictions, "float32") - target)
        weight = (
            ops.ones_like(error) if sample_weight is None else ops.cast(sample_weight, "float32")
        )
        weight = weight * ops.cast(rated, "float32")
        return weighted_reduce(error, weight, "mean")


def retrieval_labels(labels: Any) -> Any:
    """Labels for the retrieval loss: an unrated row (NaN label) becomes 1, a positive
    whatever the positive threshold, with the weight of a top rating.

    Example:
        >>> import numpy as np
        >>> np.asarray(retrieval_labels(np.array([0.25, np.nan]))).tolist()
        [0.25, 1.0]
    """
    labels = ops.cast(labels, "float32")
    return ops.where(ops.isfinite(labels), labels, ops.ones_like(labels))
