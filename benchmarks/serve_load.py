"""Load benchmark of ``jointrec serve``: requests/s, p50/p99 and server CPU per request of
user recommendations, in one bounded command on 127.0.0.1.

Starts the server (one uvicorn worker), warms it up, then drives
``GET /v1/users/{id}/recommendations?k=10`` (retrieve 100, rank, filter seen; users in
turn) with 16 keep-alive connections, and ``GET /health`` in the same run as the
framework's floor. The load comes from wrk when it is installed (``--client wrk``; ~0.05 ms
of CPU per request) or from the asyncio client `loadgen` (``--client
python``; ~0.1-0.2 ms, which the server then lacks on a 2-core machine). Every run records
the server's CPU time per request (from ``/proc``, independent of how busy the machine is)
beside req/s and latency, the client's CPU per request, the load average and the machine;
before the load it measures the route in process (no sockets) with and without the ASGI
fast path.

With ``--catalogue N`` the artifact's catalogue is first scaled to N synthetic items
(trained item embeddings copied with noise, `jointrec.testing.catalogue`) and served
through an HNSW index built on one thread (``--build-threads``). With ``--work DIR`` the
scaled artifact and its index are kept there and reused by later runs with the same
settings (the 1M-item graph takes many minutes to build). Recall@10 against exact search is
measured on the same vectors twice: the index's own sweep (``ann``, k=10 per query) and the
served configuration (``served_quality``: 100 candidates with the user's rated items
excluded, top 10 of them against the exact top 10, and the final ranked top 10 of both
pipelines).

Usage:
    PYTHONPATH=src python benchmarks/serve_load.py ARTIFACT \
        --out benchmarks/results/serve_ml100k.json
    PYTHONPATH=src python benchmarks/serve_load.py ARTIFACT --catalogue 1000000 \
        --work /tmp/bench --out benchmarks/results/serve_1m_hnsw.json
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from loadgen import run_load
from machine import machine_info  # type: ignore[import-not-found]
from wrk_load import available as wrk_available  # type: ignore[import-not-found]
from wrk_load import wrk_load  # type: ignore[import-not-found]

from jointrec.serve.metrics import cpu_seconds, resident_memory_bytes
from jointrec.testing.server import free_port

TARGETS = {
    "ml100k": {"requests_per_s": 1000.0, "p99_ms": 20.0},
    "visitors": {"requests_per_s": 1000.0, "p99_ms": 50.0},
    "catalogue": {"recall@10": 0.95, "p99_ms": 30.0},
}


def scale_artifact(
    source: Path, target: Path, size: int, noise: float = 1.0, seed: int = 0
) -> None:
    """Writes a copy of ``source`` whose catalogue has ``size`` synthetic items.

    The first items keep their trained embeddings, biases and titles (so users' seen items
    stay valid); the rest are noisy copies of random trained items.
    """
    from jointrec.artifact.directory import load_artifact, save_artifact
    from jointrec.data.vocabulary import Vocabulary
    from jointrec.scoring.exported import ExportedModel
    from jointrec.testing.catalogue import synthetic_catalogue

    art = load_artifact(source)
    m = art.exported
    base = m.item_embeddings[1:]
    extra = size - len(base)
    rng = np.random.default_rng(seed)
    embeddings = np.concatenate(
        [
            m.item_embeddings,
            synthetic_catalogue(base, extra, noise=noise, normalize=False, seed=seed),
        ]
    )
    item_bias = None
    if m.item_bias is not None:
        item_bias = np.concatenate(
            [m.item_bias, m.item_bias[1:][rng.integers(0, len(base), extra)]]
        )
    exported = ExportedModel(
        user_embeddings=m.user_embeddings,
        item_embeddings=embeddings.astype(np.float32),
        mlp=m.mlp,
        user_bias=m.user_bias,
        item_bias=item_bias,
        offset=m.offset,
        l2_normalize=m.l2_normalize,
        rating_scale=m.rating_scale,
        clip_predictions=m.clip_predictions,
    )
    start = int(art.items.ids.max()) + 1
    ids = np.concatenate([art.items.ids, np.arange(start, start + extra)])
    table = art.item_table + [
        {"id": int(i), "title": f"synthetic item {i}"} for i in ids[len(base) :]
    ]
    save_artifact(
        target,
        config=art.config,
        exported=exported,
        users=art.users,
        items=Vocabulary(ids, name="item"),
        item_table=table,
        seen=art.seen,
        metrics=art.metrics,
        data_info={**art.data_info, "synthetic_catalogue": size},
        overwrite=True,
    )


def prepare_catalogue(args: argparse.Namespace, work: Path, report: dict[str, Any]) -> Path:
    """The scaled artifact with its HNSW index, reused from ``work`` when its settings match."""
    from jointrec.inference.ann import build_ann

    artifact = work / f"catalogue-{args.catalogue}"
    key = {
        "source": _fingerprint(args.artifact),
        "size": args.catalogue,
        "noise": args.noise,
        "seed": 0,
        "m": args.m,
        "ef_construction": args.ef_construction,
        "storage": args.storage,
    }
    key_file = work / f"catalogue-{args.catalogue}.key.json"
    saved = artifact / "ann" / "report.json"
    if key_file.is_file() and json.loads(key_file.read_text()) == key and saved.is_file():
        report["ann"] = json.loads(saved.read_text())
        report["ann_reused"] = str(artifact)
        return artifact
    key_file.unlink(missing_ok=True)
    start = time.perf_counter()
    scale_artifact(args.artifact, artifact, args.catalogue, noise=args.noise)
    report["scale_seconds"] = time.perf_counter() - start
    cpu = time.process_time()
    report["ann"] = build_ann(
        artifact,
        m=args.m,
        ef_construction=args.ef_construction,
        ef_search=args.ef_search,
        k=10,
        queries=500,
        threads=args.build_threads,
        storage=args.storage,
        plot=importlib.util.find_spec("matplotlib") is not None,
    )
    report["ann"]["build_and_measure_cpu_seconds"] = time.process_time() - cpu
    key_file.write_text(json.dumps(key))
    return artifact


def _fingerprint(artifact: Path) -> str:
    digest = hashlib.sha256()
    for name in ("exported.npz", "seen.npz", "vocab.json"):
        path = artifact / name
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def served_quality(
    artifact: Path, ef_search: int, users: int = 500, k: int = 10, candidates: int = 100
) -> dict[str, Any]:
    """HNSW against exact search as served: candidates with rated items excluded, and the
    final ranked top ``k``; plus the in-process CPU of one recommendation with each."""
    from jointrec.inference.index import ExactIndex
    from jointrec.inference.recommender import Recommender

    rec = Recommender.load(artifact, index="hnsw", ef_search=ef_search)
    n = rec.model.num_items
    vectors = rec.model.item_vectors[1:]
    exact = copy.copy(rec)
    exact.index = ExactIndex(vectors, np.arange(1, n), chunk=max(1, 2**26 // len(vectors)))
    ids = rec.artifact.users.ids[:users].tolist()
    top_k, pool, final = [], [], []
    for j, user in enumerate(ids, 1):
        query, seen = rec.model.user_vectors[j], rec.artifact.seen.items_of(j)
        approx = rec.index.search_one(query, candidates, seen)[0]
        truth = exact.index.search_one(query, candidates, seen)[0]
        top_k.append(len(np.intersect1d(approx[:k], truth[:k])) / max(len(truth[:k]), 1))
        pool.append(len(np.intersect1d(approx, truth)) / max(len(truth), 1))
        a = {r.item_id for r in rec.recommend(user, k=k, candidates=candidates).items}
        e = {r.item_id for r in exact.recommend(user, k=k, candidates=candidates).items}
        final.append(len(a & e) / max(len(e), 1))
    costs = {}
    for name, which in (("hnsw", rec), ("exact", exact)):
        start = time.process_time()
        for user in ids[:200]:
            which.recommend(user, k=k, candidates=candidates)
        costs[name] = 1000 * (time.process_time() - start) / len(ids[:200])
    return {
        "users": len(ids),
        "ef_search": max(ef_search, candidates),
        "candidates": candidates,
        f"candidates_recall@{k}": float(np.mean(top_k)),
        f"candidates_recall@{candidates}": float(np.mean(pool)),
        f"recommendations_overlap@{k}": float(np.mean(final)),
        "in_process_cpu_ms_per_recommendation": costs,
    }


def asgi_costs(artifact: Path, requests: int = 2000, rounds: int = 3) -> dict[str, float]:
    """CPU per request of the route in process (no sockets): the ASGI fast path, the
    FastAPI route it stands in for, and ``/health``; best of ``rounds`` interleaved runs."""
    from jointrec.serve import create_app

    app = create_app(artifact)
    fast = app.fast_path
    users = app_users(artifact)

    async def call(path: str, query: bytes) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "root_path": "",
            "headers": [(b"host", b"127.0.0.1")],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8000),
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                assert message["status"] == 200, message

        await app(scope, receive, send)

    async def main() -> dict[str, float]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        sent: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        await queue.put({"type": "lifespan.startup"})
        life = asyncio.create_task(
            app({"type": "lifespan", "asgi": {"version": "3.0"}}, queue.get, sent.put)
        )
        await sent.get()
        best: dict[str, float] = {}
        cases = {
            "fast_path": (fast, "rec"),
            "fastapi_route": (None, "rec"),
            "health": (fast, "health"),
        }
        for _ in range(rounds):
            for name, (path_handler, kind) in cases.items():
                app.fast_path = path_handler
                start = time.process_time()
                for i in range(requests):
                    if kind == "rec":
                        await call(f"/v1/users/{users[i % len(users)]}/recommendations", b"k=10")
                    else:
                        await call("/health", b"")
                ms = 1000 * (time.process_time() - start) / requests
                best[name] = min(best.get(name, float("inf")), ms)
        app.fast_path = fast
        await queue.put({"type": "lifespan.shutdown"})
        await life
        return best

    return {f"{k}_cpu_ms_per_request": v for k, v in asyncio.run(main()).items()}


def app_users(artifact: Path) -> list[Any]:
    from jointrec.artifact.directory import load_artifact

    return list(load_artifact(artifact).users.ids.tolist())


def start_server(
    artifact: Path,
    port: int,
    index: str,
    ef_search: int | None,
    threads: int = 0,
    src: Path | None = None,
) -> Any:
    """``jointrec serve`` from this checkout's ``src`` (or ``src``: another checkout)."""
    src = src or Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": str(src)}
    command = [sys.executable, "-m", "jointrec", "serve", str(artifact), "--port", str(port)]
    command += ["--index", index] + (["--threads", str(threads)] if threads else [])
    command += ["--ef-search", str(ef_search)] if ef_search else []
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not start within 300 s")


