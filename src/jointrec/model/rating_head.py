"""`RatingHead`: MLP over the concatenated user and item vectors, with optional biases and
an optional rating autoencoder of each item."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from jointrec.errors import JointrecError
from jointrec.model.embedding_tower import PACKAGE

#: Largest ``items x users`` table of training ratings the rating autoencoder keeps.
MAX_RATING_CELLS = 50_000_000


@keras.saving.register_keras_serializable(package=PACKAGE)
class RatingHead(keras.layers.Layer):
    """Predicts the normalised rating of (user, item) pairs.

    ``rating = MLP([u, v]) + b_user[user] + b_item[item] + global_mean``; the bias terms and
    mean exist only when ``num_users``/``num_items`` are given (``0`` turns them off).

    With ``autoencoder_units = k > 0`` (and biases), each item is also encoded from its
    vector of training ratings, as item-based AutoRec does:
    ``h_i = sigmoid(r_i V + b)`` with ``r_i[u]`` the rating user ``u`` gave item ``i`` (0 if
    none; ``r/high``-scaled labels), and ``p_user . h_i`` is added to the rating. While
    training, the row's own rating is left out of ``r_i`` (so the head cannot copy it), and
    the ratings are set with `set_item_ratings`. The item's code is a rating-aware item
    representation that the shared towers do not have to learn.

    Args:
        layer_sizes: Hidden widths (ReLU); a final linear width-1 layer is added.
        num_users: Rows of the user bias table, or 0 for no user bias.
        num_items: Rows of the item bias table, or 0 for no item bias.
        global_mean: Initial value of the learned global offset (used with biases).
        activation: Activation of the hidden layers.
        embeddings_regularizer: Optional Keras regularizer of the bias tables.
        dropout: Dropout rate on the MLP's input ``[u, v]`` while training (0: none).
        autoencoder_units: Width ``k`` of the item rating autoencoder (0: none).
        autoencoder_l2: L2 penalty on the autoencoder's ``V`` and ``p_user``.
        autoencoder_combine: ``"sum"`` (``p_user . h_i`` is one more term of the rating) or
            ``"mean"`` (two predictions that share the biases, ``MLP + biases`` and
            ``p_user . h_i + biases``, each trained on the rating loss by `parts`; the
            rating is their mean).
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
        autoencoder_units: int = 0,
        autoencoder_l2: float = 0.0,
        autoencoder_combine: str = "sum",
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
        self.autoencoder_units = int(autoencoder_units)
        self.autoencoder_l2 = float(autoencoder_l2)
        if autoencoder_combine not in ("sum", "mean"):
            raise ValueError(f"autoencoder_combine={autoencoder_combine!r}: expected sum/mean")
        self.autoencoder_combine = autoencoder_combine
        if self.autoencoder_units and not self.use_biases:
            raise JointrecError(
                "rating.autoencoder needs rating.biases = true (the user and item tables)"
            )
        if self.autoencoder_units and self.num_users * self.num_items > MAX_RATING_CELLS:
            raise JointrecError(
                f"rating.autoencoder={self.autoencoder_units} keeps a {self.num_items} x "
                f"{self.num_users} table of ratings, more than {MAX_RATING_CELLS} cells: set "
                "rating.autoencoder = 0 for this catalogue"
            )
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
        if self.autoencoder_units:
            k, penalty = self.autoencoder_units, self.autoencoder_l2
            regularizer = keras.regularizers.L2(penalty) if penalty > 0 else None
            self.item_ratings = self.add_weight(
                name="item_ratings",
                shape=(self.num_items, self.num_users),
                initializer="zeros",
                trainable=False,
            )
            self.encoder = self.add_weight(
                name="encoder",
                shape=(self.num_users, k),
                initializer=keras.initializers.RandomNormal(stddev=self.num_users**-0.5),
                regularizer=regularizer,
            )
            self.encoder_bias = self.add_weight(
                name="encoder_bias", shape=(k,), initializer="zeros"
            )
            self.user_codes = self.add_weight(
                name="user_codes",
                shape=(self.num_users, k),
                initializer="zeros",
                regularizer=regularizer,
            )
        self.built = True

    def set_item_ratings(self, users: Any, items: Any, labels: Any) -> None:
        """Fills the autoencoder's ``[items, users]`` table with the training ratings (as
        labels in ``[0, 1]``, stored as ``(label + 1/4) / (5/4)``: ``r/5`` on a 1-5 scale, so
        the lowest rating is not "unrated"); a no-op without the autoencoder."""
        if not self.autoencoder_units:
            return
        labels = np.asarray(labels, dtype=np.float32)
        rated = np.isfinite(labels)  # unrated rows (NaN) stay out of the table
        table = np.zeros((self.num_items, self.num_users), dtype=np.float32)
        table[np.asarray(items)[rated], np.asarray(users)[rated]] = (labels[rated] + 0.25) / 1.25
        self.item_ratings.assign(table)

    def item_codes(self, item_ids: Any, user_ids: Any = None) -> Any:
        """``[n, k]`` autoencoder codes of ``item_ids``; with ``user_ids``, each row leaves
        out the rating that user gave that item."""
        items = ops.cast(item_ids, "int32")
        rows = ops.take(self.item_ratings, items, axis=0)
        pre = ops.matmul(rows, self.encoder) + self.encoder_bias
        if user_ids is not None:
            users = ops.cast(user_ids, "int32")
            own = ops.take_along_axis(rows, users[:, None], axis=1)
            pre = pre - own * ops.take(self.encoder, users, axis=0)
        return ops.sigmoid(pre)

    def call(
        self,
        query: Any,
        candidate: Any,
        user_ids: Any = None,
        item_ids: Any = None,
        training: bool = False,
    ) -> Any:
        mlp, autoencoder = self.parts(query, candidate, user_ids, item_ids, training=training)
        if autoencoder is None:
            return mlp
        if self.autoencoder_combine == "mean":
            return 0.5 * (mlp + autoencoder)
        return mlp + autoencoder

    @property
    def splits_loss(self) -> bool:
        """Whether the rating loss is taken on each of `parts`' predictions (``mean``)."""
        return bool(self.autoencoder_units) and self.autoencoder_combine == "mean"

    def parts(
        self,
        query: Any,
        candidate: Any,
        user_ids: Any = None,
        item_ids: Any = None,
        training: bool = False,
    ) -> tuple[Any, Any]:
        """``(MLP + biases, p_user . h_i)``; the second is ``None`` without the autoencoder.

        With ``autoencoder_combine="mean"`` the two predictions are ``MLP + biases`` and
        ``p_user . h_i + biases``; the rating is their mean (`call`).
        """
        x = ops.concatenate([query, candidate], axis=-1)
        if self.input_dropout is not None:
            x = self.input_dropout(x, training=training)
        for layer in self.hidden:
            x = layer(x)
        rating = ops.squeeze(self.output_layer(x), axis=-1)
        biases: Any = 0.0
        if self.use_biases:
            if user_ids is None or item_ids is None:
                raise ValueError("RatingHead with biases needs user_ids and item_ids")
            biases = (
                ops.squeeze(self.user_bias(ops.cast(user_ids, "int32")), -1)
                + ops.squeeze(self.item_bias(ops.cast(item_ids, "int32")), -1)
                + self.offset
            )
            rating = rating + biases
        if not self.autoencoder_units:
            return rating, None
        codes = self.item_codes(item_ids, user_ids if training else None)
        users = ops.take(self.user_codes, ops.cast(user_ids, "int32"), axis=0)
        term = ops.sum(users * codes, axis=-1)
        if self.autoencoder_combine == "mean":
            return rating, term + biases
        return rating, term

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
                "autoencoder_units": self.autoencoder_units,
                "autoencoder_l2": self.autoencoder_l2,
                "autoencoder_combine": self.autoencoder_combine,
                "embeddings_regularizer": keras.regularizers.serialize(self.embeddings_regularizer)
                if self.embeddings_regularizer is not None
                else None,
            }
        )
        return config
