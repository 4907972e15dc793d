"""Which order should the served list have? Ranking metrics of the two orders the
`Recommender` offers for the same candidates: the retrieval score (``rank_by="retrieval"``,
the default) and the rating head's predicted stars (``rank_by="rating"``, the tutorial's
retrieve-then-rank), plus blends of the two.

The default preset is trained on a validation split carved from training (seeds 42 and 43)
and each order is scored on that validation split; the test split is read once, on seed 42,
for the record. Relevance, exclusion of training items and the cut-offs are those of
`jointrec.evaluation.evaluate`: each user's 100 best unseen items by retrieval score are
re-ordered, the rest of the catalogue keeps the retrieval order behind them.

Run: ``python benchmarks/served_ranking.py --data ml-100k.zip``
(writes results/served_ranking.json).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
from machine import machine_info

HERE = Path(__file__).resolve().parent
CANDIDATES = 100
KEYS = ("recall@10", "ndcg@10", "map@10", "mrr")


class ServedOrder:
    """A `Scorer` whose ranking is the served list: the top ``CANDIDATES`` unseen items by
    retrieval score, re-ordered by ``score = retrieval logit + beta * predicted stars``
    (``beta=None``: by predicted stars alone, ties by retrieval score)."""

    name = "served"
    can_retrieve = True
    can_rate = False
    temperature = 0.2  # the default preset's: cosine / temperature is the retrieval logit

    def __init__(self, model: Any, seen: dict[int, np.ndarray], beta: float | None) -> None:
        self.model, self.seen, self.beta = model, seen, beta

    @property
    def num_items(self) -> int:
        return int(self.model.num_items)

    def score_users(self, users: np.ndarray) -> np.ndarray:
        scores = self.model.score_users(users).astype(np.float64)
        out = scores.copy()
        for row, user in enumerate(users):
            masked = scores[row].copy()
            masked[0] = -np.inf
            masked[self.seen.get(int(user), np.empty(0, dtype=np.int64))] = -np.inf
            pool = np.argpartition(-masked, CANDIDATES)[:CANDIDATES]
            stars = self.model.predict_ratings(np.full(len(pool), user), pool)
            if self.beta is None:
                value = stars * 10.0 + scores[row, pool]  # stars first, ties by (cosine) score
            else:
                value = scores[row, pool] / self.temperature + self.beta * stars
            # Above every cosine score (<= 1), small enough for float32 to keep the order.
            out[row, pool] = 100.0 + value
        return out

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.model.predict_ratings(users, items)


def orders(model: Any, seen: dict[int, np.ndarray]) -> dict[str, Any]:
    """The orders compared, by name."""
    found: dict[str, Any] = {"retrieval score (default)": model}
    found["predicted stars (rank_by=rating)"] = ServedOrder(model, seen, None)
    for beta in (0.1, 0.25, 0.5, 1.0):
        found[f"blend: logit + {beta} x stars"] = ServedOrder(model, seen, beta)
    return found


def measure(dataset: Any, seed: int, split: str) -> dict[str, dict[str, float]]:
    from jointrec import preset
    from jointrec.evaluation.evaluate import evaluate
    from jointrec.experiments.pipeline import prepare_data, train_model

    fraction = 0.1 if split == "validation" else 0.0
    config = preset("default").replace(
        split={"seed": seed, "validation_fraction": fraction}, train={"seed": seed}
    )
    data = prepare_data(dataset, config.split)
    trained = train_model(data, config, progress=False, evaluate_on=None)
    model = trained.exported
    seen: dict[int, list[int]] = {}
    for user, item in zip(data.train.user, data.train.item, strict=True):
        seen.setdefault(int(user), []).append(int(item))
    seen_arrays = {u: np.asarray(i) for u, i in seen.items()}
    target = data.validation if split == "validation" else data.test
    results = {}
    for name, scorer in orders(model, seen_arrays).items():
        report = evaluate(scorer, data.train, target, config.eval)
        results[name] = {k: float(report[k]) for k in KEYS}
        print(
            f"{split} seed {seed} {name:34s} "
            + " ".join(f"{k} {results[name][k]:.4f}" for k in KEYS),
            flush=True,
        )
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="MovieLens 100k zip or folder")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "served_ranking.json")
    args = parser.parse_args()

    from jointrec.data import load_movielens

    dataset = load_movielens("100k", path=args.data, progress=False)
    result = {
        "benchmark": "served_ranking",
        "machine": machine_info(),
        "candidates": CANDIDATES,
        "validation_seed_42": measure(dataset, 42, "validation"),
        "validation_seed_43": measure(dataset, 43, "validation"),
        "test_seed_42": measure(dataset, 42, "test"),
    }
    args.out.write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
