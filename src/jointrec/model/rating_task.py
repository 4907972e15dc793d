"""`RatingTask`: mean squared error on the normalised rating label."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from jointrec.model.embedding_tower import PACKAGE
from jointrec.model.retrieval_task import weighted_reduce


@keras.saving.register_keras_serializable(package=PACKAGE)
class RatingTask(keras.layers.Layer):
    """Weighted mean of ``(prediction - label)^2``.

    Args:
        **kwargs: Passed to `keras.layers.Layer`.

    Example:
        >>> import numpy as np
        >>> float(RatingTask()(np.array([0.0, 1.0]), np.array([0.5, 1.0])))
        0.125
    """

    def build(self, *args: Any, **kwargs: Any) -> None:
        self.built = True

    def call(self, labels: Any, predictions: Any, sample_weight: Any = None) -> Any:
        """Returns the scalar loss of ``predictions`` against ``labels`` (both ``[batch]``)."""
        error = ops.square(ops.cast(predictions, "float32") - ops.cast(labels, "float32"))
        weight = (
            ops.ones_like(error) if sample_weight is None else ops.cast(sample_weight, "float32")
        )
        return weighted_reduce(error, weight, "mean")
