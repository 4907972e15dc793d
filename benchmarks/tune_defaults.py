"""Reproduces the default preset's settings from a search on the VALIDATION split, then
reports the chosen default on the test split over three split seeds.

Stages:
  search  train each candidate (the default preset with some settings changed) on a
          validation split carved from training (10%), logging validation RMSE,
          Recall@10 and NDCG@10 after every epoch; pick the (candidate, epoch) with the
          best score = Recall@10 + NDCG@10 - RMSE (a 0.01 gain in either ranking metric
          is worth a 0.01-star loss in RMSE). The test split is not read.
  final   train preset("default") on the tutorial's split (seeds 42, 43, 44: split and
          weights), evaluate on test once, and report mean and spread; on seed 42 also fit
          the baselines for the same table.

Usage:
  python benchmarks/tune_defaults.py --data ../shared/data/movielens/ml-100k.zip \
      [--stage search|final|all] [--out benchmarks/tune_defaults.json]

The JSON records the machine (CPU model, cores, load, date) with the raw numbers.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

from machine import machine_info

#: Candidates around the default: (name, {section: {field: value}}). The first is the
#: default itself. Epoch counts are chosen from the per-epoch validation curves. The search
#: ran in rounds: after round 1 (up to "embedding 128") the winner, "all seen items
#: excluded", became the default, and later candidates change that new default; each trial
#: in the JSON records its full config.
CANDIDATES: list[tuple[str, dict[str, dict[str, Any]]]] = [
    ("default", {}),
    ("temperature 0.3", {"model": {"temperature": 0.3}}),
    ("learned temperature", {"model": {"learn_temperature": True}}),
    ("rating weight 1", {"model": {"rating_weight": 1.0}}),
    ("rating weight 50", {"model": {"rating_weight": 50.0}}),
    ("uncertainty weighting", {"model": {"loss_weighting": "uncertainty", "rating_weight": 1.0}}),
    ("no side features", {"model": {"user_features": (), "item_features": ()}}),
    ("no user history", {"model": {"user_history": 0}}),
    ("in-batch + logQ", {"model": {"negatives": "in_batch", "logq_correction": True}}),
    ("MLP 256-128", {"model": {"layer_sizes": (256, 128)}}),
    ("weight decay 0.2", {"train": {"weight_decay": 0.2}}),
    ("all seen items excluded", {"model": {"exclude_seen": "all"}}),
    ("rating-weighted positives", {"model": {"positive_weighting": "rating"}}),
    ("embedding 128", {"model": {"embedding_dim": 128}}),
    ("item history 64", {"model": {"item_history": 64}}),
    ("user history 128", {"model": {"user_history": 128}}),
]
MAX_EPOCHS = 7
SEEDS = (42, 43, 44)


def score(entry: dict[str, float]) -> float:
    """The selection criterion on validation metrics."""
    return entry["val_recall@10"] + entry["val_ndcg@10"] - entry["val_rmse"]


def search(
    dataset: Any, progress: bool, only: list[str] | None = None, previous: Any = None
) -> dict[str, Any]:
    from jointrec.experiments.pipeline import prepare_data, train_model
    from jointrec.settings import preset

    base = preset("default").replace(
        split={"validation_fraction": 0.1}, train={"epochs": MAX_EPOCHS}
    )
    data = prepare_data(dataset, base.split)
    names = [n for n, _ in CANDIDATES]
    unknown = set(only or []) - set(names)
    if unknown:
        raise SystemExit(f"unknown candidates {sorted(unknown)}: expected some of {names}")
    kept = [t for t in (previous or {}).get("trials", []) if only and t["name"] not in only]
    trials = list(kept)
    for name, changes in CANDIDATES:
        if only and name not in only:
            continue
        config = base.replace(**changes)
        start = time.perf_counter()
        trained = train_model(
            data, config, name=name, progress=progress, evaluate_on=None, monitor_validation=True
        )
        curve = [
            {k: v for k, v in e.items() if k == "epoch" or k.startswith("val_") or "loss" in k}
            for e in trained.history.epochs
        ]
        best = max(curve, key=score)
        trials.append(
            {
                "name": name,
                "changes": changes,
                "config": config.to_dict(),
                "seconds": time.perf_counter() - start,
                "best_epoch": best["epoch"],
                "best_score": score(best),
                "best": best,
                "curve": curve,
            }
        )
        print(
            f"{name:28s} best epoch {best['epoch']}: val RMSE {best['val_rmse']:.4f} "
            f"R@10 {best['val_recall@10']:.4f} NDCG@10 {best['val_ndcg@10']:.4f} "
            f"score {score(best):.4f}",
            flush=True,
        )
    trials.sort(key=lambda t: names.index(t["name"]) if t["name"] in names else len(names))
    chosen = max(trials, key=lambda t: t["best_score"])
    return {
        "criterion": "val recall@10 + val ndcg@10 - val rmse",
        "validation_fraction": 0.1,
        "max_epochs": MAX_EPOCHS,
        "base": base.to_dict(),
        "trials": trials,
        "chosen": {
            "name": chosen["name"],
            "changes": chosen["changes"],
            "epochs": chosen["best_epoch"],
        },
    }


def final(dataset: Any, progress: bool) -> dict[str, Any]:
    from jointrec.baselines import BASELINES
    from jointrec.evaluation.evaluate import evaluate
    from jointrec.experiments.pipeline import prepare_data, train_model
    from jointrec.settings import preset

    keys = ("rmse", "recall@10", "ndcg@10", "recall@100")
    runs = []
    baselines: dict[str, Any] = {}
    for seed in SEEDS:
        config = preset("default").replace(split={"seed": seed}, train={"seed": seed})
        data = prepare_data(dataset, config.split)
        start = time.perf_counter()
        trained = train_model(data, config, name=f"default seed {seed}", progress=progress)
        runs.append(
            {
                "seed": seed,
                "train_seconds": trained.train_seconds,
                "seconds": time.perf_counter() - start,
                "metrics": {k: trained.report[k] for k in keys},
            }
        )
        print(f"seed {seed}: " + " ".join(f"{k} {trained.report[k]:.4f}" for k in keys), flush=True)
        if seed == SEEDS[0]:
            for name, factory in BASELINES.items():
                t = time.perf_counter()
                report = evaluate(factory(data), data.train, data.test, config.eval)
                baselines[name] = {
                    "seconds": time.perf_counter() - t,
                    "metrics": {k: report[k] for k in keys if k in report},
                }
    summary = {
        k: {
            "mean": statistics.mean(r["metrics"][k] for r in runs),
            "std": statistics.stdev(r["metrics"][k] for r in runs),
            "min": min(r["metrics"][k] for r in runs),
            "max": max(r["metrics"][k] for r in runs),
        }
        for k in keys
    }
    return {
        "config": preset("default").to_dict(),
        "runs": runs,
        "summary": summary,
        "baselines_seed_42": baselines,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="MovieLens 100k zip")
    parser.add_argument("--stage", choices=("search", "final", "all"), default="all")
    parser.add_argument("--out", default=str(Path(__file__).with_suffix(".json")))
    parser.add_argument("--progress", action="store_true")
    parser.add_argument(
        "--only", help="comma-separated candidate names to (re)run; other trials are kept"
    )
    args = parser.parse_args()

    from jointrec.data import load_movielens

    dataset = load_movielens("100k", path=args.data)
    out = Path(args.out)
    result = json.loads(out.read_text()) if out.exists() else {}
    result["machine"] = machine_info()
    if args.stage in ("search", "all"):
        only = [n.strip() for n in args.only.split(",")] if args.only else None
        result["search"] = search(dataset, args.progress, only, result.get("search"))
        out.write_text(json.dumps(result, indent=1))
    if args.stage in ("final", "all"):
        result["final"] = final(dataset, args.progress)
        out.write_text(json.dumps(result, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
