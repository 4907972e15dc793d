"""The reference: the keras-rs tutorial's multi-task model trained the tutorial's way.

Written from the tutorial's description ("Multi-task recommenders: retrieval + ranking"):
its `MultiTaskModel` (two `keras.layers.Embedding` towers, a Dense 256-128-1 rating model,
`keras_rs.layers.BruteForceRetrieval(k=10)` at evaluation, sum-reduced categorical
cross-entropy over the in-batch score matrix plus MSE, RMSE and top-100 metrics), compiled
with `Adagrad(0.1)` and trained with Keras `model.fit` over a tf.data pipeline
(``shuffle(100_000, seed=42, reshuffle_each_iteration=False)``, ``take(80_000)``,
``batch(1000)``, ``cache()``). jointrec does not depend on TensorFlow: when it is not
installed (``pip install -e ".[bench]"`` adds it), the same batches come from a
`keras.utils.PyDataset`, a tf.data-style stand-in, and results say which was used.

Example:
    >>> ref = ReferenceData.load("ml-100k.zip")  # doctest: +SKIP
    >>> model = make_model(ref, 1.0, 1.0)  # doctest: +SKIP
    >>> model.fit(ref.train_pipeline(), epochs=5)  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras
import keras_rs
import numpy as np


def pipeline_kind() -> str:
    """``"tf.data"`` when TensorFlow is importable, else ``"keras.utils.PyDataset"``."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return "keras.utils.PyDataset"
    return "tf.data"


