"""`RatingHead`: MLP over the concatenated user and item vectors, with optional biases."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from jointrec.model.embedding_tower import PACKAGE


@keras.saving.register_keras_serializable(package=PACKAGE)
class RatingHead(keras.layers.Layer):
    """Predicts the normalised rating of (user, item) pairs.

    ``rating = MLP([u, v]) + b_user[user] + b_item[item] + global_mean``; the bias terms and
    mean exist only when ``num_users``/``num_items`` are given (``0`` turns them off).

    Args:
        layer_sizes: Hidden widths (ReLU); a final linear width-1 layer is added.
        num_users: Rows of the user bias table, or 0 for no user bias.
        num_items: Rows of the item bias table, or 0 for no item bias.
        global_mean: Initial value of the learned global offset (used with biases).
        activation: Activation of the hidden layers.
        embeddings_regularizer: Optional Keras regularizer of the bias tables.
        dropout: Dropout rate on the MLP's input ``[u, v]`` while training (0: none).
        **kwargs: Passed to `keras.layers.Layer`.

    Example:
        >>> import numpy as np
        >>> head = RatingHead(layer_sizes=(8,))
        >>> u = v = np.ones((2, 4), "float32")
        >>> tuple(head(u, v, np.array([1, 2]), np.array([1, 1])).shape)
        (2,)
    """

    built: bool  # set by keras.layers.Layer; declared so mypy can check build()

    def __init__(
        self,
        layer_sizes: tuple[int, ...] = (256, 128),
        num_users: int = 0,
        num_items: int = 0,
        global_mean: float = 0.0,
        activation: str = "relu",
        embeddings_regularizer: Any = None,
        dropout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.layer_sizes = tuple(int(s) for s in layer_sizes)
        self.num_users = int(num_users)
        self.num_items = int(num_items)
        self.global_mean = float(global_mean)
        self.activation = activation
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout={dropout!r}: expected a rate in [0, 1)")
        self.dropout = float(dropout)
        self.input_dropout = keras.layers.Dropout(self.dropout) if self.dropout else None
        self.embeddings_regularizer = keras.regularizers.get(embeddings_regularizer)
        self.hidden = [
            keras.layers.Dense(s, activation=activation, name=f"dense_{i}")
            for i, s in enumerate(self.layer_sizes)
        ]
        self.output_layer = keras.layers.Dense(1, name="output")
        self.use_biases = self.num_users > 0 and self.num_items > 0
        if self.use_biases:
            self.user_bias = keras.layers.Embedding(
                self.num_users,
                1,
                embeddings_initializer="zeros",
                embeddings_regularizer=self.embeddings_regularizer,
                name="user_bias",
            )
            self.item_bias = keras.layers.Embedding(
                self.num_items,
                1,
                embeddings_initializer="zeros",
                embeddings_regularizer=self.embeddings_regularizer,
                name="item_bias",
            )

    def build(self, query_shape: Any, candidate_shape: Any = None, *args: Any) -> None:
        if self.built:
            return
        width = int(query_shape[-1]) + int((candidate_shape or query_shape)[-1])
        for layer in self.hidden:
            layer.build((None, width))
            width = layer.units
        self.output_layer.build((None, width))
        if self.use_biases:
            self.user_bias.build((None,))
            self.item_bias.build((None,))
            self.offset = self.add_weight(
                name="global_mean",
                shape=(),
                initializer=keras.initializers.Constant(self.global_mean),
            )
        self.built = True

    def call(
        self,
        query: Any,
        candidate: Any,
        user_ids: Any = None,
        item_ids: Any = None,
        training: bool = False,
    ) -> Any:
        x = ops.concatenate([query, candidate], axis=-1)
        if self.input_dropout is not None:
            x = self.input_dropout(x, training=training)
        for layer in self.hidden:
            x = layer(x)
        rating = ops.squeeze(self.output_layer(x), axis=-1)
        if self.use_biases:
            if user_ids is None or item_ids is None:
                raise ValueError("RatingHead with biases needs user_ids and item_ids")
            rating = (
                rating
                + ops.squeeze(self.user_bias(ops.cast(user_ids, "int32")), -1)
                + ops.squeeze(self.item_bias(ops.cast(item_ids, "int32")), -1)
                + self.offset
            )
        return rating

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            {
                "layer_sizes": list(self.layer_sizes),
                "num_users": self.num_users,
                "num_items": self.num_items,
                "global_mean": self.global_mean,
                "activation": self.activation,
                "dropout": self.dropout,
                "embeddings_regularizer": keras.regularizers.serialize(self.embeddings_regularizer)
                if self.embeddings_regularizer is not None
                else None,
            }
        )
        return config
