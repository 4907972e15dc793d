"""``jointrec train``: train one joint model and write an artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jointrec.cli import options as o

NAME = "train"
ORDER = 10
HELP = "Train the joint model on a split, evaluate it on test and write an artifact directory."


def command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Artifact directory to write.")] = Path(
        "runs/joint"
    ),
    preset: o.Preset = "default",
    data: o.DataPath = None,
    dataset: o.DatasetName = "100k",
    epochs: o.Epochs = None,
    batch_size: o.BatchSize = None,
    learning_rate: o.LearningRate = None,
    optimizer: o.Optimizer = None,
    embedding_dim: o.EmbeddingDim = None,
    retrieval_weight: o.RetrievalWeight = None,
    rating_weight: o.RatingWeight = None,
    seed: o.Seed = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace --out.")] = False,
    quiet: o.Quiet = False,
    json: o.Json = False,
) -> None:
    from jointrec.cli.render import console, print_json, report_table
    from jointrec.run import train

    config = o.build_config(
        preset,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=optimizer,
        embedding_dim=embedding_dim,
        retrieval_weight=retrieval_weight,
        rating_weight=rating_weight,
        seed=seed,
    )
    result = train(
        config,
        dataset_name=dataset,
        data_path=data,
        out=out,
        overwrite=overwrite,
        progress=not quiet and not json,
    )
    if json:
        print_json({"artifact": str(result.artifact), "metrics": result.report})
        return
    console.print(report_table([("joint", result.report)], title=f"test report ({preset})"))
    console.print(f"trained in {result.trained.train_seconds:.1f} s; artifact: {result.artifact}")
