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
    read_timeout: Annotated[
        float,
        typer.Option("--read-timeout", min=0.1, help="Seconds a client may take to send a body."),
    ] = 10.0,
    keep_alive: Annotated[
        float, typer.Option("--keep-alive", min=0.1, help="Seconds an idle connection stays open.")
    ] = 5.0,
    access_log: Annotated[bool, typer.Option("--access-log", help="Log every request.")] = False,
    threads: Annotated[
        int,
        typer.Option(
            "--threads",
            min=0,
            help="Threads computing user recommendations (0: on the event loop). Helps a "
            "large HNSW catalogue use a second core.",
        ),
    ] = 0,
) -> None:
    from jointrec.artifact.directory import load_artifact
    from jointrec.errors import JointrecError
    from jointrec.inference.recommender import ANN_DIR, ANN_FILE
    from jointrec.serve.server import run_server

    load_artifact(artifact)  # fail fast with one error line on a bad artifact
    if index not in ("auto", "exact", "hnsw"):
        raise JointrecError(f"--index {index!r} is invalid: expected auto, exact or hnsw")
    if index == "hnsw" and not (artifact / ANN_DIR / ANN_FILE).is_file():
        raise JointrecError(
            f"{artifact} has no HNSW index: build it with 'jointrec index {artifact} --ann'"
        )
    typer.echo(f"serving {artifact} on http://{host}:{port}/ (Ctrl+C stops)", err=True)
    run_server(
        artifact,
        host=host,
        port=port,
        index=index,
        ef_search=ef_search,
        max_body_bytes=max_body,
        read_timeout=read_timeout,
        keep_alive_timeout=keep_alive,
        access_log=access_log,
        threads=threads,
    )
