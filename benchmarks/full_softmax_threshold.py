"""How a full softmax costs against in-batch negatives as the catalogue grows: the basis of
``negatives="auto"`` (``jointrec.model.joint_model.FULL_SOFTMAX_MAX_ITEMS``).

For each catalogue size it trains the default preset's architecture (id towers, user
history, popularity feature; seen items excluded) on synthetic interactions, once with a
full softmax and once with in-batch negatives + logQ, and records the steady time per epoch
(minimum over a few epochs, seconds per 100k examples) and XLA's temporary memory of the
compiled training call (``memory_analysis()``: deterministic, not a noisy RSS reading).

Usage:
  python benchmarks/full_softmax_threshold.py [--sizes 1000,5000,...] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from machine import machine_info

HERE = Path(__file__).resolve().parent


def _data(num_users: int, num_items: int, examples: int, seed: int = 0) -> Any:
    from jointrec.data.interactions import Dataset, Interactions

    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, num_items + 1) ** 0.8  # Zipf-like item popularity
    item = rng.choice(num_items, examples, p=popularity / popularity.sum()) + 1
    user = rng.integers(1, num_users + 1, examples)
    pairs = np.unique(np.stack([user, item], 1), axis=0)
    rating = rng.integers(1, 6, len(pairs)).astype(np.float32)
    x = Interactions(pairs[:, 0], pairs[:, 1], rating, source="synthetic")
    return Dataset(name="synthetic", interactions=x)


def _measure(data: Any, negatives: str, epochs: int) -> dict[str, Any]:
    import keras

    from jointrec.backend.jax.training import JaxTrainingState
    from jointrec.experiments.pipeline import _tower_features
    from jointrec.model.build import build_model
    from jointrec.settings import preset
    from jointrec.training.batches import TrainingArrays, epoch_batches, item_log_frequencies
    from jointrec.training.loop import make_optimizer

    config = preset("default")
    changes: dict[str, Any] = {"negatives": negatives}
    if negatives == "in_batch":
        changes["logq_correction"] = True
    model_config = config.model.replace({"retrieval": changes})
    labels = data.train.labels()
    user_features, item_features = _tower_features(data, model_config)
    model = build_model(
        model_config,
        len(data.users),
        len(data.items),
        seed=0,
        training=data.train,
        batch_size=config.train.batch_size,
        user_features=user_features,
        item_features=item_features,
    )
    log_q = None
    if negatives != "full":
        log_q = item_log_frequencies(data.train.item, len(data.items))[data.train.item]
    arrays = TrainingArrays(data.train.user, data.train.item, labels, log_q)
    state = JaxTrainingState(
        model,
        keras.optimizers.serialize(make_optimizer(config.train)),
        lambda: make_optimizer(config.train),
    )
    rng = np.random.default_rng(0)
    batches = epoch_batches(arrays, rng.permutation(len(arrays)), config.train.batch_size)
    weights = np.asarray([1.0, 20.0], np.float32)
    compiled = state.runner.run.lower(state.state, batches, weights).compile()
    memory = compiled.memory_analysis()
    start = time.perf_counter()
    state.run(batches, 1.0, 20.0)
    first = time.perf_counter() - start
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        state.run(batches, 1.0, 20.0)
        seconds.append(time.perf_counter() - start)
    per_100k = min(seconds) * 100_000 / len(arrays)
    return {
        "seconds_per_100k_examples": per_100k,
        "first_call_seconds": first,
        "temp_memory_mb": None if memory is None else memory.temp_size_in_bytes / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,2000,5000,10000,20000,50000")
    parser.add_argument("--users", type=int, default=2000)
    parser.add_argument("--examples", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", default=str(HERE / "results" / "full_softmax_threshold.json"))
    args = parser.parse_args()

    from jointrec.experiments.pipeline import prepare_data
    from jointrec.settings import SplitConfig

    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        data = prepare_data(_data(args.users, size, args.examples), SplitConfig(test_fraction=0.05))
        row: dict[str, Any] = {"items": size, "train_examples": len(data.train)}
        for negatives in ("full", "in_batch"):
            row[negatives] = _measure(data, negatives, args.epochs)
        row["full_over_in_batch"] = (
            row["full"]["seconds_per_100k_examples"] / row["in_batch"]["seconds_per_100k_examples"]
        )
        rows.append(row)
        print(json.dumps(row), flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    result = {
        "benchmark": "full_softmax_threshold",
        "machine": machine_info(),
        "settings": {"users": args.users, "examples": args.examples, "batch_size": 1000},
        "rows": rows,
    }
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
