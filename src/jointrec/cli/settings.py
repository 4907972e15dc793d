"""The settings options, and the one way command-line flags become settings.

Every command that trains (``train``, ``compare``, ``sweep``) takes the same options: an
experiment file (``--config``), a preset, the data (MovieLens or your own files) and the
common training flags. `settings_options` adds them to a command and hands the command one
`Flags` object; `Flags.experiment` resolves them with
`jointrec.settings.resolve_experiment`, the resolver the Python API uses too (flags win over
the file, which wins over the preset). ``evaluate`` takes the data options only.

Example:
    >>> flag_settings(epochs=3, seed=7, rating_col="r", preset=None)
    {'data': {'rating_col': 'r'}, 'train': {'epochs': 3, 'seed': 7}, 'split': {'seed': 7}}
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from jointrec.settings import Experiment

DATA_PANEL = "Data"
SETTINGS_PANEL = "Settings"

Config = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Experiment TOML file (or a run's manifest.toml); flags override it.",
        rich_help_panel=SETTINGS_PANEL,
    ),
]
Preset = Annotated[
    str | None,
    typer.Option(
        "--preset", help="Settings preset: 'default' or 'tutorial'.", rich_help_panel=SETTINGS_PANEL
    ),
]
Name = Annotated[
    str | None,
    typer.Option(
        "--name", help="Run name (default: the file's name).", rich_help_panel=SETTINGS_PANEL
    ),
]
DataPath = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Local zip or folder of the MovieLens release (default: cache, then download "
        "from GroupLens).",
        rich_help_panel=DATA_PANEL,
    ),
]
DatasetName = Annotated[
    str | None,
    typer.Option(
        "--dataset",
        help="MovieLens release: 100k, 1m, 20m, 25m, latest-small.",
        rich_help_panel=DATA_PANEL,
    ),
]
Interactions = Annotated[
    Path | None,
    typer.Option(
        "--interactions",
        help="Your interaction log: CSV, TSV or Parquet (instead of MovieLens).",
        rich_help_panel=DATA_PANEL,
    ),
]
UserCol = Annotated[
    str | None,
    typer.Option("--user-col", help="Column of user ids.", rich_help_panel=DATA_PANEL),
]
ItemCol = Annotated[
    str | None,
    typer.Option("--item-col", help="Column of item ids.", rich_help_panel=DATA_PANEL),
]
RatingCol = Annotated[
    str | None,
    typer.Option(
        "--rating-col",
        help="Column of ratings; without it, retrieval only.",
        rich_help_panel=DATA_PANEL,
    ),
]
TimeCol = Annotated[
    str | None,
    typer.Option(
        "--time-col", help="Column of times (for temporal splits).", rich_help_panel=DATA_PANEL
    ),
]
RatingScale = Annotated[
    tuple[float, float] | None,
    typer.Option(
        "--rating-scale",
        help="Lowest and highest rating (default: from the data).",
        rich_help_panel=DATA_PANEL,
    ),
]
Duplicates = Annotated[
    str | None,
    typer.Option(
        "--duplicates",
        help="A (user, item) pair on several rows: 'error' (default), 'keep_last' or 'keep_first'.",
        rich_help_panel=DATA_PANEL,
    ),
]
UserFeatures = Annotated[
    Path | None,
    typer.Option(
        "--user-features",
        help="User feature table (CSV/Parquet, one row per user).",
        rich_help_panel=DATA_PANEL,
    ),
]
ItemFeatures = Annotated[
    Path | None,
    typer.Option(
        "--item-features",
        help="Item feature table (CSV/Parquet, one row per item).",
        rich_help_panel=DATA_PANEL,
    ),
]
Epochs = Annotated[
    int | None,
    typer.Option("--epochs", min=1, help="Training epochs.", rich_help_panel=SETTINGS_PANEL),
]
BatchSize = Annotated[
    int | None,
    typer.Option("--batch-size", min=2, help="Examples per step.", rich_help_panel=SETTINGS_PANEL),
]
LearningRate = Annotated[
    float | None,
    typer.Option("--learning-rate", help="Step size (> 0).", rich_help_panel=SETTINGS_PANEL),
]
Optimizer = Annotated[
    str | None,
    typer.Option(
        "--optimizer",
        help="adam, adamw, adagrad, sgd or rmsprop.",
        rich_help_panel=SETTINGS_PANEL,
    ),
]
EmbeddingDim = Annotated[
    int | None,
    typer.Option(
        "--embedding-dim",
        min=1,
        help="Width of user and item vectors.",
        rich_help_panel=SETTINGS_PANEL,
    ),
]
RetrievalWeight = Annotated[
    float | None,
    typer.Option(
        "--retrieval-weight", help="Retrieval loss weight (>= 0).", rich_help_panel=SETTINGS_PANEL
    ),
]
RatingWeight = Annotated[
    float | None,
    typer.Option(
        "--rating-weight", help="Rating loss weight (>= 0).", rich_help_panel=SETTINGS_PANEL
    ),
]
Seed = Annotated[
    int | None,
    typer.Option(
        "--seed", help="Seed of the split and the training.", rich_help_panel=SETTINGS_PANEL
    ),
]
SplitMethodOption = Annotated[
    str | None,
    typer.Option(
        "--split",
        help="How to split: 'random' (the tutorial's), 'temporal' (global time cut: the latest "
        "--test-fraction of ratings is test) or 'leave_last_n' (each user's last --leave-n).",
        rich_help_panel=SETTINGS_PANEL,
    ),
]
TestFraction = Annotated[
    float | None,
    typer.Option(
        "--test-fraction",
        help="Share of interactions in test ('random' and 'temporal').",
        rich_help_panel=SETTINGS_PANEL,
    ),
]
LeaveN = Annotated[
    int | None,
    typer.Option(
        "--leave-n",
        help="Interactions per user held out by 'leave_last_n'.",
        rich_help_panel=SETTINGS_PANEL,
    ),
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]

#: The data options, by parameter name.
DATA_OPTIONS: dict[str, Any] = {
    "data": DataPath,
    "dataset": DatasetName,
    "interactions": Interactions,
    "user_col": UserCol,
    "item_col": ItemCol,
    "rating_col": RatingCol,
    "time_col": TimeCol,
    "rating_scale": RatingScale,
    "duplicates": Duplicates,
    "user_features": UserFeatures,
    "item_features": ItemFeatures,
}
#: The options of the run settings, by parameter name.
RUN_OPTIONS: dict[str, Any] = {
    "config": Config,
    "preset": Preset,
    "name": Name,
    "epochs": Epochs,
    "batch_size": BatchSize,
    "learning_rate": LearningRate,
    "optimizer": Optimizer,
    "embedding_dim": EmbeddingDim,
    "retrieval_weight": RetrievalWeight,
    "rating_weight": RatingWeight,
    "seed": Seed,
    "split": SplitMethodOption,
    "test_fraction": TestFraction,
    "leave_n": LeaveN,
}


@dataclass(frozen=True)
class Flags:
    """The settings options as given on the command line (``None``: not given).

    Args:
        values: Option values by parameter name.
    """

    values: dict[str, Any]

    @property
    def given(self) -> list[str]:
        """The options given, as ``--name`` flags."""
        return ["--" + k.replace("_", "-") for k, v in self.values.items() if v is not None]

    def experiment(self, **extra: Any) -> Experiment:
        """The experiment of ``--config`` (if any) with the other flags (and ``extra``, e.g.
        ``out``) on top."""
        from jointrec.settings import resolve_experiment

        values = {**self.values, **extra}
        config = values.pop("config", None)
        return resolve_experiment(config, flag_settings(**values))


def settings_options(*, run: bool = True) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Adds the data options (and with ``run``, the run settings options) to a command,
    which receives them as one ``settings: Flags`` argument.

    Args:
        run: Also add ``--config``, ``--preset``, ``--name`` and the training flags.
    """
    options = {**DATA_OPTIONS, **(RUN_OPTIONS if run else {})}

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        hints = typing.get_type_hints(command, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in inspect.signature(command).parameters.values()
            if p.name != "settings"
        ]
        added = [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=tp)
            for name, tp in options.items()
        ]

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> None:
            flags = Flags({name: kwargs.pop(name) for name in options})
            command(settings=flags, **kwargs)

        params = [p for p in own if p.kind != inspect.Parameter.KEYWORD_ONLY]
        params += [p for p in own if p.kind == inspect.Parameter.KEYWORD_ONLY] + added
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in params]
        wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in params}
        return wrapper

    return decorate


