"""`EmbeddingTower`: an id embedding table, the tutorial's query and candidate tower."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

PACKAGE = "jointrec"


@keras.saving.register_keras_serializable(package=PACKAGE)
class EmbeddingTower(keras.layers.Layer):
    """Maps integer ids (index 0 = unknown) to learned vectors.

    Args:
        vocabulary_size: Rows of the table, the unknown index 0 included.
        embedding_dim: Width of each vector.
        embeddings_initializer: Keras initializer of the table (the tutorial's default
            ``"uniform"``, i.e. U(-0.05, 0.05)).
        embeddings_regularizer: Optional Keras regularizer of the table.
        **kwargs: Passed to `keras.layers.Layer`.

    Example:
        >>> import numpy as np
        >>> tower = EmbeddingTower(vocabulary_size=5, embedding_dim=3)
        >>> tuple(tower(np.array([0, 4])).shape)
        (2, 3)
    """

    built: bool  # set by keras.layers.Layer; declared so mypy can check build()

    def __init__(
        self,
        vocabulary_size: int,
        embedding_dim: int,
        embeddings_initializer: Any = "uniform",
        embeddings_regularizer: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.embedding_dim = int(embedding_dim)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.embeddings_regularizer = keras.regularizers.get(embeddings_regularizer)
        self.embedding = keras.layers.Embedding(
            self.vocabulary_size,
            self.embedding_dim,
            embeddings_initializer=self.embeddings_initializer,
            embeddings_regularizer=self.embeddings_regularizer,
            name="embedding",
        )

    def build(self, input_shape: Any = None) -> None:
        if self.built:
            return
        self.embedding.build(input_shape)
        self.built = True

    def call(self, ids: Any) -> Any:
        return self.embedding(ops.cast(ids, "int32"))

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return (*tuple(input_shape), self.embedding_dim)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "vocabulary_size": self.vocabulary_size,
                "embedding_dim": self.embedding_dim,
                "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": keras.regularizers.serialize(self.embeddings_regularizer)
                if self.embeddings_regularizer is not None
                else None,
            }
        )
        return config
