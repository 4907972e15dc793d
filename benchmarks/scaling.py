"""Scaling to MovieLens-25M size through the command users run: ``jointrec train`` on a
synthetic file of 1M, 5M and 25M interactions, for the tutorial and the default preset,
with each stage's seconds and peak memory.

Each size's file is written by ``jointrec data synth``; each preset then trains one epoch
with ``jointrec train --interactions FILE ... --epochs 1 --no-checkpoint --json`` in a fresh
process, which reports every stage (reading, splitting, features and model, training,
exporting, evaluating on test, writing the run directory) with the process's peak resident
memory by its end (`jointrec.progress.recording_stages`). The whole command's wall time is
measured around it. Quality: the run's test metrics, and on a sample of up to 20,000 test
users the saved artifact's Recall@10 beside item popularity's (the planted structure makes
the learned model beat popularity), evaluated again from the run directory.

Run: ``python benchmarks/scaling.py [--quick] [--sizes 1m,5m,25m]
[--presets tutorial,default] [--rated-fraction 0.1]`` (writes results/scaling.json; with a
rated fraction below 1, mixed feedback: only that share of the interactions keeps its
rating, ``results/scaling_rated<f>.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT, header, write_result

#: name -> (users, items, interactions); 1M is MovieLens 1M's shape, 25M MovieLens 25M's.
SIZES = {
    "1m": (6_040, 3_706, 1_000_000),
    "5m": (32_500, 12_500, 5_000_000),
    "25m": (162_541, 62_423, 25_000_095),
    "quick-20k": (400, 300, 20_000),
    "quick-100k": (2_000, 1_500, 100_000),
}


def train_command(parquet: Path, preset_name: str, out: Path) -> list[str]:
    """The ``jointrec train`` command line of one run."""
    return [
        sys.executable, "-m", "jointrec", "train", "--interactions", str(parquet),
        "--user-col", "user_id", "--item-col", "item_id", "--rating-col", "rating",
        "--time-col", "timestamp", "--preset", preset_name, "--epochs", "1",
        "--no-checkpoint", "--out", str(out), "--json",
    ]  # fmt: skip


def run_preset(parquet: Path, preset_name: str, scratch: Path) -> dict[str, Any]:
    """One ``jointrec train`` run: wall seconds, stages, test metrics, sampled quality."""
    out_dir = scratch / f"run-{preset_name}"
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), KERAS_BACKEND="jax")
    start = time.perf_counter()
    done = subprocess.run(
        train_command(parquet, preset_name, out_dir),
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"jointrec train ({preset_name}) failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    stages = {s["description"]: s for s in result["stages"]}
    train = stages["training joint"]
    out: dict[str, Any] = {
        "preset": preset_name,
        "command_seconds": seconds,
        "stages": result["stages"],
        "epoch_seconds": train["seconds"],
        "peak_rss_mb": max(s["peak_rss_mb"] for s in result["stages"]),
        "report": result["metrics"],
    }
    worker = subprocess.run(
        [sys.executable, __file__, "--worker", str(out_dir)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if worker.returncode != 0:
        raise RuntimeError(f"quality sample ({preset_name}) failed:\n{worker.stderr[-3000:]}")
    out.update(json.loads(worker.stdout.strip().splitlines()[-1]))
    return out


def worker(run_dir: str) -> dict[str, Any]:
    """Examples trained and the sampled quality of a run directory, read back from disk."""
    from jointrec.artifact.directory import load_artifact
    from jointrec.experiments.pipeline import as_experiment, load, prepare_data

    experiment, _ = as_experiment(str(Path(run_dir) / "manifest.toml"))
    loaded = load(experiment, progress=False)
    data = prepare_data(loaded.dataset, loaded.experiment.run.split)
    exported = load_artifact(run_dir).exported
    return {
        "train_examples": len(data.train),
        "test_examples": len(data.test),
        "quality_sample": quality_sample(
            exported, data.train, data.test, loaded.experiment.run.eval, len(data.items)
        ),
    }


def quality_sample(
    exported: Any, train: Any, test: Any, config: Any, num_items: int, users: int = 20_000
) -> dict[str, Any]:
    """Recall@10 of the model and of item popularity on the test pairs of (up to) ``users``
    random users: the planted structure makes the learned model beat popularity."""
    import numpy as np

    from jointrec.data.encoded import EncodedInteractions
    from jointrec.evaluation.evaluate import ranking_metrics
    from jointrec.scoring.exported import ExportedModel

    rng = np.random.default_rng(0)
    test_user = np.asarray(test.user)
    candidates = np.unique(test_user[test_user > 0])
    chosen = rng.choice(candidates, min(users, len(candidates)), replace=False)
    rows = np.flatnonzero(np.isin(test_user, chosen))
    sample = EncodedInteractions(
        test_user[rows], np.asarray(test.item)[rows], np.asarray(test.rating)[rows],
        test.rating_scale,
    )  # fmt: skip
    counts = np.bincount(np.asarray(train.item), minlength=num_items).astype(np.float32)
    # Popularity as a one-dimensional dot-product model: score(u, i) = 1 * log(1 + count(i)).
    popularity = ExportedModel(
        user_embeddings=np.ones((exported.num_users, 1), np.float32),
        item_embeddings=np.log1p(counts)[:, None],
        mlp=[(np.zeros((2, 1), np.float32), np.zeros(1, np.float32))],
        can_rate=False,
        name="popularity",
    )
    model = ranking_metrics(exported, train, sample, config)
    baseline = ranking_metrics(popularity, train, sample, config)
    return {
        "users": len(chosen),
        "model_recall@10": model["recall@10"],
        "popularity_recall@10": baseline["recall@10"],
        "model_ndcg@10": model["ndcg@10"],
        "popularity_ndcg@10": baseline["ndcg@10"],
    }


def run_size(
    name: str, scratch: Path, presets: list[str], rated_fraction: float = 1.0
) -> list[dict[str, Any]]:
    """Synthesises one size and runs each preset on it."""
    users, items, interactions = SIZES[name]
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), KERAS_BACKEND="jax")
    parquet = scratch / f"synthetic-{name}.parquet"
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "jointrec", "data", "synth", "--users", str(users), "--items",
         str(items), "--interactions", str(interactions), "--out", str(parquet), "--quiet",
         "--rated-fraction", str(rated_fraction)],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    synth_seconds = time.perf_counter() - start
    results = []
    for preset_name in presets:
        result = run_preset(parquet, preset_name, scratch / name)
        result.update(
            size=name,
            users=users,
            items=items,
            interactions_requested=interactions,
            rated_fraction=rated_fraction,
            synth_seconds=synth_seconds,
            parquet_mb=parquet.stat().st_size / 2**20,
            examples_per_second=result["train_examples"] / result["epoch_seconds"],
        )
        print(json.dumps({k: v for k, v in result.items() if k != "stages"}), flush=True)
        results.append(result)
    return results


def run(
    quick: bool = False,
    sizes: list[str] | None = None,
    presets: list[str] | None = None,
    rated_fraction: float = 1.0,
) -> dict[str, Any]:
    names = sizes or (["quick-20k"] if quick else ["1m", "5m", "25m"])
    chosen = presets or ["tutorial", "default"]
    scratch = Path(tempfile.mkdtemp(prefix="jointrec-scaling-"))
    try:
        results = [r for name in names for r in run_size(name, scratch, chosen, rated_fraction)]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for preset_name in chosen:
        mine = [r for r in results if r["preset"] == preset_name]
        for r in mine:
            r["throughput_vs_smallest"] = r["examples_per_second"] / mine[0]["examples_per_second"]
    return {
        **header("scaling", quick),
        "presets": chosen,
        "rated_fraction": rated_fraction,
        "sizes": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    parser.add_argument("--sizes", help="comma-separated subset of " + ",".join(SIZES))
    parser.add_argument("--presets", default="tutorial,default", help="comma-separated")
    parser.add_argument(
        "--rated-fraction", type=float, default=1.0, help="share of rated interactions"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker), default=float))
        return
    sizes = args.sizes.split(",") if args.sizes else None
    result = run(args.quick, sizes, args.presets.split(","), args.rated_fraction)
    name = "scaling" + ("" if args.rated_fraction >= 1 else f"_rated{args.rated_fraction:g}")
    path = write_result(name + ("_quick" if args.quick else ""), result)
    print(path.read_text())


if __name__ == "__main__":
    main()
