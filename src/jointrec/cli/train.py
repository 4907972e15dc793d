"""``jointrec train``: train one joint model and write an artifact (or resume a killed run)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jointrec.cli import options as o

NAME = "train"
ORDER = 10
HELP = "Train the joint model on a split, evaluate it on test and write an artifact directory."

# Flags that change what a run computes: --resume takes them from the run's checkpoints.
_SETTINGS = (
    "out",
    "preset",
    "dataset",
    "epochs",
    "batch_size",
    "learning_rate",
    "optimizer",
    "embedding_dim",
    "retrieval_weight",
    "rating_weight",
    "seed",
    "overwrite",
    "checkpoint",
)


def command(
    ctx: typer.Context,
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
    checkpoint: Annotated[
        bool | None,
        typer.Option(
            "--checkpoint/--no-checkpoint",
            help="Save a checkpoint after every epoch in OUT.checkpoints, removed at the end "
            "(default: on with the JAX backend).",
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            metavar="RUN",
            help="Continue the killed run whose --out was RUN, with its saved settings.",
        ),
    ] = None,
    quiet: o.Quiet = False,
    json: o.Json = False,
) -> None:
    from jointrec.cli.render import console, print_json, report_table
    from jointrec.errors import JointrecError

    if resume is not None:
        given = [
            "--" + name.replace("_", "-")
            for name in _SETTINGS
            if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
        ]
        if given:
            raise JointrecError(
                f"--resume continues a run with the settings it started with, but got "
                f"{', '.join(given)}: drop them (only --data, --quiet and --json apply)"
            )
        from jointrec.run import resume as resume_run

        result = resume_run(resume, data_path=data, progress=not quiet and not json)
        preset = result.trained.config.preset
    else:
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
            checkpoint=_jax_backend() if checkpoint is None else checkpoint,
        )
    if json:
        print_json({"artifact": str(result.artifact), "metrics": result.report})
        return
    console.print(report_table([("joint", result.report)], title=f"test report ({preset})"))
    console.print(f"trained in {result.trained.train_seconds:.1f} s; artifact: {result.artifact}")


def _jax_backend() -> bool:
    import os

    return os.environ.get("KERAS_BACKEND", "jax") == "jax"