class _Batches(keras.utils.PyDataset):
    """Fixed batches of in-memory columns: ``({"user_id", "movie_id"}, label)`` tuples."""

    def __init__(self, user: np.ndarray, movie: np.ndarray, label: np.ndarray, size: int):
        super().__init__()
        self.user, self.movie, self.label, self.size = user, movie, label, size

    def __len__(self) -> int:
        return -(-len(self.user) // self.size)

    def __getitem__(self, i: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
        s = slice(i * self.size, (i + 1) * self.size)
        return {"user_id": self.user[s], "movie_id": self.movie[s]}, self.label[s]


@dataclass
class ReferenceData:
    """MovieLens 100k as the tutorial feeds it: raw ids, labels ``(r - 1) / 4``, shuffled
    once with seed 42, the first ``train_size`` for training and the rest for test."""

    user: np.ndarray
    movie: np.ndarray
    label: np.ndarray
    users_count: int
    movies_count: int
    train_size: int
    batch_size: int = 1000

    @classmethod
    def load(cls, path: str, train_fraction: float = 0.8, limit: int | None = None):
        from jointrec.data.movielens import load_movielens

        ds = load_movielens("100k", path=path, progress=False)
        x = ds.interactions
        order = np.random.default_rng(42).permutation(len(x))
        if limit is not None:
            order = order[:limit]
        rating = np.asarray(x.rating)[order]
        return cls(
            user=x.user[order].astype(np.int32),
            movie=x.item[order].astype(np.int32),
            label=((rating - 1.0) / 4.0).astype(np.float32),
            users_count=int(x.user.max()),
            movies_count=len(ds.items) if ds.items is not None else int(x.item.max()),
            train_size=round(len(order) * train_fraction),
        )

    def _pipeline(self, rows: slice) -> Any:
        u, m, y = self.user[rows], self.movie[rows], self.label[rows]
        if pipeline_kind() == "tf.data":
            import tensorflow as tf

            return (
                tf.data.Dataset.from_tensor_slices(({"user_id": u, "movie_id": m}, y))
                .batch(self.batch_size)
                .cache()
            )
        return _Batches(u, m, y, self.batch_size)

    def train_pipeline(self) -> Any:
        """The training batches (the shuffle already happened once, as in the tutorial)."""
        return self._pipeline(slice(0, self.train_size))

    def test_pipeline(self) -> Any:
        """The test batches."""
        return self._pipeline(slice(self.train_size, None))


class MultiTaskModel(keras.Model):
    """The tutorial's model, as the tutorial writes it."""

    def __init__(
        self,
        num_users: int,
        num_candidates: int,
        embedding_dimension: int = 32,
        layer_sizes: tuple[int, ...] = (256, 128),
        retrieval_loss_wt: float = 1.0,
        ranking_loss_wt: float = 1.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.user_embedding = keras.layers.Embedding(num_users, embedding_dimension)
        self.candidate_embedding = keras.layers.Embedding(num_candidates, embedding_dimension)
        self.rating_model = keras.Sequential(
            [keras.layers.Dense(size, activation="relu") for size in layer_sizes]
            + [keras.layers.Dense(1)]
        )
        self.retrieval = keras_rs.layers.BruteForceRetrieval(k=10, return_scores=False)
        self.retrieval_loss_fn = keras.losses.CategoricalCrossentropy(
            from_logits=True, reduction="sum"
        )
        self.ranking_loss_fn = keras.losses.MeanSquaredError()
        self.top_k_metric = keras.metrics.SparseTopKCategoricalAccuracy(k=100, from_sorted_ids=True)
        self.rmse_metric = keras.metrics.RootMeanSquaredError()
        self.embedding_dimension = embedding_dimension
        self.retrieval_loss_wt = retrieval_loss_wt
        self.ranking_loss_wt = ranking_loss_wt

    def build(self, input_shape: Any) -> None:
        self.user_embedding.build(input_shape)
        self.candidate_embedding.build(input_shape)
        self.retrieval.candidate_embeddings = self.candidate_embedding.embeddings
        self.retrieval.build(input_shape)
        self.rating_model.build((None, 2 * self.embedding_dimension))
        super().build(input_shape)

    def call(self, inputs: dict[str, Any], training: bool = False) -> dict[str, Any]:
        user_embeddings = self.user_embedding(inputs["user_id"])
        result = {"user_embeddings": user_embeddings}
        if "movie_id" in inputs:
            candidate_embeddings = self.candidate_embedding(inputs["movie_id"])
            result["candidate_embeddings"] = candidate_embeddings
            result["rating"] = self.rating_model(
                keras.ops.concatenate([user_embeddings, candidate_embeddings], axis=1)
            )
        if not training:
            result["predictions"] = self.retrieval(user_embeddings)
        return result

    def compute_loss(
        self, x: Any, y: Any, y_pred: Any, sample_weight: Any, training: bool = True
    ) -> Any:
        user_embeddings = y_pred["user_embeddings"]
        candidate_embeddings = y_pred["candidate_embeddings"]
        scores = keras.ops.matmul(user_embeddings, keras.ops.transpose(candidate_embeddings))
        labels = keras.ops.eye(
            keras.ops.shape(user_embeddings)[0], keras.ops.shape(candidate_embeddings)[0]
        )
        retrieval_loss = self.retrieval_loss_fn(labels, scores, sample_weight)
        ranking_loss = self.ranking_loss_fn(
            keras.ops.expand_dims(y, -1), y_pred["rating"], sample_weight
        )
        return self.retrieval_loss_wt * retrieval_loss + self.ranking_loss_wt * ranking_loss

    def compute_metrics(
        self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None
    ) -> dict[str, Any]:
        self.rmse_metric.update_state(y, y_pred["rating"], sample_weight=sample_weight)
        if "predictions" in y_pred:
            weight = keras.ops.cast(keras.ops.greater(y, 0.9), "float32")
            if sample_weight is not None:
                weight = keras.ops.multiply(weight, sample_weight)
            self.top_k_metric.update_state(
                x["movie_id"], y_pred["predictions"], sample_weight=weight
            )
            return self.get_metrics_result()
        result = self.get_metrics_result()
        result.pop(self.top_k_metric.name)
        return result


def make_model(data: ReferenceData, retrieval_wt: float, ranking_wt: float) -> MultiTaskModel:
    """A compiled tutorial model with the given loss weights (Adagrad 0.1, as written)."""
    model = MultiTaskModel(
        num_users=data.users_count + 1,
        num_candidates=data.movies_count + 1,
        retrieval_loss_wt=retrieval_wt,
        ranking_loss_wt=ranking_wt,
    )
    model.compile(optimizer=keras.optimizers.Adagrad(0.1))
    return model


#: The tutorial's three models: (name, retrieval weight, ranking weight).
MODELS = (
    ("rating-specialised", 0.0, 1.0),
    ("retrieval-specialised", 1.0, 0.0),
    ("multi-task", 1.0, 1.0),
)


def compare(data_path: str, epochs: int = 5) -> dict[str, Any]:
    """The tutorial's experiment end to end: three models, ``fit`` then ``evaluate`` each."""
    data = ReferenceData.load(data_path)
    results = {}
    for name, w_ret, w_rat in MODELS:
        model = make_model(data, w_ret, w_rat)
        model.fit(data.train_pipeline(), epochs=epochs, verbose=0)
        results[name] = model.evaluate(data.test_pipeline(), return_dict=True, verbose=0)
    return {"pipeline": pipeline_kind(), "models": results}


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="MovieLens 100k zip")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(compare(args.data, args.epochs), default=float))
