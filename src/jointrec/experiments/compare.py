"""`compare`: the tutorial's experiment: rating-only, retrieval-only and joint models on one
split, evaluated by one evaluator, with optional baselines in the same table.

Example:
    >>> from jointrec import preset
    >>> result = compare(preset("tutorial"), data_path=ZIP)  # doctest: +SKIP
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

from jointrec.data.interactions import Dataset
from jointrec.experiments.pipeline import PreparedData, prepare_data, train_model
from jointrec.scoring.scorer import Scorer
from jointrec.settings import RunConfig

BaselineFactory = Callable[[PreparedData], Scorer]

#: (row name, retrieval weight, rating weight); ``None`` keeps the preset's weight.
SPECIALISTS: tuple[tuple[str, float | None, float | None], ...] = (
    ("rating-specialised", 0.0, 1.0),
    ("retrieval-specialised", 1.0, 0.0),
    ("multi-task", None, None),
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
    config: RunConfig,
    *,
    dataset: Dataset | None = None,
    dataset_name: str = "100k",
    data_path: str | os.PathLike[str] | None = None,
    progress: bool = True,
    baselines: Sequence[tuple[str, BaselineFactory]] = (),
) -> Comparison:
    """Trains the three models of the tutorial (and fits ``baselines``) on one split.

    Args:
        config: Run settings; the joint row uses its loss weights.
        dataset: Data to use; by default the named MovieLens release.
        dataset_name: MovieLens release when ``dataset`` is not given.
        data_path: Local zip or folder of that release.
        progress: Show progress bars.
        baselines: ``(name, factory)`` pairs; each factory fits a `Scorer` on the prepared
            training data.
    """
    from jointrec.evaluation.evaluate import evaluate
    from jointrec.experiments.train import data_info, load_dataset

    start = time.perf_counter()
    if dataset is None:
        dataset = load_dataset(dataset_name, data_path, progress=progress)
    data = prepare_data(dataset, config.split)
    result = Comparison(config=config, data_info=data_info(dataset, data, data_path))
    for name, w_ret, w_rat in SPECIALISTS:
        trained = train_model(
            data, config, name=name, retrieval_weight=w_ret, rating_weight=w_rat, progress=progress
        )
        result.rows.append(ComparisonRow(name, "jointrec", trained.report, trained.train_seconds))
    for name, factory in baselines:
        fit_start = time.perf_counter()
        scorer = factory(data)
        seconds = time.perf_counter() - fit_start
        report = evaluate(scorer, data.train, data.test, config.eval)
        result.rows.append(ComparisonRow(name, "baseline", report, seconds))
    result.seconds = time.perf_counter() - start
    return result


def plot_comparison(comparison: Comparison, path: str | os.PathLike[str]) -> Path:
    """Writes a PNG: Recall@10 and RMSE (stars) per model, side by side."""
    from jointrec.plotting import pyplot, save_figure

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
