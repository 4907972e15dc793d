"""`compare`: the tutorial's experiment: rating-only, retrieval-only and joint models on one
split, evaluated by one evaluator, with optional baselines in the same table.

Example:
    >>> from jointrec import preset
    >>> result = compare("tutorial", "ml-100k.zip")  # doctest: +SKIP
    >>> [row.name for row in result.rows]  # doctest: +SKIP
    ['rating-specialised', 'retrieval-specialised', 'multi-task']
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jointrec.baselines.base import FitData
from jointrec.evaluation.evaluate import evaluate
from jointrec.experiments.pipeline import (
    DataArg,
    Loaded,
    Notify,
    Settings,
    as_experiment,
    load,
    prepare_data,
    train_model,
)
from jointrec.plotting import pyplot, save_figure
from jointrec.scoring.scorer import Scorer
from jointrec.settings import RunConfig
from jointrec.settings.presets import specialist

BaselineFactory = Callable[[FitData], Scorer | None]

#: (row name, retrieval weight, rating weight, task); ``None`` keeps the preset's weight. A
#: specialist trains with its task's own tuned settings (`jointrec.settings.specialist`).
SPECIALISTS: tuple[tuple[str, float | None, float | None, str | None], ...] = (
    ("rating-specialised", 0.0, 1.0, "rating"),
    ("retrieval-specialised", 1.0, 0.0, "retrieval"),
    ("multi-task", None, None, None),
)


@dataclass
class ComparisonRow:
    """One model's report in a comparison."""

    name: str
    kind: str
    report: dict[str, float]
    train_seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "name": self.name,
            "kind": self.kind,
            "train_seconds": self.train_seconds,
            "metrics": self.report,
        }


@dataclass
class Comparison:
    """Reports of several models on the same split."""

    config: RunConfig
    rows: list[ComparisonRow] = field(default_factory=list)
    data_info: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def row(self, name: str) -> ComparisonRow:
        """The row called ``name``."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "preset": self.config.preset,
            "config": self.config.to_dict(),
            "data": self.data_info,
            "seconds": self.seconds,
            "models": [row.to_dict() for row in self.rows],
        }


def compare(
    settings: Settings = "default",
    data: DataArg = None,
    *,
    baselines: Sequence[tuple[str, BaselineFactory]] = (),
    progress: bool = True,
    notify: Notify | None = None,
) -> Comparison:
    """Trains the three models of the tutorial (and fits ``baselines``) on one split.

    Args:
        settings: A preset name, an experiment file, a `RunConfig` or an `Experiment`; the
            joint row uses its loss weights.
        data: The data when the settings do not say: a MovieLens zip or folder, a
            `jointrec.settings.DataConfig` (your own files) or a `jointrec.data.Dataset`.
        baselines: ``(name, factory)`` pairs; each factory fits a `Scorer` on the prepared
            training data, or returns ``None`` where it does not apply (the row is left out).
        progress: Show progress bars.
        notify: Called with each note about the data before training.
    """
    start = time.perf_counter()
    experiment, dataset = as_experiment(settings, data)
    loaded = load(experiment, dataset, progress=progress, notify=notify)
    result = compare_loaded(loaded, baselines=baselines, progress=progress)
    result.seconds = time.perf_counter() - start
    return result


def compare_loaded(
    loaded: Loaded,
    config: RunConfig | None = None,
    *,
    baselines: Sequence[tuple[str, BaselineFactory]] = (),
    progress: bool = True,
) -> Comparison:
    """`compare` on data already loaded, with ``config`` (default: the experiment's)."""
    start = time.perf_counter()
    config = loaded.experiment.run if config is None else config
    prepared = prepare_data(loaded.dataset, config.split, progress=progress)
    result = Comparison(config=config, data_info=prepared.info(loaded.experiment.data.path))
    for name, w_ret, w_rat, task in SPECIALISTS:
        if w_ret == 0.0 and not prepared.has_ratings:
            continue  # no ratings: there is no rating specialist to train
        trained = train_model(
            prepared,
            config if task is None else specialist(config, task),
            name=name,
            retrieval_weight=w_ret,
            rating_weight=w_rat,
            progress=progress,
        )
        result.rows.append(ComparisonRow(name, "jointrec", trained.report, trained.train_seconds))
    for name, factory in baselines:
        fit_start = time.perf_counter()
        scorer = factory(prepared)
        if scorer is None:  # not applicable to this split (e.g. recent popularity, random)
            continue
        seconds = time.perf_counter() - fit_start
        report = evaluate(scorer, prepared.train, prepared.test, config.eval)
        result.rows.append(ComparisonRow(name, "baseline", report, seconds))
    result.seconds = time.perf_counter() - start
    return result


def plot_comparison(comparison: Comparison, path: str | os.PathLike[str]) -> Path:
    """Writes a PNG: Recall@10 and RMSE (stars) per model, side by side."""
    plt = pyplot()

    names = [row.name for row in comparison.rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.5 * len(names) + 2.2))
    for ax, metric, label in (
        (axes[0], "recall@10", "Recall@10 (higher is better)"),
        (axes[1], "rmse", "RMSE, stars (lower is better)"),
    ):
        values = [row.report.get(metric, float("nan")) for row in comparison.rows]
        colors = ["tab:blue" if row.kind == "jointrec" else "tab:gray" for row in comparison.rows]
        ax.barh(names, values, color=colors)
        ax.set_xlabel(label)
        ax.invert_yaxis()
        for y, value in enumerate(values):
            if value == value:  # not NaN
                ax.text(value, y, f" {value:.3f}", va="center", fontsize=8)
    axes[1].set_yticklabels([])
    fig.suptitle(
        f"jointrec compare, preset {comparison.config.preset!r}, "
        f"{comparison.data_info.get('dataset', '')}"
    )
    return save_figure(fig, path, dpi=120)
