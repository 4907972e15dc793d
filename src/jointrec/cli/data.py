"""``jointrec data``: fetch and inspect datasets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from jointrec.cli import settings as s

NAME = "data"
ORDER = 90
app = typer.Typer(
    help="Fetch (download, verify, cache) and describe datasets.", no_args_is_help=True
)


Release = Annotated[
    str, typer.Option("--dataset", help="MovieLens release: 100k, 1m, 20m, 25m, latest-small.")
]
ReleasePath = Annotated[
    Path | None, typer.Option("--data", help="Local zip or folder of the release.")
]


@app.command("fetch")
def fetch(dataset: Release = "100k", data: ReleasePath = None) -> None:
    """Download a MovieLens release from GroupLens, check its MD5 and cache it."""
    from jointrec.data.registry import movielens_spec
    from jointrec.data.sources import resolve

    spec = movielens_spec(dataset.removeprefix("movielens-"))
    source = resolve(spec, data)
    typer.echo(f"MovieLens {spec.name}: {source.path}")


@app.command("info")
def info(
    dataset: Release = "100k",
    data: ReleasePath = None,
    json: s.Json = False,
) -> None:
    """Counts of users, items and ratings, and the rating distribution."""
    import numpy as np

    from jointrec.cli.render import print_json
    from jointrec.data.load import load_data
    from jointrec.settings import DataConfig

    release = dataset.removeprefix("movielens-").removeprefix("ml-")
    ds, _ = load_data(DataConfig(dataset=release, path=None if data is None else str(data)))
    x = ds.interactions
    ratings: dict[str, int] = {}
    if x.rating is not None:
        values, counts = np.unique(x.rating[x.rated], return_counts=True)
        ratings = {f"{v:g}": int(c) for v, c in zip(values, counts, strict=True)}
    summary = {
        "dataset": ds.name,
        "interactions": len(x),
        "users": len(np.unique(x.user)),
        "items": len(np.unique(x.item)),
        "catalogue": None if ds.items is None else len(ds.items),
        "ratings": ratings,
    }
    if json:
        print_json(summary)
        return
    from rich.table import Table

    from jointrec.cli.render import console

    table = Table(title=f"{ds.name}: {len(x):,} interactions", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    for key in ("users", "items", "catalogue"):
        value = summary[key]
        table.add_row(key, "-" if value is None else f"{value:,}")
    console.print(table)
    if ratings:
        shares = Table(title="ratings")
        for name in ("stars", "count", "share"):
            shares.add_column(name, justify="right")
        for stars, n in ratings.items():
            shares.add_row(stars, f"{n:,}", f"{n / len(x):.1%}")
        console.print(shares)


@app.command("synth")
def synth(
    out: Annotated[Path, typer.Option("--out", help="Parquet file to write.")],
    users: Annotated[int, typer.Option("--users", help="Number of users.")] = 162_541,
    items: Annotated[int, typer.Option("--items", help="Number of items.")] = 62_423,
    interactions: Annotated[
        int, typer.Option("--interactions", help="Number of ratings.")
    ] = 25_000_095,
    rated_fraction: Annotated[
        float,
        typer.Option(
            "--rated-fraction",
            min=0.0,
            max=1.0,
            help="Share of interactions that keep their rating (seeded); the rest are "
            "unrated (null): mixed feedback.",
        ),
    ] = 1.0,
    seed: s.Seed = None,
    quiet: s.Quiet = False,
) -> None:
    """Synthetic ratings (MovieLens-25M shape by default) with power-law popularity and a
    planted low-rank preference structure, streamed to Parquet; with --rated-fraction, only
    that share of the interactions keeps its rating."""
    import time

    from jointrec.data.synthetic import SyntheticSpec, write_synthetic_parquet

    spec = SyntheticSpec(
        users,
        items,
        interactions,
        seed=0 if seed is None else seed,
        rated_fraction=rated_fraction,
    )
    start = time.perf_counter()
    rows = write_synthetic_parquet(spec, out, progress=not quiet)
    what = "ratings" if rated_fraction >= 1.0 else f"interactions ({rated_fraction:.0%} rated)"
    typer.echo(
        f"wrote {rows} {what} of {users} users x {items} items to {out} "
        f"in {time.perf_counter() - start:.1f} s"
    )
