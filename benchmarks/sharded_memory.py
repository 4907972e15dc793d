"""Per-device memory of the compiled training program, replicated vs `--shard-embeddings`.

Compiles (does not run) the distributed training steps of the default preset for odd-sized
user and item tables on N virtual CPU devices, and reports XLA's memory analysis and how
often a full-size table appears in the per-device program.

Usage:
    python benchmarks/sharded_memory.py [--devices 2] [--users 15001] [--items 10001]
Writes benchmarks/results/sharded_memory.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(users: int, items: int, dim: int, shard: bool, negatives: str) -> dict[str, object]:

    import jax
    import keras
    import numpy as np

    from jointrec.backend.jax.cluster import ClusterSpec, using
    from jointrec.backend.jax.distributed import ShardedTrainingState
    from jointrec.model.build import build_model
    from jointrec.settings import TrainConfig, preset
    from jointrec.training.loop import make_optimizer

    config = preset().model.replace(
        {
            "towers": {"embedding_dim": dim},
            "rating": {"layer_sizes": (64,)},
            "retrieval": {"negatives": negatives},
        }
    )
    model = build_model(config, users, items, seed=0)
    train = TrainConfig(batch_size=256)
    with using(ClusterSpec(all_devices=True, shard_embeddings=shard)) as cluster:
        state = ShardedTrainingState(
            model,
            keras.optimizers.serialize(make_optimizer(train)),
            lambda: make_optimizer(train),
            cluster,
            shard,
        )
        steps, batch = 4, train.batch_size
        rng = np.random.default_rng(0)
        batches = {
            "user": rng.integers(1, users, (steps, batch)).astype(np.int32),
            "item": rng.integers(1, items, (steps, batch)).astype(np.int32),
            "label": rng.random((steps, batch)).astype(np.float32),
            "mask": np.ones((steps, batch), np.float32),
            "log_q": np.zeros((steps, batch), np.float32),
        }
        inputs = {
            k: jax.make_array_from_process_local_data(state.data_sharding, v)
            for k, v in batches.items()
        }
        weights = jax.make_array_from_callback(
            (2,), state.replicated, lambda i: np.ones(2, np.float32)[i]
        )
        compiled = state._run.lower(state.state, inputs, weights).compile()
    text = compiled.as_text()
    memory = compiled.memory_analysis()
    return {
        "argument_bytes": memory.argument_size_in_bytes,
        "temp_bytes": memory.temp_size_in_bytes,
        "output_bytes": memory.output_size_in_bytes,
        # Full-size [rows, dim] arrays in the per-device program; full-softmax retrieval
        # scores every item each step, so the item table is gathered whole by design.
        "full_user_table_arrays": len(re.findall(re.escape(f"f32[{users},{dim}]"), text)),
        "full_item_table_arrays": len(re.findall(re.escape(f"f32[{items},{dim}]"), text)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--users", type=int, default=15_001)
    parser.add_argument("--items", type=int, default=10_001)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sharded_memory.json")
    args = parser.parse_args()
    if "XLA_FLAGS" not in os.environ:  # virtual devices must be set before JAX starts
        os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.devices}"
        os.execv(sys.executable, [sys.executable, *sys.argv])
    from machine import machine_info

    import jointrec  # noqa: F401  (JAX backend)

    results: dict[str, object] = {
        "machine": machine_info(),
        "devices": args.devices,
        "tables": {"users": args.users, "items": args.items, "dim": args.dim},
        "optimizer": "adam (2 slots per table)",
    }
    # The default preset's full softmax keeps a replicated users x items "seen" mask (one
    # byte per cell); in-batch negatives have none, so there the tables dominate.
    for negatives in ("full", "in_batch"):
        results[f"negatives={negatives}"] = {
            layout: measure(args.users, args.items, args.dim, shard, negatives)
            for layout, shard in (("replicated", False), ("sharded", True))
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
