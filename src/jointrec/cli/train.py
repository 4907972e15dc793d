"""``jointrec train``: train one joint model and write a run directory (artifact + manifest)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from jointrec.cli import _distributed as dist
from jointrec.cli import settings as s

NAME = "train"
ORDER = 10
HELP = (
    "Train the joint model on MovieLens or your own CSV/Parquet data (flags or an experiment "
    "TOML file), evaluate it on test and write a run directory with a manifest."
)


@s.settings_options()
def command(
    ctx: typer.Context,
    settings: s.Flags,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Run directory to write (default: runs/<name> with --config, else runs/joint).",
        ),
    ] = None,
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
    quiet: s.Quiet = False,
    json: s.Json = False,
    num_processes: dist.NumProcesses = 1,
    process_id: dist.ProcessId = 0,
    coordinator: dist.Coordinator = None,
    shard_embeddings: dist.ShardEmbeddings = False,
    all_devices: dist.AllDevices = False,
    cluster_timeout: dist.ClusterTimeout = 120.0,
) -> None:
    from jointrec.experiments.manifest import python_command
    from jointrec.experiments.train import resume as resume_run
    from jointrec.experiments.train import train

    notify = None if json else lambda note: typer.echo(f"note: {note}", err=True)
    if resume is not None:
        _refuse_new_settings(ctx, settings)
        run = resume_run(
            resume,
            data=settings.values["data"],
            progress=not quiet and not json,
            notify=notify,
        )
        _show(run, json)
        return
    experiment = settings.experiment(out=out)
    cluster = dist.join_cluster(
        num_processes, process_id, coordinator, shard_embeddings, all_devices, cluster_timeout
    )
    chief = cluster is None or cluster.is_chief  # only process 0 writes and reports
    with dist.fail_fast(cluster), dist.quiet_stdout(cluster):
        run = train(
            experiment,
            overwrite=overwrite,
            write=chief,  # runs/joint when neither --out nor --config names one
            progress=chief and not quiet and not json,
            checkpoint=_has_fast_path() and cluster is None if checkpoint is None else checkpoint,
            notify=notify if chief else None,
            command=python_command(),
        )
    if not chief:
        return
    _show(run, json)


def _show(run: Any, json: bool) -> None:
    from jointrec.cli.render import console, print_json, report_table

    if json:
        print_json(
            {
                "artifact": str(run.artifact),
                "manifest": str(run.manifest),
                "metrics": run.report,
                "notes": run.notes,
                "stages": [record.to_dict() for record in run.stages],
            }
        )
        return
    title = f"test report ({run.experiment.run.preset}, {run.experiment.name})"
    console.print(report_table([("joint", run.report)], title=title))
    console.print(
        f"trained in {run.trained.train_seconds:.1f} s; run directory: "
        f"{run.artifact}; manifest: {run.manifest}"
    )


def _refuse_new_settings(ctx: typer.Context, settings: s.Flags) -> None:
    """--resume takes the run's own settings: only --data (a moved release), --quiet and
    --json may be given with it."""
    from jointrec.errors import JointrecError

    given = [flag for flag in settings.given if flag != "--data"]
    given += [
        "--" + name.replace("_", "-")
        for name in ("out", "overwrite", "checkpoint")
        if getattr(ctx.get_parameter_source(name), "name", None) == "COMMANDLINE"
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
