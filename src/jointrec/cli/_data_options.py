"""Options of ``jointrec train`` for experiment files and your own data, and how all the
training flags become settings shaped like an experiment file (flags win over the file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

Config = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Experiment TOML file (or a run's manifest.toml); flags override it.",
    ),
]
Name = Annotated[str | None, typer.Option("--name", help="Run name (default: the file's name).")]
Out = Annotated[
    Path | None,
    typer.Option(
        "--out",
        "-o",
        help="Run directory to write (default: runs/<name> with --config, else runs/joint).",
    ),
]
Preset = Annotated[
    str | None, typer.Option("--preset", help="Settings preset: 'default' or 'tutorial'.")
]
Dataset = Annotated[
    str | None,
    typer.Option("--dataset", help="MovieLens release: 100k, 1m, 20m, 25m, latest-small."),
]
Interactions = Annotated[
    Path | None,
    typer.Option(
        "--interactions", help="Your interaction log: CSV, TSV or Parquet (instead of MovieLens)."
    ),
]
UserCol = Annotated[str | None, typer.Option("--user-col", help="Column of user ids.")]
ItemCol = Annotated[str | None, typer.Option("--item-col", help="Column of item ids.")]
RatingCol = Annotated[
    str | None,
    typer.Option("--rating-col", help="Column of ratings; without it, retrieval only."),
]
TimeCol = Annotated[
    str | None, typer.Option("--time-col", help="Column of times (for temporal splits).")
]
RatingScale = Annotated[
    tuple[float, float] | None,
    typer.Option("--rating-scale", help="Lowest and highest rating (default: from the data)."),
]
UserFeatures = Annotated[
    Path | None,
    typer.Option("--user-features", help="User feature table (CSV/Parquet, one row per user)."),
]
ItemFeatures = Annotated[
    Path | None,
    typer.Option("--item-features", help="Item feature table (CSV/Parquet, one row per item)."),
]


def flag_settings(**flags: Any) -> dict[str, Any]:
    """Settings of the given (not ``None``) flags, shaped like an experiment file.

    Example:
        >>> flag_settings(epochs=3, seed=7, rating_col="r", preset=None)
        {'data': {'rating_col': 'r'}, 'train': {'epochs': 3, 'seed': 7}, 'split': {'seed': 7}}
    """
    given = {k: v for k, v in flags.items() if v is not None}
    settings: dict[str, Any] = {k: str(given[k]) for k in ("name", "preset", "out") if k in given}
    data: dict[str, Any] = {}
    for key in ("interactions", "data", "user_features", "item_features"):
        if key in given:
            path = str(Path(given[key]).expanduser().resolve())
            if key in ("user_features", "item_features"):
                data[key] = {"path": path}
            else:
                data["path" if key == "data" else key] = path
    for key in ("dataset", "user_col", "item_col", "rating_col", "time_col"):
        if key in given:
            data[key] = given[key]
    if "rating_scale" in given:
        data["rating_scale"] = list(given["rating_scale"])
    sections = {
        "data": data,
        "train": {
            k: given[k]
            for k in ("epochs", "batch_size", "learning_rate", "optimizer", "seed")
            if k in given
        },
        "model": {
            k: given[k]
            for k in ("embedding_dim", "retrieval_weight", "rating_weight")
            if k in given
        },
        "split": {"seed": given["seed"]} if "seed" in given else {},
    }
    settings.update({name: values for name, values in sections.items() if values})
    return settings
