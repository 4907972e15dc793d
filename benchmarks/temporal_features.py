"""Forward-in-time features, chosen on validation: the default joint model with and without
``item_recency`` (each item's interactions in the latest 10% of training and its age, as of
the training cut) on splits by time, against popularity and biased MF.

Validation is carved by time from the training part (``validation_fraction=0.1``: the latest
10% of train for the time cut, each user's last rating of train for leave-last-1); the
models are fitted on the rest and scored there. The test split is not read here: the
variant chosen on validation is then measured once with ``jointrec compare``.

Run: ``PYTHONPATH=src python benchmarks/temporal_features.py --data ml-100k.zip``
(writes results/temporal_features.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from machine import machine_info  # type: ignore[import-not-found]

HERE = Path(__file__).resolve().parent
KEYS = ("rmse", "recall@10", "ndcg@10", "users_evaluated")
#: Candidate name -> settings changed from the default preset.
CANDIDATES: dict[str, dict[str, Any]] = {
    "default": {},
    "default + item_recency": {"model": {"towers": {"item_recency": True}}},
    **{
        f"user_cold_dropout {p}": {"model": {"towers": {"user_cold_dropout": p}}}
        for p in (0.1, 0.25, 0.5)
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="MovieLens 100k zip or folder")
    parser.add_argument("--seeds", default="42,43")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "temporal_features.json")
    parser.add_argument("--candidates", default="default;default + item_recency",
                        help=f"names, ;-separated, of {list(CANDIDATES)}")  # fmt: skip
    parser.add_argument("--protocols", default="temporal 0.2;leave_last_1")
    args = parser.parse_args()

    from jointrec.baselines import BASELINES
    from jointrec.evaluation.evaluate import evaluate
    from jointrec.experiments.pipeline import as_experiment, load, prepare_data, train_model
    from jointrec.settings import SplitConfig, preset

    protocols = {
        "temporal 0.2": SplitConfig(method="temporal", test_fraction=0.2, validation_fraction=0.1),
        "leave_last_1": SplitConfig(method="leave_last_n", leave_n=1, validation_fraction=0.1),
    }
    report: dict[str, Any] = {"benchmark": "temporal_features", "machine": machine_info()}
    results: dict[str, Any] = {}
    experiment, dataset = as_experiment("default", args.data)
    loaded = load(experiment, dataset, progress=False)
    protocols = {name: protocols[name] for name in args.protocols.split(";")}
    for protocol, split in protocols.items():
        for seed in [int(s) for s in args.seeds.split(",")]:
            split_seeded = SplitConfig(**{**split.__dict__, "seed": seed})
            data = prepare_data(loaded.dataset, split_seeded)
            # validation as the test of this run: baselines see only the fitted part
            rows: dict[str, Any] = {}
            for name in args.candidates.split(";"):
                config = preset("default").replace(train={"seed": seed}, **CANDIDATES[name])
                config = config.replace(split=split_seeded.__dict__)
                trained = train_model(
                    data, config, name=name, progress=False, evaluate_on="validation"
                )
                rows[name] = {k: trained.report.get(k) for k in KEYS}
            for name in ("popularity", "biased-mf"):
                scorer = BASELINES[name](data)
                r = evaluate(scorer, data.train, data.validation, preset("default").eval)
                rows[name] = {k: r.get(k) for k in KEYS}
            counts = np.bincount(data.train.user, minlength=int(data.validation.user.max()) + 1)
            rows["validation users with no training rating"] = len(
                np.unique(data.validation.user[counts[data.validation.user] == 0])
            )
            results[f"{protocol} seed {seed}"] = rows
            print(protocol, seed, json.dumps(rows))
    report["validation"] = results
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