def visitor_bodies(
    artifact: Path, count: int = 2000, low: int = 5, high: int = 20, seed: int = 0
) -> list[bytes]:
    """``POST /v1/recommendations`` bodies of anonymous visitors: ``low..high`` (item,
    stars) pairs each, drawn from trained users' ratings (so the ratings look real), k=10."""
    from jointrec.artifact.directory import load_artifact

    art = load_artifact(artifact)
    rng = np.random.default_rng(seed)
    users = [u for u in range(1, len(art.users.ids) + 1) if len(art.seen.items_of(u)) >= low]
    bodies = []
    for _ in range(count):
        u = users[int(rng.integers(len(users)))]
        items, ratings = art.seen.items_of(u), art.seen.values_of(u)
        take = rng.choice(len(items), min(int(rng.integers(low, high + 1)), len(items)), False)
        pairs = [
            {"item_id": art.items.ids[items[j] - 1].item(), "rating": float(ratings[j])}
            for j in take
        ]
        bodies.append(json.dumps({"ratings": pairs, "k": 10}).encode())
    return bodies


def drive(
    client: str,
    port: int,
    paths: list[str],
    connections: int,
    duration: float,
    requests: int,
    bodies: list[bytes] | None = None,
) -> dict[str, Any]:
    """One bounded load run (``POST`` when ``bodies`` are given); the summary names the
    client and its CPU per request."""
    method = "GET" if bodies is None else "POST"
    if client == "wrk":
        return wrk_load(
            port, paths, connections=connections, duration=duration, method=method, bodies=bodies
        )
    start = time.process_time()
    result = run_load(
        "127.0.0.1",
        port,
        paths,
        connections=connections,
        requests=requests,
        duration=duration,
        method=method,
        bodies=bodies,
    )
    summary = result.summary()
    summary["client"] = "python"
    summary["client_cpu_ms_per_request"] = (
        1000 * (time.process_time() - start) / max(summary["requests"], 1)
    )
    return summary


