"""Your own Keras layer as a tower: the same training, evaluation, artifact and serving.

jointrec builds its towers from settings (an id embedding, side features, the user's
history). Any Keras layer from indices to vectors can take a tower's place instead: here
the item tower is a small MLP over an id embedding. Give `jointrec.train` the layer, or a
function ``(vocabulary_size, embedding_dim) -> layer`` when the layer needs the vocabulary
size (known only once the data is split). The layer must be serializable (registered, with
a ``get_config``), create its weights in ``build``, and give vectors as wide as the other
tower's.

Run it (MovieLens 100k from a local zip, or a download):

    python examples/custom_tower.py --data ml-100k.zip --out runs/custom-tower
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import jointrec  # first: it selects the JAX backend before Keras is imported

# isort: split
import keras


@keras.saving.register_keras_serializable(package="examples")
class MLPTower(keras.layers.Layer):
    """An id embedding followed by a ReLU layer and a linear projection.

    Args:
        vocabulary_size: Number of indices (index 0 is the unknown id).
        embedding_dim: Width of the output vectors.
        hidden: Width of the id embedding and the hidden layer.
        **kwargs: Passed to `keras.layers.Layer`.
    """

    def __init__(
        self, vocabulary_size: int, embedding_dim: int, hidden: int = 64, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.embedding_dim = int(embedding_dim)
        self.hidden = int(hidden)
        self.embedding = keras.layers.Embedding(self.vocabulary_size, self.hidden)
        self.dense = keras.layers.Dense(self.hidden, activation="relu")
        self.projection = keras.layers.Dense(self.embedding_dim)

    def build(self, input_shape: Any) -> None:
        self.embedding.build(input_shape)
        self.dense.build((*input_shape, self.hidden))
        self.projection.build((*input_shape, self.hidden))
        self.built = True

    def call(self, ids: Any) -> Any:
        return self.projection(self.dense(self.embedding(ids)))

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return (*tuple(input_shape), self.embedding_dim)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "vocabulary_size": self.vocabulary_size,
            "embedding_dim": self.embedding_dim,
            "hidden": self.hidden,
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=None, help="MovieLens 100k zip or folder")
    parser.add_argument("--out", type=Path, default=Path("runs/custom-tower"))
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args(argv)

    # 1. The default preset, with the item tower replaced by the MLP (made once the item
    #    vocabulary is known). The user tower stays the configured one.
    settings = jointrec.preset("default").replace(train={"epochs": args.epochs})
    result = jointrec.train(
        settings,
        args.data,
        out=args.out,
        overwrite=True,
        progress=False,
        item_tower=lambda size, dim: MLPTower(size, dim, name="candidate_tower"),
    )
    report = result.report
    print(
        f"item tower {type(result.trained.model.candidate_tower).__name__}: "
        f"Recall@10 {report['recall@10']:.3f}, NDCG@10 {report['ndcg@10']:.3f}, "
        f"RMSE {report['rmse']:.3f} stars"
    )

    # 2. The run directory is an ordinary artifact: evaluate it again, load its Keras model
    #    in a fresh state, and serve it.
    again = jointrec.evaluate(result.artifact)
    print(f"re-evaluated from {result.artifact}: Recall@10 {again['recall@10']:.3f}")
    model = jointrec.load_artifact(result.artifact).keras_model()
    print(f"model.keras loads with its {type(model.candidate_tower).__name__} item tower")
    rec = jointrec.Recommender.load(result.artifact)
    for r in rec.recommend(5, k=5).items:
        print(f"  user 5 -> {r.title}  {r.predicted_rating:.2f} stars")
    same = abs(again["recall@10"] - report["recall@10"]) < 1e-9
    return 0 if same and type(model.candidate_tower) is MLPTower else 1


if __name__ == "__main__":
    raise SystemExit(main())
