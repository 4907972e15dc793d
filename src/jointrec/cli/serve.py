"""``jointrec serve``: the HTTP API (and web page) for one artifact."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

NAME = "serve"
ORDER = 50
HELP = (
    "Serve an artifact over HTTP: recommendations, cold start, predictions, similar items, "
    "/health and /metrics. Binds 127.0.0.1 unless --host says otherwise."
)


def command(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory.")],
    host: Annotated[
        str, typer.Option("--host", help="Interface to bind (0.0.0.0 exposes it to the network).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="TCP port.")] = 8000,
    index: Annotated[
        str, typer.Option("--index", help="Retrieval index: auto, exact or hnsw.")
    ] = "auto",
    ef_search: Annotated[
        int | None, typer.Option("--ef-search", min=2, help="HNSW search breadth.")
    ] = None,
    max_body: Annotated[
        int, typer.Option("--max-body", min=1024, help="Largest request body in bytes.")
    ] = 65536,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
) -> None:
    from jointrec.artifact import load_artifact
    from jointrec.serve.server import run_server

    load_artifact(artifact)  # fail fast with one error line on a bad artifact
    typer.echo(f"serving {artifact} on http://{host}:{port}/ (Ctrl+C stops)", err=True)
    run_server(
        artifact,
        host=host,
        port=port,
        index=index,
        ef_search=ef_search,
        max_body_bytes=max_body,
        access_log=access_log,
    )
