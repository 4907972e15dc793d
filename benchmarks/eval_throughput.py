"""Full-catalogue evaluation throughput (users/s) with seen-item exclusion: jointrec's
`evaluate` on MovieLens 100k and on a MovieLens-25M-sized catalogue (synthetic), with the
compiled JAX ranker and the NumPy ranker, measured in one process.

Run: ``python benchmarks/eval_throughput.py [--quick]`` (writes results/eval_throughput.json).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from common import data_path, header, quick_main


def _timed_eval(scorer: Any, train: Any, test: Any, config: Any, force: str) -> dict[str, Any]:
    from jointrec.evaluation import evaluate as ev

    old = ev.COMPILED_MIN_WORK
    ev.COMPILED_MIN_WORK = 0 if force == "jax" else 1 << 62
    try:
        ev.ranking_metrics(scorer, train, test, config)  # warm-up (compilation)
        start = time.perf_counter()
        report = ev.ranking_metrics(scorer, train, test, config)
        seconds = time.perf_counter() - start
    finally:
        ev.COMPILED_MIN_WORK = old
    users = report["users_evaluated"]
    return {
        "ranker": force,
        "seconds": seconds,
        "users_evaluated": users,
        "users_per_second": users / seconds,
        "recall@10": report["recall@10"],
    }


def movielens(quick: bool) -> dict[str, Any]:
    from jointrec import preset
    from jointrec.data.movielens import load_movielens
    from jointrec.experiments.pipeline import prepare_data, train_model

    cfg = preset("default").replace(train={"epochs": 1 if quick else 5})
    data = prepare_data(load_movielens("100k", path=data_path(quick), progress=False), cfg.split)
    trained = train_model(data, cfg, progress=False, evaluate_on=None)
    runs = [
        _timed_eval(trained.exported, data.train, data.test, cfg.eval, r) for r in ("numpy", "jax")
    ]
    return {"dataset": "movielens-100k", "items": len(data.items), "runs": runs}


def large_catalogue(quick: bool) -> dict[str, Any]:
    """A trained-size model on a 62k-item catalogue; users from synthetic 25M-shaped data."""
    from jointrec.data.encoded import EncodedInteractions
    from jointrec.data.synthetic import synthesize
    from jointrec.scoring.exported import ExportedModel
    from jointrec.settings import EvalConfig

    users, items = (256, 62_423) if quick else (8192, 62_423)
    x = synthesize(users, items, users * 154, seed=3)  # ML-25M: ~154 ratings per user
    rng = np.random.default_rng(0)
    test = rng.random(len(x)) < 0.2
    enc = EncodedInteractions(
        x.user.astype(np.int32), x.item.astype(np.int32), x.rating, x.rating_scale
    )
    train, held = enc.take(np.flatnonzero(~test)), enc.take(np.flatnonzero(test))
    scorer = ExportedModel(
        user_embeddings=rng.normal(size=(users + 1, 32)).astype(np.float32),
        item_embeddings=rng.normal(size=(items + 1, 32)).astype(np.float32),
        mlp=[(np.zeros((64, 1), np.float32), np.zeros(1, np.float32))],
        can_rate=False,
    )
    runs = [_timed_eval(scorer, train, held, EvalConfig(), r) for r in ("numpy", "jax")]
    return {"dataset": f"synthetic {users} users x {items} items", "items": items + 1, "runs": runs}


def run(quick: bool = False) -> dict[str, Any]:
    return {
        **header("eval_throughput", quick),
        "protocol": "full catalogue, training items excluded, Recall@10/50/100, NDCG, MAP, MRR, "
        "HR@10, tutorial top-10, coverage",
        "cases": [movielens(quick), large_catalogue(quick)],
    }


def main() -> None:
    quick_main("eval_throughput", run, __doc__.splitlines()[0], "tiny smoke run")


if __name__ == "__main__":
    main()
