"""``jointrec runs``: list past runs with their key metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jointrec.cli import settings as s

NAME = "runs"
ORDER = 15
HELP = "List past runs (run directories under a folder, default runs/) with key test metrics."

COLUMNS = (
    ("recall@10", "R@10"),
    ("ndcg@10", "NDCG@10"),
    ("recall@100", "R@100"),
    ("rmse", "RMSE★"),
)


def command(
    root: Annotated[Path, typer.Argument(help="Folder holding run directories.")] = Path("runs"),
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Also write a PNG of the key metrics here.")
    ] = None,
    json: s.Json = False,
) -> None:
    from rich.table import Table

    from jointrec.cli.render import console, fmt, print_json
    from jointrec.experiments.runs import list_runs, plot_runs

    runs = list_runs(root)
    if plot is not None:
        plot_runs(runs, plot)
    if json:
        print_json([run.to_dict() for run in runs])
        return
    if not runs:
        typer.echo(f"no runs in {root}: train one with 'jointrec train --out {root}/NAME'")
        return
    table = Table(title=f"runs in {root}")
    for header in ("run", "created", "data", "preset"):
        table.add_column(header)
    for _, header in COLUMNS:
        table.add_column(header, justify="right")
    table.add_column("train s", justify="right")
    for run in runs:
        seconds = "-" if run.train_seconds is None else f"{run.train_seconds:.1f}"
        table.add_row(
            str(run.path) + ("" if run.has_manifest else " *"),
            run.created.replace("T", " ").removesuffix("Z"),
            run.data,
            run.preset,
            *(fmt(run.metrics.get(key)) for key, _ in COLUMNS),
            seconds,
        )
    console.print(table)
    if not all(run.has_manifest for run in runs):
        console.print("* written before manifests: re-run it to get a manifest.toml")
    if plot is not None:
        console.print(f"plot: {plot}")
