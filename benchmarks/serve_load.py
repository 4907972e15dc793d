"""Load benchmark of ``jointrec serve``: requests/s and p50/p99 of user recommendations.

Starts the server (one uvicorn worker) on 127.0.0.1, warms it up, then drives
``GET /v1/users/{id}/recommendations?k=10`` (retrieve 100, rank, filter seen) with a
bounded number of keep-alive connections (`jointrec.serve.loadgen`), and ``GET /health`` in
the same run as the framework's floor. With ``--catalogue N`` the artifact's catalogue is
first scaled to N synthetic items (trained item embeddings copied with noise,
`jointrec.testing.catalogue`) and served through an HNSW index whose recall@10 against
exact search is measured on the same vectors. Only loopback traffic; bounded in count
and time.

Usage:
    PYTHONPATH=src python benchmarks/serve_load.py ARTIFACT \
        --out benchmarks/results/serve_ml100k.json
    PYTHONPATH=src python benchmarks/serve_load.py ARTIFACT --catalogue 1000000 \
        --out benchmarks/results/serve_1m_hnsw.json
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from benchmarks_common import machine  # type: ignore[import-not-found]

from jointrec.serve.loadgen import run_load
from jointrec.serve.metrics import cpu_seconds, resident_memory_bytes

TARGETS = {
    "ml100k": {"requests_per_s": 1000.0, "p99_ms": 20.0},
    "catalogue": {"recall@10": 0.95, "p99_ms": 30.0},
}


def scale_artifact(
    source: Path, target: Path, size: int, noise: float = 1.0, seed: int = 0
) -> None:
    """Writes a copy of ``source`` whose catalogue has ``size`` synthetic items.

    The first items keep their trained embeddings, biases and titles (so users' seen items
    stay valid); the rest are noisy copies of random trained items.
    """
    from jointrec.artifact import load_artifact, save_artifact
    from jointrec.data.vocabulary import Vocabulary
    from jointrec.exported import ExportedModel
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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(artifact: Path, port: int, index: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jointrec",
            "serve",
            str(artifact),
            "--port",
            str(port),
            "--index",
            index,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path)
    parser.add_argument("--catalogue", type=int, default=0, help="Scale to N synthetic items.")
    parser.add_argument(
        "--index", default="auto", help="auto (HNSW when the artifact has one), exact, hnsw."
    )
    parser.add_argument("--noise", type=float, default=1.0, help="Synthetic item spread.")
    parser.add_argument("--ef-search", type=int, default=256)
    parser.add_argument("--m", type=int, default=32)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--requests", type=int, default=30_000)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--work", type=Path, default=None, help="Where the scaled artifact goes.")
    parser.add_argument("--cpus", default=None, help="Pin server and load to these CPUs: 0,1")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    report: dict[str, Any] = {
        "benchmark": "serve_load",
        "machine": machine(),
        "args": {k: str(v) for k, v in vars(args).items()},
    }
    artifact, index = args.artifact, args.index
    tmp = None
    if args.catalogue:
        from jointrec.retrieval.build import build_ann

        work = args.work or Path(tempfile.mkdtemp(prefix="jointrec-bench-"))
        tmp = work
        artifact = work / f"catalogue-{args.catalogue}"
        start = time.perf_counter()
        scale_artifact(args.artifact, artifact, args.catalogue, noise=args.noise)
        report["scale_seconds"] = time.perf_counter() - start
        import importlib.util

        report["ann"] = build_ann(
            artifact,
            m=args.m,
            ef_search=args.ef_search,
            k=10,
            queries=500,
            plot=importlib.util.find_spec("matplotlib") is not None,
        )
        index = "hnsw"
    if args.cpus:  # the server (a child) and the load generator share these CPUs only
        os.sched_setaffinity(0, {int(c) for c in args.cpus.split(",")})
        report["pinned_cpus"] = args.cpus

    port = free_port()
    start = time.perf_counter()
    proc = start_server(artifact, port, index)
    report["server_start_seconds"] = time.perf_counter() - start
    try:
        from jointrec.artifact import load_artifact

        users = load_artifact(artifact).users.ids.tolist()
        paths = [f"/v1/users/{u}/recommendations?k=10" for u in users]
        run_load("127.0.0.1", port, paths, connections=args.connections, requests=2000, duration=10)
        rss_before = resident_memory_bytes(proc.pid)
        cpu_before = cpu_seconds(proc.pid)
        rec = run_load(
            "127.0.0.1",
            port,
            paths,
            connections=args.connections,
            requests=args.requests,
            duration=args.duration,
        )
        cpu_rec = cpu_seconds(proc.pid) - cpu_before
        cpu_before = cpu_seconds(proc.pid)
        health = run_load(
            "127.0.0.1",
            port,
            ["/health"],
            connections=args.connections,
            requests=args.requests // 3,
            duration=args.duration / 3,
        )
        cpu_health = cpu_seconds(proc.pid) - cpu_before
        report["recommendations"] = rec.summary()
        report["health_floor"] = health.summary()
        # server CPU per request: what one uncontended core would sustain, whoever else
        # shares the machine
        for key, cpu, result in (
            ("recommendations", cpu_rec, rec),
            ("health_floor", cpu_health, health),
        ):
            done = max(len(result.latencies), 1)
            report[key]["server_cpu_ms_per_request"] = 1000 * cpu / done
            report[key]["one_free_core_requests_per_s"] = done / cpu if cpu > 0 else None
        report["server_rss_mb"] = {
            "before": rss_before / 2**20,
            "after": resident_memory_bytes(proc.pid) / 2**20,
        }
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health") as r:
            report["served"] = json.loads(r.read())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    s = report["recommendations"]
    ann_report = Path(artifact) / "ann" / "report.json"
    if "ann" not in report and report["served"]["index"] == "hnsw" and ann_report.is_file():
        report["ann"] = json.loads(ann_report.read_text())
    if report["served"]["index"] == "hnsw":
        goal = TARGETS["catalogue"]
        report["targets"] = {
            **goal,
            "met": {
                "recall@10": report["ann"]["recall"] >= goal["recall@10"],
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
    report["load_average_after"] = os.getloadavg()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    print(
        json.dumps({k: report[k] for k in ("recommendations", "health_floor", "targets")}, indent=2)
    )
    if tmp is not None and args.work is None:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