def measure_load(
    args: argparse.Namespace,
    artifact: Path,
    index: str,
    ef_search: int | None,
    src: Path | None = None,
) -> dict[str, Any]:
    """Warm-up, the recommendations run and the ``/health`` floor against one server."""
    port = free_port()
    start = time.perf_counter()
    proc = start_server(artifact, port, index, ef_search, 0 if src else args.threads, src)
    out: dict[str, Any] = {"server_start_seconds": time.perf_counter() - start}
    try:
        paths = [f"/v1/users/{u}/recommendations?k=10" for u in app_users(artifact)]
        drive(args.client, port, paths, args.connections, min(5.0, args.duration / 3), 3000)
        out["load_average_before"] = os.getloadavg()
        runs: list[tuple[str, list[str], float, int, list[bytes] | None]] = [
            ("recommendations", paths, args.duration, args.requests, None),
            ("health_floor", ["/health"], args.duration / 3, args.requests // 3, None),
        ]
        if args.visitors:
            bodies = visitor_bodies(artifact)
            visitor_paths = ["/v1/recommendations"] * len(bodies)
            drive(args.client, port, visitor_paths, args.connections, 3.0, 1000, bodies)
            runs.append(("visitors", visitor_paths, args.duration, args.requests, bodies))
        for key, run_paths, seconds, count, run_bodies in runs:
            cpu = cpu_seconds(proc.pid)
            rss = resident_memory_bytes(proc.pid)
            result = drive(
                args.client, port, run_paths, args.connections, seconds, count, run_bodies
            )
            cpu = cpu_seconds(proc.pid) - cpu
            done = max(result["requests"], 1)
            result["server_cpu_ms_per_request"] = 1000 * cpu / done
            result["one_free_core_requests_per_s"] = done / cpu if cpu > 0 else None
            result["server_rss_mb"] = {"before": rss / 2**20, "after": 0.0}
            result["server_rss_mb"]["after"] = resident_memory_bytes(proc.pid) / 2**20
            out[key] = result
        out["load_average_after"] = os.getloadavg()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as r:
            out["served"] = json.loads(r.read())
    finally:
        proc.terminate()
        proc.wait(timeout=60)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--catalogue", type=int, default=0, help="Scale to N synthetic items.")
    parser.add_argument(
        "--index", default="auto", help="auto (HNSW when the artifact has one), exact, hnsw."
    )
    parser.add_argument("--noise", type=float, default=1.0, help="Synthetic item spread.")
    parser.add_argument("--ef-search", type=int, default=128, help="HNSW search breadth.")
    parser.add_argument("--m", type=int, default=48, help="HNSW neighbours per node.")
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--build-threads", type=int, default=1, help="HNSW build threads.")
    parser.add_argument("--storage", default="fp16", help="HNSW vectors: flat or fp16.")
    parser.add_argument(
        "--threads", type=int, default=0, help="Server threads computing recommendations."
    )
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--requests", type=int, default=100_000, help="Bound (python client).")
    parser.add_argument("--duration", type=float, default=30.0, help="Seconds of measured load.")
    parser.add_argument("--work", type=Path, default=None, help="Keep/reuse the scaled catalogue.")
    parser.add_argument("--cpus", default=None, help="Pin server and load to these CPUs: 0,1")
    parser.add_argument("--skip-in-process", action="store_true", help="No in-process costs.")
    parser.add_argument(
        "--visitors",
        action="store_true",
        help="Also load POST /v1/recommendations: anonymous visitors with 5-20 ratings each.",
    )
    parser.add_argument(
        "--baseline-src",
        type=Path,
        default=None,
        help="Also load a server run from another checkout's src (e.g. main), after this one.",
    )
    parser.add_argument(
        "--baseline-artifact",
        type=Path,
        default=None,
        help="The artifact the baseline server loads (trained by that checkout), when the "
        "old code cannot read this one; default: the same artifact.",
    )
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if args.client == "auto":
        args.client = "wrk" if wrk_available() else "python"

    report: dict[str, Any] = {
        "benchmark": "serve_load",
        "machine": machine_info(),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    artifact, index, ef_search = args.artifact, args.index, None
    tmp = None
    if args.catalogue:
        work = args.work or Path(tempfile.mkdtemp(prefix="jointrec-bench-"))
        tmp = None if args.work else work
        work.mkdir(parents=True, exist_ok=True)
        artifact = prepare_catalogue(args, work, report)
        index, ef_search = "hnsw", args.ef_search
    try:
        hnsw = index == "hnsw" or (index == "auto" and (artifact / "ann" / "index.faiss").is_file())
        if hnsw:
            ef_search = ef_search or args.ef_search
            report["served_quality"] = served_quality(artifact, ef_search)
        if args.cpus:  # the server and the load generator (children) share these CPUs only
            os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
            report["pinned_cpus"] = args.cpus
        if not args.skip_in_process and not args.catalogue:
            report["in_process"] = asgi_costs(artifact)
        report.update(measure_load(args, artifact, index, ef_search if hnsw else None))
        if args.baseline_src:
            base_artifact = args.baseline_artifact or artifact
            report["baseline"] = {
                "src": str(args.baseline_src),
                "artifact": str(base_artifact),
                **measure_load(
                    args, base_artifact, index, ef_search if hnsw else None, args.baseline_src
                ),
            }
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    s = report["recommendations"]
    if report["served"]["index"] == "hnsw":
        goal = TARGETS["catalogue"]
        if "ann" not in report:
            report["ann"] = json.loads((Path(artifact) / "ann" / "report.json").read_text())
        recall = report["served_quality"]["candidates_recall@10"]
        report["targets"] = {
            **goal,
            "met": {
                "recall@10": recall >= goal["recall@10"],
                "p99_ms": s["p99_ms"] <= goal["p99_ms"],
            },
        }
    else:
        goal = TARGETS["ml100k"]
        report["targets"] = {
            **goal,
            "met": {
                "requests_per_s": s["requests_per_s"] >= goal["requests_per_s"],
                "p99_ms": s["p99_ms"] <= goal["p99_ms"],
            },
        }
    if "visitors" in report:
        v, goal = report["visitors"], TARGETS["visitors"]
        report["visitor_targets"] = {
            **goal,
            "met": {
                "requests_per_s": v["requests_per_s"] >= goal["requests_per_s"],
                "p99_ms": v["p99_ms"] <= goal["p99_ms"],
            },
        }
    summary_keys = ("requests_per_s", "p50_ms", "p99_ms", "server_cpu_ms_per_request")
    if "baseline" in report:
        report["baseline_summary"] = {
            run: {k: report["baseline"][run][k] for k in summary_keys}
            for run in ("recommendations", "visitors")
            if run in report["baseline"]
        }
        report["ratios_to_baseline"] = {
            run: {
                "requests_per_s": report[run]["requests_per_s"] / values["requests_per_s"],
                "p99_ms": report[run]["p99_ms"] / values["p99_ms"],
            }
            for run, values in report["baseline_summary"].items()
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    keys = ("recommendations", "visitors", "health_floor", "in_process", "served_quality")
    keys += ("targets", "visitor_targets", "baseline_summary", "ratios_to_baseline")
    print(json.dumps({k: report[k] for k in keys if k in report}, indent=2))


if __name__ == "__main__":
    main()
