"""``jointrec launch -n 2 -- train ...``: data-parallel training in N local processes."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

NAME = "launch"
ORDER = 12
HELP = (
    "Run `train` as N cooperating processes on this machine (data-parallel, one global "
    "batch): jointrec launch -n 2 -- train --data ml-100k.zip. Worker 0 writes the artifact; "
    "if any worker fails, all are stopped and launch exits non-zero."
)


def command(
    args: Annotated[
        list[str] | None,
        typer.Argument(help="The command after --, e.g. -- train --data ml-100k.zip."),
    ] = None,
    num_processes: Annotated[
        int, typer.Option("--num-processes", "-n", min=1, help="Processes to start.")
    ] = 2,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Coordinator port (default: a free one)."),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=1.0, help="Stop all workers and fail after this many s."),
    ] = None,
    log_dir: Annotated[
        Path | None,
        typer.Option("--log-dir", help="Where workers 1.. write their output (default: temp)."),
    ] = None,
) -> None:
    from jointrec.experiments.launcher import launch

    launch(args or [], num_processes, port=port, timeout=timeout, log_dir=log_dir)
