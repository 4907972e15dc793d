"""`sweep`: one joint model per retrieval:rating loss-weight ratio, and the trade-off
frontier between rating error (RMSE) and retrieval quality (Recall@10).

Models are evaluated on the validation split by default (carved from training, so choosing
a ratio never reads test); ``on="test"`` reports the test split for a final table.

Example:
    >>> result = sweep("default", [(1, 0), (1, 1), (0, 1)], "ml-100k.zip")  # doctest: +SKIP
    >>> [p.ratio for p in result.frontier()]  # doctest: +SKIP
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jointrec.errors import JointrecError
from jointrec.experiments.pipeline import (
    DataArg,
    Notify,
    Settings,
    as_experiment,
    load,
    prepare_data,
    train_model,
)
from jointrec.plotting import pyplot, save_figure
from jointrec.progress import progress_task
from jointrec.settings import RunConfig

DEFAULT_RATIOS: tuple[tuple[float, float], ...] = (
    (1.0, 0.0),
    (1.0, 0.1),
    (1.0, 1.0),
    (1.0, 3.0),
    (1.0, 10.0),
    (1.0, 30.0),
    (1.0, 100.0),
    (0.0, 1.0),
)


def parse_ratios(text: str) -> list[tuple[float, float]]:
    """Parses ``"1:0,1:10,0:1"`` into ``[(1, 0), (1, 10), (0, 1)]``.

    Example:
        >>> parse_ratios("1:0, 1:2.5")
        [(1.0, 0.0), (1.0, 2.5)]
    """
    out = []
    for part in text.split(","):
        try:
            a, b = (float(v) for v in part.strip().split(":"))
        except ValueError:
            raise JointrecError(
                f"ratio {part.strip()!r} is invalid: expected RETRIEVAL:RATING weights such "
                "as 1:10, comma-separated"
            ) from None
        if a < 0 or b < 0 or a + b == 0:
            raise JointrecError(f"ratio {part.strip()!r}: weights must be >= 0, not both 0")
        out.append((a, b))
    return out


@dataclass
class SweepPoint:
    """One trained model of a sweep."""

    retrieval_weight: float
    rating_weight: float
    report: dict[str, float]
    train_seconds: float
    on_frontier: bool = False
    is_default: bool = False

    @property
    def ratio(self) -> str:
        """``"retrieval:rating"`` as written on the command line."""
        return f"{self.retrieval_weight:g}:{self.rating_weight:g}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "ratio": self.ratio,
            "retrieval_weight": self.retrieval_weight,
            "rating_weight": self.rating_weight,
            "on_frontier": self.on_frontier,
            "is_default": self.is_default,
            "train_seconds": self.train_seconds,
            "metrics": self.report,
        }


@dataclass
class Sweep:
    """All points of a sweep, evaluated on one split."""

    config: RunConfig
    split_name: str
    points: list[SweepPoint] = field(default_factory=list)
    seconds: float = 0.0

    def frontier(self) -> list[SweepPoint]:
        """Points not dominated in (lower RMSE, higher Recall@10), by increasing RMSE."""
        rated = [p for p in self.points if "rmse" in p.report and "recall@10" in p.report]
        front = [
            p
            for p in rated
            if not any(
                q.report["rmse"] <= p.report["rmse"]
                and q.report["recall@10"] >= p.report["recall@10"]
                and (q.report["rmse"], q.report["recall@10"])
                != (p.report["rmse"], p.report["recall@10"])
                for q in rated
            )
        ]
        return sorted(front, key=lambda p: p.report["rmse"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "split": self.split_name,
            "config": self.config.to_dict(),
            "seconds": self.seconds,
            "points": [p.to_dict() for p in self.points],
            "frontier": [p.ratio for p in self.frontier()],
        }


def sweep(
    settings: Settings = "default",
    ratios: Sequence[tuple[float, float]] = DEFAULT_RATIOS,
    data: DataArg = None,
    *,
    on: str = "validation",
    progress: bool = True,
    notify: Notify | None = None,
) -> Sweep:
    """Trains one joint model per ``(retrieval_weight, rating_weight)`` ratio.

    Args:
        settings: A preset name, an experiment file, a `RunConfig` or an `Experiment`; its
            own weights mark the default point (added if missing).
        ratios: Weight pairs to train.
        data: The data when the settings do not say: a MovieLens zip or folder, a
            `jointrec.settings.DataConfig` (your own files) or a `jointrec.data.Dataset`.
        on: ``"validation"`` (a ``validation_fraction`` of 0.1 is carved from training if the
            settings have none) or ``"test"``.
        progress: Show progress bars.
        notify: Called with each note about the data before training.
    """
    if on not in ("validation", "test"):
        raise JointrecError(f"on={on!r} is invalid: expected 'validation' or 'test'")
    start = time.perf_counter()
    experiment, dataset = as_experiment(settings, data)
    loaded = load(experiment, dataset, progress=progress, notify=notify)
    config = loaded.experiment.run
    if on == "validation" and config.split.validation_fraction == 0:
        config = config.replace(split={"validation_fraction": 0.1})
    prepared = prepare_data(loaded.dataset, config.split, progress=progress)
    default = (config.model.multitask.retrieval_weight, config.model.multitask.rating_weight)
    pairs = list(dict.fromkeys([*(tuple(map(float, r)) for r in ratios), default]))
    result = Sweep(config=config, split_name=on)
    with progress_task("sweep", total=len(pairs), enabled=progress) as bar:
        for w_ret, w_rat in pairs:
            trained = train_model(
                prepared,
                config,
                name=f"{w_ret:g}:{w_rat:g}",
                retrieval_weight=w_ret,
                rating_weight=w_rat,
                progress=False,
                evaluate_on=on,
            )
            result.points.append(
                SweepPoint(
                    w_ret,
                    w_rat,
                    trained.report,
                    trained.train_seconds,
                    is_default=(w_ret, w_rat) == default,
                )
            )
            bar.advance(1, description=f"sweep {w_ret:g}:{w_rat:g}")
    for point in result.frontier():
        point.on_frontier = True
    result.seconds = time.perf_counter() - start
    return result


def load_sweep(path: str | os.PathLike[str]) -> Sweep:
    """Reads a ``sweep.json`` written by ``jointrec sweep`` (e.g. to re-plot it)."""
    import json

    data = json.loads(Path(path).read_text())
    result = Sweep(RunConfig.from_dict(data["config"]), data["split"], seconds=data["seconds"])
    for p in data["points"]:
        result.points.append(
            SweepPoint(
                p["retrieval_weight"],
                p["rating_weight"],
                p["metrics"],
                p["train_seconds"],
                p["on_frontier"],
                p["is_default"],
            )
        )
    return result


def plot_sweep(result: Sweep, path: str | os.PathLike[str]) -> Path:
    """Writes a PNG of RMSE (x) against Recall@10 (y): all points on the left, the region
    around the frontier enlarged on the right; frontier joined, default starred."""
    plt = pyplot()

    rated = [p for p in result.points if "rmse" in p.report and "recall@10" in p.report]
    front = result.frontier()
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    for ax in axes:
        for p in rated:
            x, y = p.report["rmse"], p.report["recall@10"]
            ax.scatter(x, y, color="tab:blue" if p.on_frontier else "tab:gray", zorder=3)
            ax.annotate(p.ratio, (x, y), textcoords="offset points", xytext=(5, 4), fontsize=8)
        if front:
            ax.plot(
                [p.report["rmse"] for p in front],
                [p.report["recall@10"] for p in front],
                color="tab:blue",
                label="frontier",
                zorder=2,
            )
        for p in rated:
            if p.is_default:
                ax.scatter(
                    p.report["rmse"],
                    p.report["recall@10"],
                    marker="*",
                    s=250,
                    color="tab:red",
                    label=f"default {p.ratio}",
                    zorder=4,
                )
        ax.set_xlabel(f"RMSE, stars ({result.split_name}; lower is better)")
        ax.set_ylabel(f"Recall@10 ({result.split_name}; higher is better)")
        ax.grid(alpha=0.3)
    axes[0].set_title("all ratios")
    axes[1].set_title("near the frontier")
    if rated:
        best_rmse = min(p.report["rmse"] for p in rated)
        best_recall = max(p.report["recall@10"] for p in rated)
        near = [
            p
            for p in rated
            if p.report["rmse"] <= best_rmse + 0.03 and p.report["recall@10"] >= best_recall - 0.03
        ] or rated
        xs = [p.report["rmse"] for p in near]
        ys = [p.report["recall@10"] for p in near]
        pad_x, pad_y = max(0.002, (max(xs) - min(xs)) * 0.2), max(0.002, (max(ys) - min(ys)) * 0.2)
        axes[1].set_xlim(min(xs) - pad_x, max(xs) + pad_x)
        axes[1].set_ylim(min(ys) - pad_y, max(ys) + pad_y)
    axes[1].legend(loc="best", fontsize=8)
    fig.suptitle(f"retrieval:rating loss-weight sweep, preset {result.config.preset!r}")
    return save_figure(fig, path)
