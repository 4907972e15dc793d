"""``jointrec evaluate``: re-compute an artifact's test report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jointrec.cli import options as o

NAME = "evaluate"
ORDER = 20
HELP = "Re-compute the test report of an artifact (same data, same seeded split)."


def command(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory.")],
    data: o.DataPath = None,
    json: o.Json = False,
) -> None:
    from jointrec.cli.render import console, print_json, report_table, tutorial_table
    from jointrec.experiments.train import evaluate_artifact

    report = evaluate_artifact(artifact, data_path=data)
    if json:
        print_json(report)
        return
    console.print(tutorial_table([(artifact.name, report)]))
    console.print(report_table([(artifact.name, report)], title="test report"))