def flag_settings(**flags: Any) -> dict[str, Any]:
    """Settings of the given (not ``None``) flags, shaped like an experiment file.

    Example:
        >>> flag_settings(embedding_dim=16, rating_weight=5.0)
        {'model': {'towers': {'embedding_dim': 16}, 'multitask': {'rating_weight': 5.0}}}
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
    for key in ("dataset", "user_col", "item_col", "rating_col", "time_col", "duplicates"):
        if key in given:
            data[key] = given[key]
    if "rating_scale" in given:
        data["rating_scale"] = list(given["rating_scale"])
    model: dict[str, Any] = {}
    if "embedding_dim" in given:
        model["towers"] = {"embedding_dim": given["embedding_dim"]}
    weights = {k: given[k] for k in ("retrieval_weight", "rating_weight") if k in given}
    if weights:
        model["multitask"] = weights
    split: dict[str, Any] = {
        k: given[k] for k in ("seed", "test_fraction", "leave_n") if k in given
    }
    if "split" in given:
        split["method"] = given["split"]
    sections = {
        "data": data,
        "train": {
            k: given[k]
            for k in ("epochs", "batch_size", "learning_rate", "optimizer", "seed")
            if k in given
        },
        "model": model,
        "split": split,
    }
    settings.update({name: values for name, values in sections.items() if values})
    return settings
