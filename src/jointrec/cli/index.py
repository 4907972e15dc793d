"""``jointrec index``: build an artifact's approximate (HNSW) index and check its recall."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jointrec.cli import settings as s

NAME = "index"
ORDER = 45
HELP = (
    "Build the HNSW index of an artifact (--ann) and print its recall@k against exact "
    "search on the artifact's own embeddings; without --ann, show what is built."
)


def command(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory.")],
    ann: Annotated[bool, typer.Option("--ann", help="Build (or rebuild) the HNSW index.")] = False,
    k: Annotated[int, typer.Option("-k", "--k", min=1, help="Recall@k to measure.")] = 10,
    m: Annotated[int, typer.Option("--m", min=2, help="Graph neighbours per node.")] = 32,
    ef_construction: Annotated[
        int, typer.Option("--ef-construction", min=2, help="Build-time candidate list.")
    ] = 100,
    ef_search: Annotated[
        int, typer.Option("--ef-search", min=2, help="Search-time candidate list.")
    ] = 128,
    queries: Annotated[
        int, typer.Option("--queries", min=1, help="User vectors used to measure recall.")
    ] = 1000,
    storage: Annotated[
        str,
        typer.Option(
            "--storage", help="Vectors in the index: flat (float32) or fp16 (half the memory)."
        ),
    ] = "flat",
    quiet: s.Quiet = False,
    json: s.Json = False,
) -> None:
    import json as jsonlib

    from jointrec.cli.render import console, print_json
    from jointrec.inference.recommender import ANN_DIR

    if ann:
        from jointrec.inference.ann import build_ann

        report = build_ann(
            artifact,
            m=m,
            ef_construction=ef_construction,
            ef_search=ef_search,
            k=k,
            queries=queries,
            progress=not quiet and not json,
            storage=storage,
        )
    else:
        from jointrec.artifact.directory import load_artifact

        art = load_artifact(artifact)
        path = artifact / ANN_DIR / "report.json"
        if not path.is_file():
            if json:
                print_json({"index": "exact", "items": art.exported.num_items - 1})
            else:
                typer.echo(
                    f"{artifact}: exact search over {art.exported.num_items - 1:,} items (no "
                    f"HNSW index; build one with 'jointrec index {artifact} --ann')"
                )
            return
        report = jsonlib.loads(path.read_text())
    if json:
        print_json(report)
        return
    from rich.table import Table

    table = Table(title=f"HNSW index of {artifact} ({report['items']:,} items, M={report['m']})")
    for name in ("ef_search", f"recall@{report['k']}", "p50 ms", "p99 ms"):
        table.add_column(name, justify="right")
    for ef, row in report["sweep"].items():
        mark = " *" if int(ef) == report["ef_search"] else ""
        table.add_row(
            f"{ef}{mark}", f"{row['recall']:.4f}", f"{row['p50_ms']:.3f}", f"{row['p99_ms']:.3f}"
        )
    table.add_row(
        "exact", "1.0000", f"{report['exact']['p50_ms']:.3f}", f"{report['exact']['p99_ms']:.3f}"
    )
    console.print(table)
    console.print(
        f"recall@{report['k']} = {report['recall']:.4f} against exact search over "
        f"{report['queries']} users at ef_search={report['ef_search']} (*); "
        f"built in {report['build_seconds']:.1f} s; {artifact / ANN_DIR}/recall.png"
    )
