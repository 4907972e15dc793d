"""``jointrec evaluate``: re-compute a run's test report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jointrec.cli import settings as s

NAME = "evaluate"
ORDER = 20
HELP = (
    "Re-compute the test report of a run directory (same data, same seeded split); the data "
    "options say where the data is now, if it moved."
)


@s.settings_options(run=False)
def command(
    settings: s.Flags,
    artifact: Annotated[Path, typer.Argument(help="Run directory (artifact).")],
    json: s.Json = False,
    quiet: s.Quiet = False,
) -> None:
    from jointrec.cli.render import console, print_json, report_table, tutorial_table
    from jointrec.experiments.evaluate import evaluate_artifact

    data = None
    if settings.given == ["--data"]:  # the MovieLens release moved: the recorded one, there
        data = settings.values["data"]
    elif settings.given:  # your own files, described again
        data = settings.experiment().data
    report = evaluate_artifact(artifact, data, progress=not quiet and not json)
    if json:
        print_json(report)
        return
    console.print(tutorial_table([(artifact.name, report)]))
    console.print(report_table([(artifact.name, report)], title="test report"))
