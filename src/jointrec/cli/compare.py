"""``jointrec compare``: the tutorial's three models on one split, plus the full report."""

from __future__ import annotations

import json as jsonlib
from pathlib import Path
from typing import Annotated

import typer

from jointrec.cli import settings as s

NAME = "compare"
ORDER = 30
HELP = (
    "Train rating-only, retrieval-only and joint models on one split (MovieLens or your own "
    "data) and compare them in the tutorial's table and the full report."
)


@s.settings_options()
def command(
    settings: s.Flags,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for compare.json and compare.png.")
    ] = None,
    baselines: Annotated[
        bool,
        typer.Option(
            "--baselines",
            help="Also fit the baselines (popularity, biased MF, EASE on all ratings and on "
            "positives, item-based AutoRec; each tuned on a validation "
            "part of train) and put them in the same table.",
        ),
    ] = False,
    quiet: s.Quiet = False,
    json: s.Json = False,
) -> None:
    from jointrec.cli.render import console, print_json, report_table, tutorial_table
    from jointrec.experiments.compare import compare, plot_comparison

    experiment = settings.experiment()
    extra = []
    if baselines:
        from jointrec.baselines import BASELINES

        extra = list(BASELINES.items())
    result = compare(
        experiment,
        baselines=extra,
        progress=not quiet and not json,
        notify=None if json else lambda note: typer.echo(f"note: {note}", err=True),
    )
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.json").write_text(jsonlib.dumps(result.to_dict(), indent=2))
        plot_comparison(result, out / "compare.png")
    if json:
        print_json(result.to_dict())
        return
    rows = [(row.name, row.report) for row in result.rows]
    config = result.config
    console.print(tutorial_table(rows, config.eval.tutorial_k))
    console.print(
        report_table(
            rows,
            title="Full report: full catalogue, training items excluded, relevant = rating "
            f">= {config.eval.relevance_min_rating:g}",
        )
    )
    console.print(
        f"preset {config.preset!r}: {len(result.rows)} models in {result.seconds:.1f} s wall"
        + (f"; wrote {out}/compare.json and compare.png" if out else "")
    )
