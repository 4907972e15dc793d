"""Issue 16's search on VALIDATION: what the default joint model needs to beat the strongest
specialists on both tasks, and the specialists' own settings, with the same budget.

Each candidate is the default preset with some settings changed. It trains on a validation
split carved from the training part (10%) of each split seed, logs validation RMSE, Recall@10
and NDCG@10 after every epoch, and keeps its best epoch by
Recall@10 + NDCG@10 - RMSE (the criterion `tune_defaults.py` used for the default). The
rating-only variants are scored by validation RMSE alone and the retrieval-only ones by
Recall@10 + NDCG@10. The strongest specialists (EASE on positives, I-AutoRec) are fitted on
the same fit part and scored on the same validation rows. The test split is never read.

Usage:
  python benchmarks/tune_quality.py --data ../shared/data/movielens/ml-100k.zip \
      [--seeds 42] [--only NAME ...] [--out benchmarks/tune_quality.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from machine import machine_info

MAX_EPOCHS = 10


def ae(units: int, combine: str = "sum", l2: float = 0.0, **train: Any) -> dict[str, Any]:
    """Changes that give the rating head an item autoencoder (`RatingConfig.autoencoder`)."""
    rating = {"autoencoder": units, "autoencoder_combine": combine, "autoencoder_l2": l2}
    return {"model": {"rating": rating}, **({"train": train} if train else {})}


def model(section: str, **values: Any) -> dict[str, Any]:
    """Changes to one group of the model settings."""
    return {"model": {section: values}}


#: (name, task, changes); task "joint", "rating" (rating-only) or "retrieval" (retrieval-only).
CANDIDATES: list[tuple[str, str, dict[str, Any]]] = [
    ("default", "joint", {}),
    ("autoencoder 64", "joint", ae(64)),
    ("autoencoder 64, l2 1e-4", "joint", ae(64, l2=1e-4)),
    ("autoencoder 128, l2 1e-4", "joint", ae(128, l2=1e-4)),
    ("autoencoder 64, l2 1e-3", "joint", ae(64, l2=1e-3)),
    ("autoencoder 64 mean", "joint", ae(64, "mean")),
    ("autoencoder 64 mean, l2 1e-4", "joint", ae(64, "mean", 1e-4)),
    ("autoencoder 128 mean, l2 1e-4", "joint", ae(128, "mean", 1e-4)),
    (
        "autoencoder 128 mean, l2 1e-4, learning rate 5e-3",
        "joint",
        ae(128, "mean", 1e-4, learning_rate=5e-3),
    ),
    ("rating-only", "rating", {}),
    ("rating-only, autoencoder 64, l2 1e-4", "rating", ae(64, l2=1e-4)),
    ("rating-only, autoencoder 64 mean, l2 1e-4", "rating", ae(64, "mean", 1e-4)),
    ("rating-only, autoencoder 128 mean, l2 1e-4", "rating", ae(128, "mean", 1e-4)),
    ("rating-only, MLP 256-128", "rating", model("rating", layer_sizes=(256, 128))),
    ("rating-only, dropout 0.2", "rating", model("rating", dropout=0.2)),
    ("retrieval-only", "retrieval", {}),
    ("retrieval-only, temperature 0.1", "retrieval", model("retrieval", temperature=0.1)),
    ("retrieval-only, temperature 0.3", "retrieval", model("retrieval", temperature=0.3)),
    ("retrieval-only, embedding 128", "retrieval", model("towers", embedding_dim=128)),
    ("retrieval-only, learning rate 5e-3", "retrieval", {"train": {"learning_rate": 5e-3}}),
]
WEIGHTS = {"joint": None, "rating": (0.0, 1.0), "retrieval": (1.0, 0.0)}


def score(task: str, entry: dict[str, float]) -> float:
    """The selection criterion of a task on validation metrics (higher is better)."""
    if task == "rating":
        return -entry["val_rmse"]
    ranking = entry["val_recall@10"] + entry["val_ndcg@10"]
    return ranking if task == "retrieval" else ranking - entry["val_rmse"]


def trial(data: Any, base: Any, name: str, task: str, changes: dict[str, Any]) -> dict[str, Any]:
    from jointrec.experiments.pipeline import train_model

    config = base.replace(**changes)
    weights = WEIGHTS[task]
    start = time.perf_counter()
    trained = train_model(
        data,
        config,
        name=name,
        progress=False,
        evaluate_on=None,
        monitor_validation=True,
        retrieval_weight=None if weights is None else weights[0],
        rating_weight=None if weights is None else weights[1],
    )
    curve = [
        {k: v for k, v in e.items() if k == "epoch" or k.startswith("val_")}
        for e in trained.history.epochs
    ]
    best = max(curve, key=lambda e: score(task, e))
    return {
        "name": name,
        "task": task,
        "changes": changes,
        "seconds": time.perf_counter() - start,
        "best_epoch": best["epoch"],
        "best": best,
        "curve": curve,
    }


def specialists(data: Any) -> dict[str, dict[str, float]]:
    """EASE on positives and I-AutoRec fitted on the fit part, scored on validation."""
    from jointrec.baselines import EASE, IAutoRec
    from jointrec.evaluation.evaluate import evaluate

    out = {}
    for name, model in (
        ("ease-positive", EASE.tuned_positive(data.train, len(data.users), len(data.items))),
        ("i-autorec", IAutoRec.tuned(data.train, len(data.users), len(data.items))),
    ):
        report = evaluate(model, data.train, data.validation)
        out[name] = {
            f"val_{k}": v for k, v in report.items() if k in ("rmse", "recall@10", "ndcg@10")
        }
    return out


def main() -> None:
    from jointrec.data.movielens import load_movielens
    from jointrec.experiments.pipeline import prepare_data
    from jointrec.settings import preset

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--only", nargs="*")
    parser.add_argument("--no-specialists", action="store_true")
    parser.add_argument("--max-epochs", type=int, default=MAX_EPOCHS)
    parser.add_argument("--tag", default="", help="suffix of the trial names in the JSON")
    parser.add_argument("--out", default="benchmarks/tune_quality.json")
    args = parser.parse_args()
    dataset = load_movielens("100k", path=args.data)
    out_path = Path(args.out)
    previous = json.loads(out_path.read_text()) if out_path.exists() else {}
    runs = previous.get("runs", {})
    for seed in [int(s) for s in args.seeds.split(",")]:
        base = preset("default").replace(
            split={"validation_fraction": 0.1, "seed": seed},
            train={"epochs": args.max_epochs, "seed": seed},
        )
        data = prepare_data(dataset, base.split)
        run = runs.setdefault(str(seed), {"trials": {}, "specialists": {}})
        if not args.no_specialists:
            run["specialists"] = specialists(data)
            print(seed, run["specialists"], flush=True)
        for name, task, changes in CANDIDATES:
            if args.only and name not in args.only:
                continue
            if name + args.tag in run["trials"] and args.tag:
                continue
            result = trial(data, base, name, task, changes)
            result["max_epochs"] = args.max_epochs
            run["trials"][name + args.tag] = result
            b = result["best"]
            print(
                f"seed {seed} {name:40s} epoch {result['best_epoch']:2d}: val RMSE "
                f"{b['val_rmse']:.4f} R@10 {b['val_recall@10']:.4f} NDCG@10 "
                f"{b['val_ndcg@10']:.4f} ({result['seconds']:.0f} s)",
                flush=True,
            )
            out_path.write_text(json.dumps({"machine": machine_info(), "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
