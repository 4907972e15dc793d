"""The model report behind the web page: metrics, the comparison and plots of an artifact.

Optional files are shown when the artifact directory has them: ``compare.json`` (from
``jointrec compare --out ARTIFACT``), any top-level ``*.png`` (``sweep.png``, the weight
sweep's frontier; ``compare.png``) and ``ann/recall.png`` (from ``jointrec index --ann``).

Example:
    >>> report = model_report(Recommender.load("runs/joint"))  # doctest: +SKIP
    >>> sorted(report)[:3]  # doctest: +SKIP
    ['artifact', 'comparison', 'created']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jointrec.inference.recommender import ANN_DIR, Recommender

TITLES = {
    "sweep.png": "Retrieval:rating loss-weight sweep (the RMSE / Recall@10 frontier)",
    "compare.png": "Joint model against the specialists and baselines",
    "recall.png": "HNSW index: recall@k against latency",
}


def plot_files(root: Path) -> dict[str, Path]:
    """Plot name -> file, for the PNGs of an artifact (never outside its directory)."""
    found = {p.name: p for p in sorted(root.glob("*.png")) if p.is_file()}
    ann = root / ANN_DIR / "recall.png"
    if ann.is_file():
        found.setdefault("recall.png", ann)
    return found


def model_report(rec: Recommender) -> dict[str, Any]:
    """JSON-ready facts, test metrics, comparison rows and plot links of the served model."""
    art = rec.artifact
    root = Path(art.path)
    comparison = None
    compare_file = root / "compare.json"
    if compare_file.is_file():
        try:
            models = json.loads(compare_file.read_text(encoding="utf-8")).get("models", [])
            comparison = [
                {"name": str(m.get("name", "?")), "metrics": dict(m.get("metrics", {}))}
                for m in models
                if isinstance(m, dict)
            ]
        except (OSError, ValueError, AttributeError):
            comparison = None
    return {
        "name": rec.model.name,
        "artifact": root.name,
        "created": art.meta.get("created"),
        "preset": art.config.preset,
        "data": {k: v for k, v in art.data_info.items() if k != "path"},
        "users": rec.model.num_users - 1,
        "items": rec.model.num_items - 1,
        "index": rec.index.kind,
        "metrics": {k: v for k, v in art.metrics.items() if isinstance(v, int | float)},
        "comparison": comparison,
        "plots": [
            {"name": name, "url": f"/v1/model/plots/{name}", "title": TITLES.get(name, name)}
            for name in plot_files(root)
        ],
    }
