"""Lazy row-wise Adam against dense Adam for the default preset, on VALIDATION, at a
catalogue where both are affordable: quality and training throughput in the same run.

The default preset trains with Adam. Row-wise table updates (``train.embedding_updates``)
make a step cost O(batch) instead of O(table), but for Adam they are the "lazy" variant: the
moments of rows a batch does not touch are not decayed, and the tables' L2 penalty falls on
the rows a batch touches. ``"auto"`` uses them for tables of at least
``AUTO_LAZY_MIN_ROWS_PER_BATCH`` batches' worth of rows; this benchmark is what that rests on.

For each seed, the synthetic file (``jointrec data synth``, 5M interactions of 32,500 users x
12,500 items by default) is split 80/20 with 10% of the training part carved off as
validation; the default preset is trained with dense and with row-wise updates on the same
rows, for the same epochs, and evaluated on validation (the test split is not read).

Run: ``python benchmarks/lazy_updates.py [--interactions 5000000] [--seeds 42,43]
[--epochs 2]`` (writes results/lazy_updates.json).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import header, write_result

METRICS = ("recall@10", "ndcg@10", "rmse")


def run(users: int, items: int, interactions: int, seeds: list[int], epochs: int) -> dict[str, Any]:
    from jointrec.experiments.pipeline import as_experiment, load, prepare_data, train_model
    from jointrec.settings import DataConfig, SplitConfig

    out: dict[str, Any] = {
        **header("lazy_updates", False),
        "data": {"users": users, "items": items, "interactions": interactions},
        "epochs": epochs,
        "seeds": seeds,
        "runs": [],
    }
    with tempfile.TemporaryDirectory() as scratch:
        parquet = Path(scratch) / "synthetic.parquet"
        subprocess.run(
            [sys.executable, "-m", "jointrec", "data", "synth", "--out", str(parquet), "-q",
             "--users", str(users), "--items", str(items), "--interactions", str(interactions)],
            check=True,
        )  # fmt: skip
        data_config = DataConfig(
            interactions=str(parquet),
            user_col="user_id",
            item_col="item_id",
            rating_col="rating",
            time_col="timestamp",
        )
        experiment, _ = as_experiment("default", data_config)
        loaded = load(experiment, progress=False)
        for seed in seeds:
            split = SplitConfig(test_fraction=0.2, validation_fraction=0.1, seed=seed)
            data = prepare_data(loaded.dataset, split)
            for mode in ("dense", "sparse"):
                config = loaded.experiment.run.replace(
                    split=split.__dict__,
                    train={"seed": seed, "epochs": epochs, "embedding_updates": mode},
                )
                start = time.perf_counter()
                trained = train_model(data, config, progress=False, evaluate_on="validation")
                seconds = time.perf_counter() - start
                examples = len(data.train) * epochs
                row = {
                    "seed": seed,
                    "updates": mode,
                    "train_seconds": trained.train_seconds,
                    "examples_per_second": examples / trained.train_seconds,
                    "seconds_with_evaluation": seconds,
                    **{m: trained.report[m] for m in METRICS},
                }
                out["runs"].append(row)
                print(row, flush=True)
    out["summary"] = summarise(out["runs"])
    return out


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per metric, the row-wise minus dense difference of each seed, and the speed ratio."""
    by = {(r["seed"], r["updates"]): r for r in runs}
    seeds = sorted({r["seed"] for r in runs})
    summary: dict[str, Any] = {}
    for metric in (*METRICS, "examples_per_second"):
        diffs = [by[(s, "sparse")][metric] - by[(s, "dense")][metric] for s in seeds]
        summary[f"{metric}_sparse_minus_dense"] = diffs
    summary["speedup"] = [
        by[(s, "sparse")]["examples_per_second"] / by[(s, "dense")]["examples_per_second"]
        for s in seeds
    ]
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=32_500)
    parser.add_argument("--items", type=int, default=12_500)
    parser.add_argument("--interactions", type=int, default=5_000_000)
    parser.add_argument("--seeds", default="42,43")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--out", default="lazy_updates", help="result name")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    result = run(args.users, args.items, args.interactions, seeds, args.epochs)
    write_result(args.out, result)


if __name__ == "__main__":
    main()
