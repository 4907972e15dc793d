"""One process against `jointrec launch -n 2` on one machine: wall time, steady-state epoch
time, and how far the two runs' weights, losses and test metrics differ.

On a single 2-core machine two processes share the same cores, so this measures the cost of
the cluster (start-up, gloo all-reduce, gathers), not a speed-up; it also shows that the
results agree on real data.

Usage:
    python benchmarks/distributed.py --data ../shared/data/movielens/ml-100k.zip
Writes benchmarks/results/distributed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import machine_info

HERE = Path(__file__).resolve().parent
METRICS = ("rmse", "mae", "recall@10", "ndcg@10", "recall@100")


def run(cmd: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def summary(artifact: Path, wall: float) -> dict[str, object]:
    epochs = json.loads((artifact / "history.json").read_text())["epochs"]
    metrics = json.loads((artifact / "metrics.json").read_text())
    return {
        "wall_seconds": round(wall, 2),
        "first_epoch_seconds": round(epochs[0]["seconds"], 3),
        "steady_epoch_seconds": round(float(np.mean([e["seconds"] for e in epochs[1:]])), 3),
        "final_loss": epochs[-1]["loss"],
        "metrics": {k: metrics[k] for k in METRICS},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="MovieLens 100k zip or folder")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--shard-embeddings", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "distributed.json")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "jointrec"]
    train = ["train", "--data", args.data, "--epochs", str(args.epochs), "--quiet", "--json"]
    if args.shard_embeddings:
        train.append("--shard-embeddings")
    load = round(os.getloadavg()[0], 1)  # the machine may be shared: say how busy it was
    with tempfile.TemporaryDirectory() as tmp:
        one, two = Path(tmp) / "one", Path(tmp) / "two"
        one_wall = run([*cli, *train, "--out", str(one)])
        two_wall = run([*cli, "launch", "-n", "2", "--", *train, "--out", str(two)])
        a, b = np.load(one / "exported.npz"), np.load(two / "exported.npz")
        weight_diff = max(
            float(np.abs(a[k].astype(np.float64) - b[k]).max())
            for k in a.files
            if a[k].dtype.kind == "f" and a[k].size
        )
        h1 = json.loads((one / "history.json").read_text())["epochs"]
        h2 = json.loads((two / "history.json").read_text())["epochs"]
        results = {
            "machine": machine_info(),
            "load_average_1min_at_start": load,
            "command": " ".join(train),
            "one_process": summary(one, one_wall),
            "two_processes": summary(two, two_wall),
            "max_abs_weight_difference": weight_diff,
            "max_abs_epoch_loss_difference": max(
                abs(x[k] - y[k])
                for x, y in zip(h1, h2, strict=True)
                for k in ("loss", "retrieval_loss", "rating_loss")
            ),
        }
    results["steady_epoch_ratio_two_over_one"] = round(
        results["two_processes"]["steady_epoch_seconds"]  # type: ignore[index]
        / results["one_process"]["steady_epoch_seconds"],  # type: ignore[index]
        2,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
