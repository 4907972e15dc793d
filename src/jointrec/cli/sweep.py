"""``jointrec sweep``: the RMSE / Recall@10 trade-off over retrieval:rating loss weights."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated

import typer

from jointrec.cli import settings as s

NAME = "sweep"
ORDER = 35
HELP = (
    "Train one joint model per retrieval:rating loss-weight ratio (MovieLens or your own "
    "data) and write the RMSE vs Recall@10 frontier as a table, sweep.json and sweep.png "
    "(validation split by default)."
)


@s.settings_options()
def command(
    settings: s.Flags,
    ratios: Annotated[
        str | None,
        typer.Option("--ratios", help="RETRIEVAL:RATING weight pairs, e.g. '1:0,1:10,0:1'."),
    ] = None,
    on: Annotated[
        str, typer.Option("--on", help="Split to evaluate: 'validation' (tuning) or 'test'.")
    ] = "validation",
    out: Annotated[Path, typer.Option("--out", help="Folder for sweep.json and sweep.png.")] = Path(
        "runs/sweep"
    ),
    quiet: s.Quiet = False,
    json: s.Json = False,
) -> None:
    from rich.table import Table

    from jointrec.cli.render import console, fmt, print_json
    from jointrec.experiments.sweep import DEFAULT_RATIOS, parse_ratios, plot_sweep, sweep

    pairs = parse_ratios(ratios) if ratios else list(DEFAULT_RATIOS)
    result = sweep(
        settings.experiment(),
        pairs,
        on=on,
        progress=not quiet and not json,
        notify=None if json else lambda note: typer.echo(f"note: {note}", err=True),
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "sweep.json").write_text(jsonlib.dumps(result.to_dict(), indent=2))
    plot_sweep(result, out / "sweep.png")
    if json:
        print_json(result.to_dict())
        return
    table = Table(title=f"retrieval:rating sweep on the {on} split (* default, F frontier)")
    for header in ("ratio", "", "RMSE★", "R@10", "NDCG@10", "R@100", "train s"):
        table.add_column(header, justify="right")
    for p in result.points:
        mark = ("*" if p.is_default else "") + ("F" if p.on_frontier else "")
        table.add_row(
            p.ratio,
            mark,
            fmt(p.report.get("rmse")),
            fmt(p.report.get("recall@10")),
            fmt(p.report.get("ndcg@10")),
            fmt(p.report.get("recall@100")),
            f"{p.train_seconds:.1f}",
        )
    console.print(table)
    console.print(
        f"{len(result.points)} models in {result.seconds:.1f} s; wrote {out}/sweep.json "
        "and sweep.png"
    )
