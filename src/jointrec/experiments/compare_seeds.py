"""`compare_seeds`: `compare` over several seeds (each seed is the split's and the
training's), with each model's mean ± std and, for the joint model against the best
specialist on each metric, the paired difference with a 95% interval over seeds.

Example:
    >>> result = compare_seeds("default", "ml-100k.zip", seeds=(42, 43, 44))  # doctest: +SKIP
    >>> result.paired["rmse"].mean  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jointrec.evaluation.uncertainty import (
    LOWER_IS_BETTER,
    PairedDifference,
    Summary,
    paired,
    summary,
)
from jointrec.experiments.compare import BaselineFactory, Comparison, compare_loaded
from jointrec.experiments.pipeline import DataArg, Notify, Settings, as_experiment, load
from jointrec.plotting import pyplot, save_figure

#: The metrics the paired comparison reports (others are summarised too).
HEADLINE = ("rmse", "recall@10", "ndcg@10", "recall@100")
JOINT = "multi-task"


@dataclass
class SeedComparison:
    """`Comparison` per seed, the per-model summaries and the joint model's paired
    differences against the best other model on each headline metric."""

    seeds: tuple[int, ...]
    runs: list[Comparison] = field(default_factory=list)
    summaries: dict[str, dict[str, Summary]] = field(default_factory=dict)
    best_other: dict[str, str] = field(default_factory=dict)
    paired: dict[str, PairedDifference] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "seeds": list(self.seeds),
            "seconds": self.seconds,
            "data": self.runs[0].data_info if self.runs else {},
            "config": self.runs[0].config.to_dict() if self.runs else {},
            "models": {
                name: {metric: s.to_dict() for metric, s in metrics.items()}
                for name, metrics in self.summaries.items()
            },
            "joint_vs_best_other": {
                metric: {"other": self.best_other[metric], **d.to_dict()}
                for metric, d in self.paired.items()
            },
            "runs": [run.to_dict() for run in self.runs],
        }


def compare_seeds(
    settings: Settings = "default",
    data: DataArg = None,
    *,
    seeds: Sequence[int] = (42, 43, 44, 45, 46),
    baselines: Sequence[tuple[str, BaselineFactory]] = (),
    progress: bool = True,
    notify: Notify | None = None,
) -> SeedComparison:
    """Runs `jointrec.experiments.compare.compare` once per seed and summarises.

    Args:
        settings: As for `compare`.
        data: As for `compare`.
        seeds: Each seed sets ``split.seed`` and ``train.seed``.
        baselines: ``(name, factory)`` pairs fitted on every seed's training part.
        progress: Show progress bars.
        notify: Called with each note about the data.
    """
    start = time.perf_counter()
    experiment, dataset = as_experiment(settings, data)
    loaded = load(experiment, dataset, progress=progress, notify=notify)
    result = SeedComparison(seeds=tuple(int(s) for s in seeds))
    for seed in result.seeds:
        config = loaded.experiment.run.replace(split={"seed": seed}, train={"seed": seed})
        result.runs.append(compare_loaded(loaded, config, baselines=baselines, progress=progress))
    summarise(result)
    result.seconds = time.perf_counter() - start
    return result


def summarise(result: SeedComparison) -> None:
    """Fills ``summaries``, ``best_other`` and ``paired`` from ``result.runs``."""
    names = [row.name for row in result.runs[0].rows]
    for name in names:
        reports = [run.row(name).report for run in result.runs]
        metrics = [m for m in reports[0] if all(m in r for r in reports)]
        result.summaries[name] = {m: summary([r[m] for r in reports]) for m in metrics}
    if JOINT not in result.summaries:
        return
    for metric in HEADLINE:
        if metric not in result.summaries[JOINT]:
            continue
        lower = metric in LOWER_IS_BETTER
        others = [n for n in names if n != JOINT and metric in result.summaries[n]]
        if not others:
            continue
        best = (min if lower else max)(others, key=lambda n: result.summaries[n][metric].mean)
        result.best_other[metric] = best
        result.paired[metric] = paired(
            result.summaries[JOINT][metric].values,
            result.summaries[best][metric].values,
            higher_is_better=not lower,
        )


def plot_seeds(result: SeedComparison, path: str | os.PathLike[str]) -> Path:
    """Writes a PNG: each model's mean ± std (and every seed as a dot) per headline metric."""
    plt = pyplot()
    metrics = [m for m in HEADLINE if any(m in s for s in result.summaries.values())]
    fig, axes = plt.subplots(
        1, len(metrics), figsize=(4.2 * len(metrics), 0.45 * len(result.summaries) + 2)
    )
    axes = list(axes) if len(metrics) > 1 else [axes]
    names = list(result.summaries)  # one row per model on every panel, so labels line up
    for ax, metric in zip(axes, metrics, strict=True):
        for y, name in enumerate(names):
            if metric not in result.summaries[name]:
                continue
            s = result.summaries[name][metric]
            color = "tab:blue" if name == JOINT else "tab:gray"
            ax.errorbar(s.mean, y, xerr=s.std, fmt="o", color=color, capsize=3)
            ax.scatter(s.values, [y] * len(s.values), s=8, color=color, alpha=0.4)
        ax.set_yticks(range(len(names)), names if ax is axes[0] else [""] * len(names))
        ax.set_ylim(len(names) - 0.5, -0.5)
        arrow = "lower" if metric in LOWER_IS_BETTER else "higher"
        ax.set_xlabel(f"{metric} ({arrow} is better)")
        if metric in result.paired:
            d = result.paired[metric]
            ax.set_title(
                f"joint - {result.best_other[metric]}:\n{d.mean:+.4f} [{d.low:+.4f}, "
                f"{d.high:+.4f}], {d.wins}/{d.n}",
                fontsize=8,
            )
    fig.suptitle(f"jointrec compare over seeds {', '.join(map(str, result.seeds))}")
    fig.tight_layout()
    return save_figure(fig, path, dpi=120)
