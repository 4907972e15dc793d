"""Past runs: the run directories under a folder, with their key metrics, as a list and a
plot (``jointrec runs``).

Example:
    >>> runs = list_runs("runs")  # doctest: +SKIP
    >>> runs[0].metrics["recall@10"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jointrec.errors import JointrecError
from jointrec.experiments.manifest import MANIFEST
from jointrec.plotting import pyplot, save_figure

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

PLOTTED = ("recall@10", "ndcg@10", "rmse")


@dataclass(frozen=True)
class RunSummary:
    """One past run as `list_runs` sees it."""

    path: Path
    name: str
    created: str
    data: str
    preset: str
    metrics: dict[str, float] = field(default_factory=dict)
    train_seconds: float | None = None
    has_manifest: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": str(self.path),
            "name": self.name,
            "created": self.created,
            "data": self.data,
            "preset": self.preset,
            "metrics": self.metrics,
            "train_seconds": self.train_seconds,
            "has_manifest": self.has_manifest,
        }


def read_summary(run_dir: str | os.PathLike[str]) -> RunSummary | None:
    """The summary of a run directory; ``None`` when it holds no run."""
    root = Path(run_dir)
    manifest = root / MANIFEST
    if manifest.is_file():
        try:
            data = tomllib.loads(manifest.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise JointrecError(f"{manifest} is not valid TOML ({err}): remove the run") from None
        prov = data.get("provenance", {})
        source = data.get("data", {})
        described = source.get("interactions")
        if described in (None, "none"):
            described = f"movielens-{source.get('dataset', '?')}"
        return RunSummary(
            path=root,
            name=str(data.get("name", root.name)),
            created=str(prov.get("created", "")),
            data=Path(str(described)).name,
            preset=str(data.get("preset", "")),
            metrics=dict(prov.get("metrics", {})),
            train_seconds=prov.get("train_seconds"),
        )
    metrics, config = root / "metrics.json", root / "config.json"
    if metrics.is_file() and config.is_file():  # an artifact written before manifests
        try:
            info = json.loads(config.read_text(encoding="utf-8"))
            meta = root / "artifact.json"
            if not meta.is_file():
                meta = root / "manifest.json"  # jointrec 0.1
            created = json.loads(meta.read_text(encoding="utf-8"))
            values = json.loads(metrics.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return RunSummary(
            path=root,
            name=root.name,
            created=str(created.get("created", "")),
            data=str(info.get("data", {}).get("dataset", "")),
            preset=str(info.get("run", {}).get("preset", "")),
            metrics={k: float(v) for k, v in values.items()},
            has_manifest=False,
        )
    return None


def list_runs(root: str | os.PathLike[str] = "runs") -> list[RunSummary]:
    """Runs in the sub-directories of ``root`` (and ``root`` itself), oldest first.

    Raises:
        JointrecError: when ``root`` is not a directory.
    """
    base = Path(root).expanduser()
    if not base.is_dir():
        raise JointrecError(
            f"runs folder {str(root)!r} does not exist: expected a directory of run "
            "directories written by 'jointrec train' (pass it as the argument)"
        )
    summaries = []
    for path in [base, *sorted(p for p in base.iterdir() if p.is_dir())]:
        if path.name.startswith("."):
            continue
        summary = read_summary(path)
        if summary is not None:
            summaries.append(summary)
    return sorted(summaries, key=lambda s: (s.created, str(s.path)))


def plot_runs(
    runs: list[RunSummary], path: str | os.PathLike[str], metrics: tuple[str, ...] = PLOTTED
) -> Path:
    """Writes a PNG with one panel per metric and one bar per run."""
    plt = pyplot()

    if not runs:
        raise JointrecError("there are no runs to plot: train one with 'jointrec train'")
    names = [str(run.path) for run in runs]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 0.45 * len(runs) + 2))
    for ax, metric in zip(axes, metrics, strict=True):
        values = [run.metrics.get(metric, float("nan")) for run in runs]
        ax.barh(names, values, color="tab:blue")
        ax.set_xlabel(metric + (" (lower is better)" if metric in ("rmse", "mae") else ""))
        ax.invert_yaxis()
        for y, value in enumerate(values):
            if value == value:  # not NaN
                ax.text(value, y, f" {value:.3f}", va="center", fontsize=8)
    for ax in axes[1:]:
        ax.set_yticklabels([])
    fig.suptitle("jointrec runs: test metrics")
    return save_figure(fig, path)
