"""``jointrec recommend``: retrieve, rank and filter for one user."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Annotated

import typer

from jointrec.cli import settings as s

NAME = "recommend"
ORDER = 40
HELP = (
    "Recommend for one user: retrieve candidates they have not rated, predict their stars, "
    "order them (by retrieval score, or by predicted stars with --rank-by rating), and show "
    "the user's own top-rated movies."
)


def command(
    artifact: Annotated[Path, typer.Argument(help="Artifact directory.")],
    user: Annotated[str, typer.Option("--user", "-u", help="Raw user id.")],
    k: Annotated[int, typer.Option("-k", "--k", min=1, max=1000, help="Items to show.")] = 10,
    candidates: Annotated[
        int, typer.Option("--candidates", min=1, help="Items retrieved before ranking.")
    ] = 100,
    include_seen: Annotated[
        bool, typer.Option("--include-seen", help="Keep items the user already rated.")
    ] = False,
    rank_by: Annotated[
        str,
        typer.Option(
            "--rank-by",
            help="Order: 'retrieval' (retrieval score) or 'rating' (predicted stars).",
        ),
    ] = "retrieval",
    json: s.Json = False,
) -> None:
    from rich.console import Console
    from rich.table import Table

    from jointrec.cli.render import print_json
    from jointrec.inference.recommender import RankBy, Recommender

    rec = Recommender.load(artifact)
    items = rec.recommend(
        user,
        k=k,
        exclude_seen=not include_seen,
        candidates=max(candidates, k),
        rank_by=typing.cast(RankBy, rank_by),  # checked by recommend()
        fallback=False,
    ).items
    history = rec.history(user, n=5)
    if json:
        print_json(
            {
                "user": user,
                "recommendations": [r.to_dict() for r in items],
                "top_rated": [vars(h) for h in history],
            }
        )
        return
    console = Console()
    table = Table(title=f"Recommendations for user {user}")
    for name, justify in (
        ("#", "right"),
        ("title", "left"),
        ("predicted ★", "right"),
        ("retrieval score", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for rank, r in enumerate(items, 1):
        table.add_row(
            str(rank),
            r.title or str(r.item_id),
            "-" if r.predicted_rating is None else f"{r.predicted_rating:.2f}",
            f"{r.retrieval_score:.3f}",
        )
    console.print(table)
    seen = Table(title=f"User {user}'s top-rated movies (training data)")
    seen.add_column("title")
    seen.add_column("rating ★", justify="right")
    for h in history:
        seen.add_row(h.title or str(h.item_id), "-" if h.rating is None else f"{h.rating:g}")
    console.print(seen)
