"""``jointrec transfer``: sparse ratings next to abundant interactions, joint model against
rating specialists trained on the ratings alone, per share of rated training rows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jointrec.cli import settings as s
from jointrec.errors import JointrecError

NAME = "transfer"
ORDER = 35
HELP = (
    "Keep the rating of a seeded share of the training rows (the rest stay, unrated), train "
    "the joint model on every row and rating specialists on the rated rows, and report test "
    "RMSE and Recall@10 / NDCG@10 per share (table, JSON, PNG)."
)


def parse_list(text: str, kind: type, option: str) -> list[float] | list[int]:
    """``"1,0.5"`` -> ``[1.0, 0.5]`` (or ints), with a one-line error naming the option.

    Example:
        >>> parse_list("42, 43", int, "--seeds")
        [42, 43]
    """
    try:
        values = [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        name = "integers" if kind is int else "numbers"
        raise JointrecError(
            f"{option} {text!r} is invalid: expected comma-separated {name}, e.g. "
            + ("42,43,44" if kind is int else "1,0.1")
        ) from None
    if not values:
        raise JointrecError(f"{option} is empty: expected at least one value")
    return values


@s.settings_options()
def command(
    settings: s.Flags,
    fractions: Annotated[
        str,
        typer.Option(
            "--fractions", help="Shares of training rows that keep their rating, each in (0, 1]."
        ),
    ] = "1,0.5,0.2,0.1,0.05,0.02",
    seeds: Annotated[
        str,
        typer.Option("--seeds", help="Seeds: one split, rating subset and model each."),
    ] = "42,43,44",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for transfer.json and transfer.png."),
    ] = None,
    quiet: s.Quiet = False,
    json: s.Json = False,
) -> None:
    from rich.table import Table

    from jointrec.cli.render import console, fmt, print_json
    from jointrec.experiments.transfer import plot_transfer, transfer
    from jointrec.files import write_json

    shares = [float(f) for f in parse_list(fractions, float, "--fractions")]
    seed_list = [int(v) for v in parse_list(seeds, int, "--seeds")]
    if out is not None and out.exists() and not out.is_dir():
        raise JointrecError(f"--out {str(out)!r} is a file: expected a folder (or a new name)")
    result = transfer(
        settings.experiment(),
        fractions=shares,
        seeds=seed_list,
        progress=not quiet and not json,
        notify=None if json else lambda note: typer.echo(f"note: {note}", err=True),
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "transfer.json", result.to_dict())
        plot_transfer(result, out / "transfer.png")
    if json:
        print_json(result.to_dict())
        return
    table = Table(
        title=f"Test RMSE (stars) and the joint model's ranking, mean of seeds "
        f"{', '.join(map(str, result.seeds))}; specialists trained on the rated rows only"
    )
    table.add_column("rated share", justify="right")
    table.add_column("ratings", justify="right")
    for model in result.models:
        table.add_column(f"{model} RMSE", justify="right")
    table.add_column("joint vs best", justify="right")
    table.add_column("joint R@10", justify="right")
    table.add_column("joint NDCG@10", justify="right")
    for row in result.summary():
        f = row["fraction"]
        rated = [c.rated_train for c in result.cells if c.fraction == f]
        margin = row.get("joint_rmse_margin")
        best = row.get("best_specialist")
        cells = [fmt(row[m]["rmse"]) for m in result.models]
        joint = row.get("joint", {})
        table.add_row(
            f"{f:g}",
            f"{int(sum(rated) / max(len(rated), 1)):,}",
            *cells,
            "-" if margin is None else f"{margin:+.3f} ({best})",
            fmt(joint.get("recall@10")),
            fmt(joint.get("ndcg@10")),
        )
    console.print(table)
    console.print(
        f"{len(result.cells)} models in {result.seconds:.1f} s wall; 'joint vs best': the best "
        "specialist's RMSE minus the joint model's (positive: joint is better)"
        + (f"; wrote {out}/transfer.json and transfer.png" if out else "")
    )
