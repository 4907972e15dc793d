"""Rating shrinkage on VALIDATION only: how far pulling each user's predicted rating towards
the average training user's (``rating.shrinkage = k``: weight ``n / (n + k)`` on the user's
own prediction, ``n`` their training ratings) moves the default joint model's RMSE.

For each protocol (random, a global 20% time cut, leave-last-1) and seed, the default is
trained once without shrinkage on the training part, with a validation part carved from it
(by time on the time protocols); the test split is not read. Each ``k`` is applied to the
same trained model (`jointrec.artifact.export.add_rating_shrinkage`), beside biased MF
trained on the same rows. RMSE is over all validation rows and over the rows of users with
no training rating (newcomers: ``k`` does not matter for them, they get the average user's).

Run: ``python benchmarks/rating_shrinkage.py [--seeds 42,43]``
(writes results/rating_shrinkage.json).
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

import numpy as np
from common import header, ml100k_path, write_result

KS = (0.0, 2.0, 5.0, 10.0, 20.0, 50.0)
#: Protocol name -> the split (validation is carved from its training part).
PROTOCOLS: dict[str, dict[str, Any]] = {
    "random": {"method": "random", "test_fraction": 0.2},
    "temporal 0.2": {"method": "temporal", "test_fraction": 0.2},
    "leave_last_1": {"method": "leave_last_n", "leave_n": 1},
}


def rmse(predicted: np.ndarray, stars: np.ndarray, rows: Any = slice(None)) -> float | None:
    """RMSE over ``rows`` (``None`` when there are none)."""
    err = np.asarray(predicted)[rows] - np.asarray(stars)[rows]
    return float(np.sqrt(np.mean(err**2))) if err.size else None


def run(seeds: list[int], ks: tuple[float, ...]) -> dict[str, Any]:
    from jointrec.artifact.export import add_rating_shrinkage
    from jointrec.baselines import BASELINES
    from jointrec.experiments.pipeline import as_experiment, load, prepare_data, train_model
    from jointrec.settings import SplitConfig, preset

    out: dict[str, Any] = {**header("rating_shrinkage", False), "seeds": seeds, "runs": {}}
    experiment, dataset = as_experiment("default", ml100k_path())
    loaded = load(experiment, dataset, progress=False)
    for protocol, method in PROTOCOLS.items():
        out["runs"][protocol] = {}
        for seed in seeds:
            split = SplitConfig(**{**method, "validation_fraction": 0.1, "seed": seed})
            data = prepare_data(loaded.dataset, split)
            config = preset("default").replace(
                split=split.__dict__, train={"seed": seed}, model={"rating": {"shrinkage": 0.0}}
            )
            trained = train_model(data, config, progress=False, evaluate_on=None)
            val = data.validation
            stars = np.asarray(val.rating, dtype=np.float64)
            rated = data.train.user[np.isfinite(data.train.labels())]
            n = np.bincount(rated, minlength=trained.exported.num_users)
            new = n[val.user] == 0
            mf = BASELINES["biased-mf"](data).predict_ratings(val.user, val.item)
            run: dict[str, Any] = {
                "rows": len(stars),
                "newcomer_rows": int(new.sum()),
                "biased-mf": {"all": rmse(mf, stars), "newcomers": rmse(mf, stars, new)},
                "joint, no shrinkage": {
                    "all": rmse(trained.exported.predict_ratings(val.user, val.item), stars),
                },
            }
            for k in ks:
                if k <= 0:
                    continue
                model = copy.copy(trained.exported)
                add_rating_shrinkage(model, rated, k)
                p = model.predict_ratings(val.user, val.item)
                run[f"joint, k {k:g}"] = {
                    "all": rmse(p, stars),
                    "newcomers": rmse(p, stars, new),
                    "known": rmse(p, stars, ~new),
                }
            print(protocol, seed, {name: v for name, v in run.items()}, flush=True)
            out["runs"][protocol][str(seed)] = run
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="42,43")
    parser.add_argument("--ks", default=",".join(map(str, KS)))
    args = parser.parse_args()
    result = run(
        [int(s) for s in args.seeds.split(",")], tuple(float(k) for k in args.ks.split(","))
    )
    print(write_result("rating_shrinkage", result))


if __name__ == "__main__":
    main()
