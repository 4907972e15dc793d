"""Options shared by several commands, and how flags override a preset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from jointrec.settings import RunConfig, preset

Preset = Annotated[str, typer.Option("--preset", help="Settings preset: 'default' or 'tutorial'.")]
DataPath = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Local zip or folder of the dataset (default: cache, then download from GroupLens).",
    ),
]
DatasetName = Annotated[
    str, typer.Option("--dataset", help="MovieLens release: 100k, 1m, 20m, 25m, latest-small.")
]
Epochs = Annotated[int | None, typer.Option("--epochs", min=1, help="Training epochs.")]
BatchSize = Annotated[int | None, typer.Option("--batch-size", min=2, help="Examples per step.")]
LearningRate = Annotated[
    float | None, typer.Option("--learning-rate", min=1e-12, help="Step size (> 0).")
]
Optimizer = Annotated[
    str | None, typer.Option("--optimizer", help="adam, adamw, adagrad, sgd or rmsprop.")
]
EmbeddingDim = Annotated[
    int | None, typer.Option("--embedding-dim", min=1, help="Width of user and item vectors.")
]
RetrievalWeight = Annotated[
    float | None, typer.Option("--retrieval-weight", min=0.0, help="Retrieval loss weight.")
]
RatingWeight = Annotated[
    float | None, typer.Option("--rating-weight", min=0.0, help="Rating loss weight.")
]
Seed = Annotated[int | None, typer.Option("--seed", help="Seed of the split and the training.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]


def build_config(
    preset_name: str,
    *,
    epochs: int | None = None,
    batch_size: int | None = None,
    learning_rate: float | None = None,
    optimizer: str | None = None,
    embedding_dim: int | None = None,
    retrieval_weight: float | None = None,
    rating_weight: float | None = None,
    seed: int | None = None,
) -> RunConfig:
    """The preset with any given flags applied on top."""
    config = preset(preset_name)
    train: dict[str, Any] = _given(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=optimizer,
        seed=seed,
    )
    model: dict[str, Any] = _given(
        embedding_dim=embedding_dim, retrieval_weight=retrieval_weight, rating_weight=rating_weight
    )
    split: dict[str, Any] = _given(seed=seed)
    return config.replace(train=train, model=model, split=split)


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}
