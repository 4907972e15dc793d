"""Scaling to MovieLens-25M size: synth, load, one training epoch and full evaluation at 1M,
5M and 25M interactions, with peak memory.

Each size runs in fresh processes: ``jointrec data synth`` writes the Parquet file, then a
worker streams it into memory-mapped columns (`jointrec.data.columnar`), splits it 80/20,
trains one epoch of the tutorial preset (after a warm-up that compiles the runner, so the
epoch measures steady-state throughput) and evaluates the full catalogue with training
items excluded. Peak RSS is the worker's high-water mark. Where `embedding_updates="auto"`
keeps the tables dense (small catalogues, where that is faster), an epoch with row-wise
updates, the path big catalogues take, is timed as well, so that sizes compare like for
like (`row_wise_throughput_vs_smallest`).

Run: ``python benchmarks/scaling.py [--quick] [--sizes 1m,5m,25m] [--rated-fraction 0.1]``
(writes results/scaling.json; with a rated fraction below 1, mixed feedback: only that share
of the interactions keeps its rating, ``results/scaling_rated<f>.json``).
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


def worker(parquet: str, scratch: str, preset_name: str) -> dict[str, Any]:
    """Load, split, train one epoch and evaluate; returns timings and peak RSS per stage."""
    import dataclasses

    import keras
    import numpy as np
    from machine import peak_rss_mb

    from jointrec import preset
    from jointrec.artifact.export import export_model
    from jointrec.backend.jax.training import use_sparse
    from jointrec.data.columnar import read_parquet_columns
    from jointrec.evaluation.evaluate import evaluate
    from jointrec.model.build import build_model
    from jointrec.training import TrainingArrays, fit
    from jointrec.training.loop import MAX_STEPS_PER_CALL, make_optimizer

    cfg = preset(preset_name)
    out: dict[str, Any] = {"preset": preset_name}
    start = time.perf_counter()
    store = read_parquet_columns(parquet, Path(scratch) / "columns", progress=False)
    out["load_seconds"] = time.perf_counter() - start
    out["rss_after_load_mb"] = peak_rss_mb()
    start = time.perf_counter()
    train, _, test = store.split(cfg.split)
    out["split_seconds"] = time.perf_counter() - start
    labels = train.labels()
    arrays = TrainingArrays(train.user, train.item, labels)
    out["train_examples"], out["test_examples"] = len(train), len(test)
    out["rated_train_examples"] = int(np.isfinite(labels).sum())
    batch = cfg.train.batch_size

    def model() -> Any:
        return build_model(
            cfg.model,
            len(store.users),
            len(store.items),
            rating_scale=store.rating_scale,
            global_mean=float(np.nanmean(labels)),  # mixed feedback: NaN = unrated
            seed=cfg.train.seed,
        )

    one_epoch = dataclasses.replace(cfg.train, epochs=1)
    # Warm-up: the same chunk shapes as the epoch (full chunks and the remainder) compile here.
    steps = -(-len(arrays) // batch)
    warm_steps = min(steps, MAX_STEPS_PER_CALL) + (
        steps % MAX_STEPS_PER_CALL if steps > MAX_STEPS_PER_CALL else 0
    )
    warm_rows = np.arange(min(len(arrays), warm_steps * batch))
    warm = TrainingArrays(arrays.user[warm_rows], arrays.item[warm_rows], arrays.label[warm_rows])
    start = time.perf_counter()
    fit(model(), warm, one_epoch, progress=False)
    out["warmup_seconds"] = time.perf_counter() - start
    trained = model()
    cpu = time.process_time()
    history = fit(trained, arrays, one_epoch, progress=False)
    out["epoch_seconds"] = history.epochs[0]["seconds"]
    out["epoch_cpu_seconds"] = time.process_time() - cpu
    out["examples_per_second"] = len(arrays) / out["epoch_seconds"]
    out["embedding_updates"] = cfg.train.embedding_updates
    optimizer = keras.optimizers.serialize(make_optimizer(cfg.train))
    row_wise = use_sparse(cfg.train.embedding_updates, trained, optimizer, batch)
    out["embedding_updates_used"] = "row-wise" if row_wise else "dense"
    if row_wise:
        out["row_wise_examples_per_second"] = out["examples_per_second"]
    else:  # the path big tables take, timed too, so sizes compare like for like
        rows_config = dataclasses.replace(one_epoch, embedding_updates="sparse")
        fit(model(), warm, rows_config, progress=False)  # compiles the row-wise runner
        rows_history = fit(model(), arrays, rows_config, progress=False)
        out["row_wise_epoch_seconds"] = rows_history.epochs[0]["seconds"]
        out["row_wise_examples_per_second"] = len(arrays) / out["row_wise_epoch_seconds"]
    out["rss_after_train_mb"] = peak_rss_mb()
    exported = export_model(trained, rating_scale=store.rating_scale, clip_predictions=False)
    start = time.perf_counter()
    report = evaluate(exported, train, test, cfg.eval)
    out["eval_seconds"] = time.perf_counter() - start
    out["eval_users_per_second"] = report["users_evaluated"] / out["eval_seconds"]
    out["report"] = report
    out["quality_sample"] = quality_sample(exported, train, test, cfg.eval, len(store.items))
    out["peak_rss_mb"] = peak_rss_mb()
    return out


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
    name: str, scratch: Path, preset_name: str, rated_fraction: float = 1.0
) -> dict[str, Any]:
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
    done = subprocess.run(
        [sys.executable, __file__, "--worker", str(parquet), "--scratch", str(scratch / name),
         "--preset", preset_name],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"worker for {name} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(
        size=name,
        users=users,
        items=items,
        interactions_requested=interactions,
        rated_fraction=rated_fraction,
        synth_seconds=synth_seconds,
        parquet_mb=parquet.stat().st_size / 2**20,
    )
    return result


def run(
    quick: bool = False,
    sizes: list[str] | None = None,
    preset_name: str = "tutorial",
    rated_fraction: float = 1.0,
) -> dict[str, Any]:
    names = sizes or (["quick-20k"] if quick else ["1m", "5m", "25m"])
    scratch = Path(tempfile.mkdtemp(prefix="jointrec-scaling-"))
    try:
        results = [run_size(name, scratch, preset_name, rated_fraction) for name in names]
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    base = results[0]["examples_per_second"]
    base_rows = results[0]["row_wise_examples_per_second"]
    for r in results:
        r["throughput_vs_smallest"] = r["examples_per_second"] / base
        r["row_wise_throughput_vs_smallest"] = r["row_wise_examples_per_second"] / base_rows
    return {
        **header("scaling", quick),
        "preset": preset_name,
        "rated_fraction": rated_fraction,
        "sizes": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    parser.add_argument("--sizes", help="comma-separated subset of " + ",".join(SIZES))
    parser.add_argument("--preset", default="tutorial")
    parser.add_argument(
        "--rated-fraction", type=float, default=1.0, help="share of rated interactions"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.scratch, args.preset), default=float))
        return
    sizes = args.sizes.split(",") if args.sizes else None
    result = run(args.quick, sizes, args.preset, args.rated_fraction)
    name = "scaling" + ("" if args.rated_fraction >= 1 else f"_rated{args.rated_fraction:g}")
    path = write_result(name + ("_quick" if args.quick else ""), result)
    print(path.read_text())


if __name__ == "__main__":
    main()
