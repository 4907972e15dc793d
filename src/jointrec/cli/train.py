"""``jointrec train``: train one joint model and write a run directory (artifact + manifest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from jointrec.cli import _data_options as d
from jointrec.cli import _distributed as dist
from jointrec.cli import options as o

NAME = "train"
ORDER = 10
HELP = (
    "Train the joint model on MovieLens or your own CSV/Parquet data (flags or an experiment "
    "TOML file), evaluate it on test and write a run directory with a manifest."
)


# What --resume accepts besides RUN: everything else is read from the run's checkpoints.
_RESUME_FLAGS = {"resume", "data", "quiet", "json"}


def command(
    ctx: typer.Context,
    config: d.Config = None,
    out: d.Out = None,
    name: d.Name = None,
    preset: d.Preset = None,
    data: o.DataPath = None,
    dataset: d.Dataset = None,
    interactions: d.Interactions = None,
    user_col: d.UserCol = None,
    item_col: d.ItemCol = None,
    rating_col: d.RatingCol = None,
    time_col: d.TimeCol = None,
    rating_scale: d.RatingScale = None,
    user_features: d.UserFeatures = None,
    item_features: d.ItemFeatures = None,
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
            "(default: on with the JAX backend, in one process).",
        ),
    ] = None,
    resume: Annotated[
        Path | None,
        typer.Option(
            "--resume",
            metavar="RUN",
            help="Finish the killed run whose --out was RUN, with its saved settings and data.",
        ),
    ] = None,
    quiet: o.Quiet = False,
    json: o.Json = False,
    num_processes: dist.NumProcesses = 1,
    process_id: dist.ProcessId = 0,
    coordinator: dist.Coordinator = None,
    shard_embeddings: dist.ShardEmbeddings = False,
    all_devices: dist.AllDevices = False,
    cluster_timeout: dist.ClusterTimeout = 120.0,
) -> None:
    from jointrec.experiments.experiment import resume_experiment, run_experiment
    from jointrec.experiments.manifest import python_command
    from jointrec.settings import resolve_experiment

    notify = None if json else lambda note: typer.echo(f"note: {note}", err=True)
    if resume is not None:
        _refuse_new_settings(ctx)
        run = resume_experiment(
            resume, data_path=data, progress=not quiet and not json, notify=notify
        )
        _show(run, json)
        return
    flags = d.flag_settings(
        out=out,
        name=name,
        preset=preset,
        data=data,
        dataset=dataset,
        interactions=interactions,
        user_col=user_col,
        item_col=item_col,
        rating_col=rating_col,
        time_col=time_col,
        rating_scale=rating_scale,
        user_features=user_features,
        item_features=item_features,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        optimizer=optimizer,
        embedding_dim=embedding_dim,
        retrieval_weight=retrieval_weight,
        rating_weight=rating_weight,
        seed=seed,
    )
    experiment = resolve_experiment(config, flags)
    cluster = dist.join_cluster(
        num_processes, process_id, coordinator, shard_embeddings, all_devices, cluster_timeout
    )
    chief = cluster is None or cluster.is_chief  # only process 0 writes and reports
    with dist.fail_fast(cluster), dist.quiet_stdout(cluster):
        run = run_experiment(
            experiment,
            overwrite=overwrite,
            progress=chief and not quiet and not json,
            command=python_command(),
            write=chief,
            notify=notify if chief else None,
            checkpoint=_has_fast_path() and cluster is None if checkpoint is None else checkpoint,
        )
    if not chief:
        return
    _show(run, json)


def _show(run: Any, json: bool) -> None:
    from jointrec.cli.render import console, print_json, report_table

    if json:
        print_json(
            {
                "artifact": str(run.result.artifact),
                "manifest": str(run.manifest),
                "metrics": run.report,
                "notes": run.notes,
            }
        )
        return
    title = f"test report ({run.experiment.run.preset}, {run.experiment.name})"
    console.print(report_table([("joint", run.report)], title=title))
    console.print(
        f"trained in {run.result.trained.train_seconds:.1f} s; run directory: "
        f"{run.result.artifact}; manifest: {run.manifest}"
    )


def _refuse_new_settings(ctx: typer.Context) -> None:
    from jointrec.errors import JointrecError

    given = [
        "--" + name.replace("_", "-")
        for name in ctx.params
        if name not in _RESUME_FLAGS
        and getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
    ]
    if given:
        raise JointrecError(
            f"--resume finishes a run with the settings it started with, but got "
            f"{', '.join(given)}: drop them (only --data, --quiet and --json apply)"
        )


def _has_fast_path() -> bool:
    """Whether the backend trains with compiled steps, which checkpoints need."""
    from jointrec import backend

    return backend.name() == "jax"
