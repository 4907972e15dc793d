"""Newcomers on a global time cut, on VALIDATION only: how far a popularity prior for users
with no training rating would move the default joint model's ranking.

On the 20% time cut of MovieLens 100k most test users have no training rating
(docs/temporal.md), so the joint model places them by their side features alone. This
benchmark measures, with validation carved by time from training (the latest 10%), the
default model's Recall@10 / NDCG@10 when each newcomer's scores get ``beta * log(1 + n_i)``
added (``n_i``: item ``i``'s training interactions), for a grid of ``beta``, beside
popularity, over all validation users and over the newcomers alone. Nothing here changes
the product: it is the evidence for (or against) building such a prior into the scorer.

Run: ``python benchmarks/temporal_newcomers.py [--seeds 42,43]``
(writes results/temporal_newcomers.json).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import numpy as np
from common import header, ml100k_path, write_result

BETAS = (0.0, 0.1, 0.2, 0.5, 1.0, 10.0)
#: Protocol name -> the split (validation is carved from its training part by time).
PROTOCOLS: dict[str, dict[str, Any]] = {
    "temporal 0.2": {"method": "temporal", "test_fraction": 0.2},
    "leave_last_1": {"method": "leave_last_n", "leave_n": 1},
}
#: Shares of the latest training rows the popularity is counted over (1: all of them).
WINDOWS = (1.0,)
KEYS = ("recall@10", "ndcg@10", "users_evaluated")


class NewcomerPrior:
    """A scorer: ``base``'s scores, plus ``beta * log_popularity`` for newcomer users (and
    ``gamma * log_popularity`` for the others)."""

    def __init__(
        self,
        base: Any,
        newcomer: np.ndarray,
        log_popularity: np.ndarray,
        beta: float,
        gamma: float = 0.0,
    ):
        self.base, self.newcomer, self.log_popularity = base, newcomer, log_popularity
        self.beta, self.gamma = beta, gamma
        self.name, self.can_retrieve, self.can_rate = "newcomer prior", True, base.can_rate

    @property
    def num_items(self) -> int:
        return int(self.base.num_items)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        scores = np.asarray(self.base.score_users(users), dtype=np.float64)
        new = self.newcomer[np.asarray(users)]
        scores[new] += self.beta * self.log_popularity[None, :]
        if self.gamma:
            scores[~new] += self.gamma * self.log_popularity[None, :]
        return scores

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.asarray(self.base.predict_ratings(users, items))


def recent_counts(train: Any, num_items: int, window: float) -> np.ndarray:
    """Each item's interactions among the latest ``window`` share of the training rows."""
    from jointrec.data.splits import recent_rows

    rows = recent_rows(train.time, window)
    return np.bincount(train.item if rows is None else train.item[rows], minlength=num_items)


def run(
    seeds: list[int],
    betas: tuple[float, ...],
    windows: tuple[float, ...],
    gammas: tuple[float, ...] = (0.0,),
    protocol: str = "temporal 0.2",
) -> dict[str, Any]:
    from jointrec.baselines import BASELINES
    from jointrec.evaluation.evaluate import evaluate
    from jointrec.experiments.pipeline import as_experiment, load, prepare_data, train_model
    from jointrec.settings import SplitConfig, preset

    out: dict[str, Any] = {**header("temporal_newcomers", False), "seeds": seeds, "runs": {}}
    out["protocol"] = protocol
    experiment, dataset = as_experiment("default", ml100k_path())
    loaded = load(experiment, dataset, progress=False)
    for seed in seeds:
        split = SplitConfig(**{**PROTOCOLS[protocol], "validation_fraction": 0.1, "seed": seed})
        data = prepare_data(loaded.dataset, split)
        config = preset("default").replace(  # the prior is added here, so none in the model
            split=split.__dict__,
            train={"seed": seed},
            model={"retrieval": {"newcomer_popularity": 0.0, "recent_popularity": 0.0}},
        )
        trained = train_model(data, config, progress=False, evaluate_on=None)
        size = int(max(data.validation.user.max(), data.train.user.max())) + 1
        newcomer = np.bincount(data.train.user, minlength=size) == 0
        rows = np.flatnonzero(newcomer[data.validation.user])
        parts = {"all": data.validation, "newcomers": data.validation.take(rows)}
        if not len(rows):  # leave-last-n: every validation user has a history
            del parts["newcomers"]
        run: dict[str, Any] = {"newcomers": len(np.unique(data.validation.user[rows]))}
        scorers = {}
        for window in windows:
            counts = recent_counts(data.train, trained.exported.num_items, window)
            log_popularity = np.log1p(counts.astype(np.float64))
            suffix = "" if window == 1.0 else f", latest {window:g}"
            for b in betas:
                for g in gammas:
                    name = f"joint, beta {b}{suffix}" + (f", others {g}" if g else "")
                    scorers[name] = NewcomerPrior(trained.exported, newcomer, log_popularity, b, g)
            if window < 1.0:
                scorers[f"recent popularity{suffix}"] = NewcomerPrior(
                    trained.exported, newcomer, log_popularity, 1e6, 1e6
                )
        scorers["popularity"] = BASELINES["popularity"](data)
        for name, scorer in scorers.items():
            run[name] = {
                part: {k: evaluate(scorer, data.train, target, config.eval)[k] for k in KEYS}
                for part, target in parts.items()
            }
            print(seed, name, json.dumps(run[name]), flush=True)
        out["runs"][str(seed)] = run
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="42,43")
    parser.add_argument("--betas", default=",".join(map(str, BETAS)))
    parser.add_argument("--windows", default=",".join(map(str, WINDOWS)),
                        help="shares of the latest training rows counted")  # fmt: skip
    parser.add_argument("--gammas", default="0", help="prior weights for users with history")
    parser.add_argument("--protocol", default="temporal 0.2", choices=list(PROTOCOLS))
    parser.add_argument("--name", default="temporal_newcomers")
    args = parser.parse_args()
    result = run([int(s) for s in args.seeds.split(",")],
                 tuple(float(b) for b in args.betas.split(",")),
                 tuple(float(w) for w in args.windows.split(",")),
                 tuple(float(g) for g in args.gammas.split(",")), args.protocol)  # fmt: skip
    print(write_result(args.name, result))


if __name__ == "__main__":
    main()
