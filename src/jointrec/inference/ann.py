"""`build_ann`: builds an artifact's HNSW index and measures it against exact search.

The index is written into ``ARTIFACT/ann/`` atomically (a temporary sibling folder renamed
into place), with ``report.json`` (recall@k and latency per ``ef_search``) and
``recall.png``. `jointrec.inference.recommender.Recommender.load` then uses it automatically.

Example:
    >>> report = build_ann("runs/joint", k=10)  # doctest: +SKIP
    >>> report["recall"]  # doctest: +SKIP
    0.99
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.artifact.directory import load_artifact
from jointrec.errors import JointrecError
from jointrec.inference.hnsw import HNSWIndex
from jointrec.inference.index import ExactIndex, VectorIndex, recall_against
from jointrec.inference.recommender import ANN_DIR, ANN_FILE
from jointrec.plotting import pyplot, save_figure
from jointrec.progress import progress_task

SWEEP = (16, 32, 64, 128, 256)


def measure(index: VectorIndex, truth: np.ndarray, queries: np.ndarray, k: int) -> dict[str, float]:
    """Recall@k of ``index`` against the exact top-k ``truth`` and its single-query latency."""
    found = np.empty_like(truth)
    times = np.empty(len(queries))
    for r in range(len(queries)):
        start = time.perf_counter()
        found[r] = index.search(queries[r : r + 1], k)[0][0]
        times[r] = time.perf_counter() - start
    ms = times * 1000
    return {
        "recall": recall_against(found, truth),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }


def build_hnsw(
    vectors: np.ndarray,
    labels: np.ndarray,
    *,
    m: int = 32,
    ef_construction: int = 100,
    ef_search: int = 128,
    progress: bool = True,
    chunks: int = 20,
    threads: int | None = None,
    storage: str = "flat",
) -> Any:
    """An `HNSWIndex` over ``vectors``, added in chunks under a progress bar (``threads``:
    build threads, default all; ``storage``: ``"flat"`` or ``"fp16"``)."""
    index = HNSWIndex(
        vectors.shape[1],
        m=m,
        ef_construction=ef_construction,
        ef_search=ef_search,
        threads=threads,
        storage=storage,
    )
    step = max(1, -(-len(vectors) // chunks))
    with progress_task("building HNSW graph", total=len(vectors), enabled=progress) as task:
        for lo in range(0, len(vectors), step):
            index.add(vectors[lo : lo + step], labels[lo : lo + step])
            task.advance(min(step, len(vectors) - lo))
    return index


def build_ann(
    artifact: str | os.PathLike[str],
    *,
    m: int = 32,
    ef_construction: int = 100,
    ef_search: int = 128,
    k: int = 10,
    queries: int = 1000,
    progress: bool = True,
    plot: bool = True,
    threads: int | None = None,
    storage: str = "flat",
) -> dict[str, Any]:
    """Builds ``ARTIFACT/ann/`` and returns its report (recall@k against exact search).

    Args:
        artifact: Artifact directory.
        m: HNSW neighbours per node.
        ef_construction: Build-time candidate list.
        ef_search: Search-time candidate list saved with the index.
        k: Results per query for the recall measurement.
        queries: Users whose query vectors measure recall (the first ``queries``).
        progress: Show a progress bar.
        plot: Also draw ``recall.png``.
        threads: Threads building the graph (default: all cores).
        storage: ``"flat"`` (float32) or ``"fp16"`` vectors in the index.
    """
    art = load_artifact(artifact)
    model = art.exported
    if k < 1 or k >= model.num_items:
        raise JointrecError(f"k={k} is out of range: expected 1 <= k < {model.num_items}")
    labels = np.arange(1, model.num_items)
    vectors = model.item_vectors[1:]
    start = time.perf_counter()
    index = build_hnsw(
        vectors,
        labels,
        m=m,
        ef_construction=ef_construction,
        ef_search=ef_search,
        progress=progress,
        threads=threads,
        storage=storage,
    )
    seconds = time.perf_counter() - start
    exact = ExactIndex(vectors, labels, chunk=max(1, 2**26 // len(vectors)))  # <= 256 MiB
    sample = model.user_vectors[1 : 1 + queries]
    truth = exact.search(sample, k)[0]
    sweep = {}
    for ef in sorted({*SWEEP, ef_search}):
        index.ef_search = ef
        sweep[ef] = measure(index, truth, sample, k)
    index.ef_search = ef_search
    report = {
        "k": k,
        "items": len(vectors),
        "queries": len(sample),
        "m": m,
        "ef_construction": ef_construction,
        "ef_search": ef_search,
        "build_seconds": seconds,
        "build_threads": threads,
        "storage": storage,
        "recall": sweep[ef_search]["recall"],
        "exact": measure(exact, truth, sample, k),
        "sweep": {str(ef): v for ef, v in sweep.items()},
    }
    target = Path(art.path) / ANN_DIR
    tmp = Path(tempfile.mkdtemp(prefix=".ann.tmp-", dir=art.path))
    try:
        index.save(tmp / ANN_FILE)
        (tmp / "report.json").write_text(json.dumps(report, indent=1))
        if plot:
            plot_sweep(report, tmp / "recall.png")
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return report


def plot_sweep(report: dict[str, Any], path: Path) -> None:
    """Recall@k against single-query latency, one point per ``ef_search``."""
    plt = pyplot()

    efs = sorted(report["sweep"], key=int)
    recall = [report["sweep"][e]["recall"] for e in efs]
    latency = [report["sweep"][e]["p50_ms"] for e in efs]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.plot(latency, recall, marker="o")
    for e, x, y in zip(efs, latency, recall, strict=True):
        ax.annotate(f"ef={e}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=8)
    ax.axvline(report["exact"]["p50_ms"], color="grey", linestyle="--", label="exact p50")
    ax.set_xlabel("median latency per query (ms)")
    ax.set_ylabel(f"recall@{report['k']} vs exact")
    ax.set_title(f"HNSW on {report['items']:,} items (M={report['m']})")
    ax.legend(loc="lower right")
    save_figure(fig, path)
