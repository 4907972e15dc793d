"""faiss-cpu vs hnswlib HNSW on one synthetic catalogue: build time, latency, recall@10.

Both use the same graph settings (M, efConstruction, efSearch), inner-product metric, and
answer single queries (the serving path) on one thread. The catalogue is a trained
artifact's item vectors scaled up with noise (`jointrec.testing.catalogue`), the queries
are its user vectors; recall@10 is against exact search.

Usage:
    PYTHONPATH=src python benchmarks/ann_libraries.py ARTIFACT --items 200000 \
        --out benchmarks/results/ann_libraries.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from machine import machine_info  # type: ignore[import-not-found]

from jointrec.artifact.directory import load_artifact
from jointrec.inference.index import ExactIndex, recall_against
from jointrec.testing.catalogue import synthetic_catalogue


def _latencies(search, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    out, times = [], []
    for q in queries:
        t0 = time.perf_counter()
        out.append(search(q[None, :]))
        times.append(time.perf_counter() - t0)
    return np.concatenate(out), np.asarray(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=100)
    parser.add_argument("--ef-search", type=int, default=128)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ann_libraries.json"))
    args = parser.parse_args()

    art = load_artifact(args.artifact)
    items = synthetic_catalogue(art.exported.item_vectors[1:], args.items, seed=0)
    queries = art.exported.user_vectors[1 : args.queries + 1]
    exact = ExactIndex(items).search(queries, 10)[0]
    results: dict[str, dict[str, float]] = {}

    import faiss

    faiss.omp_set_num_threads(2)
    t0 = time.perf_counter()
    index = faiss.IndexHNSWFlat(items.shape[1], args.m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = args.ef_construction
    index.add(items)
    build = time.perf_counter() - t0
    faiss.omp_set_num_threads(1)
    index.hnsw.efSearch = args.ef_search
    found, ms = _latencies(lambda q: index.search(q, 10)[1], queries)
    results["faiss-cpu " + faiss.__version__] = {
        "build_s": build,
        "recall@10": recall_against(found, exact),
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
    }
    del index

    try:
        import hnswlib
    except ImportError:
        results["hnswlib"] = {"error": "not installed (pip install hnswlib compiles from source)"}
    else:
        t0 = time.perf_counter()
        index = hnswlib.Index(space="ip", dim=items.shape[1])
        index.init_index(max_elements=len(items), M=args.m, ef_construction=args.ef_construction)
        index.add_items(items, np.arange(len(items)), num_threads=2)
        build = time.perf_counter() - t0
        index.set_ef(args.ef_search)
        index.set_num_threads(1)
        found, ms = _latencies(lambda q: index.knn_query(q, 10)[0].astype(np.int64), queries)
        results["hnswlib " + getattr(hnswlib, "__version__", "")] = {
            "build_s": build,
            "recall@10": recall_against(found, exact),
            "p50_ms": float(np.percentile(ms, 50)),
            "p99_ms": float(np.percentile(ms, 99)),
        }

    report = {
        "benchmark": "ann_libraries",
        "machine": machine_info(),
        "items": args.items,
        "dim": int(items.shape[1]),
        "queries": len(queries),
        "settings": {
            "M": args.m,
            "efConstruction": args.ef_construction,
            "efSearch": args.ef_search,
        },
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
