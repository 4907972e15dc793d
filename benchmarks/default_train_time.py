"""Training time of the default preset against the default before issue 16 (no rating
autoencoder, 5 epochs), interleaved in one process, on MovieLens 100k (seed 42 split).

The issue's budget: the new default trains within 3x of the old one. Each round trains the
old then the new default (the first round also compiles both, so it is reported apart); the
ratio is the median of the per-round ratios.

Usage:
  python benchmarks/default_train_time.py --data ../shared/data/movielens/ml-100k.zip \
      [--rounds 3] [--out benchmarks/results/default_train_time.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from machine import machine_info


def main() -> None:
    from jointrec.data import load_movielens
    from jointrec.experiments.pipeline import prepare_data, train_model
    from jointrec.settings import preset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/default_train_time.json")
    args = parser.parse_args()
    new = preset("default")
    old = new.replace(model={"rating": {"autoencoder": 0}}, train={"epochs": 5})
    data = prepare_data(load_movielens("100k", path=args.data), new.split)
    rounds = []
    for r in range(args.rounds + 1):
        row = {}
        for name, config in (("old", old), ("new", new)):
            start = time.perf_counter()
            trained = train_model(data, config, name=name, progress=False, evaluate_on=None)
            row[name] = time.perf_counter() - start
            row[f"{name}_fit_seconds"] = trained.train_seconds
        row["ratio"] = row["new"] / row["old"]
        rounds.append(row)
        print(f"round {r}: old {row['old']:.1f} s, new {row['new']:.1f} s, x{row['ratio']:.2f}")
    steady = rounds[1:]
    result = {
        "machine": machine_info(),
        "what": "train_model wall seconds (build, fit, export), seed-42 split of ML-100k",
        "first_round_with_compilation": rounds[0],
        "rounds": steady,
        "median_ratio_new_over_old": statistics.median(r["ratio"] for r in steady),
        "median_old_seconds": statistics.median(r["old"] for r in steady),
        "median_new_seconds": statistics.median(r["new"] for r in steady),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k.startswith("median")}, indent=2))


if __name__ == "__main__":
    main()
