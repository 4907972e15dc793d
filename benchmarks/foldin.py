"""Fold-in of a new visitor: quality and cost of the closed-form (Gauss-Newton ridge) fit
against the per-request gradient fit it replaced, in one run on the same visitors.

A visitor is simulated from a trained user (the artifact's training ratings): they tell
``given`` of their ratings, and the served list is scored on the others (relevant: rated
>= 4), the protocol of ``tests/inference/test_foldin_quality.py``. Per fit:

- ``precision@10`` of the served list in retrieval order (the default) and ordered by
  predicted stars (``rank_by="rating"``);
- ``rmse``: the rating head with the folded-in embedding against the visitor's other
  ratings (stars);
- ``objective``: the fit's own objective (squared error of the given ratings plus the ridge
  pull), lower is better;
- ``cpu_us``: CPU per fold-in on one thread.

The old fit is the Adam fold-in of another checkout (``--baseline-src``, e.g. ``git archive``
of the commit before), loaded from its ``foldin.py``; the new one is this checkout's, for a
range of Gauss-Newton step counts.

Run: ``PYTHONPATH=src python benchmarks/foldin.py ARTIFACT --baseline-src /tmp/base/src``
(writes results/foldin.json).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from machine import machine_info  # type: ignore[import-not-found]

HERE = Path(__file__).resolve().parent
Fit = Callable[[Any, np.ndarray, np.ndarray], tuple[np.ndarray, float, np.ndarray | None]]


def load_baseline(src: Path) -> Any:
    """The ``jointrec.inference.foldin`` module of another checkout, under its own name."""
    path = src / "jointrec" / "inference" / "foldin.py"
    spec = importlib.util.spec_from_file_location("baseline_foldin", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"error: {path} is not a Python file: pass the src folder of a checkout")
    module = importlib.util.module_from_spec(spec)
    sys.modules["baseline_foldin"] = module
    spec.loader.exec_module(module)
    return module


def visitors(
    art: Any, count: int, given: tuple[int, int], seed: int, minimum: int
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """``(given items, given stars, other items, other stars)`` of ``count`` visitors."""
    rng = np.random.default_rng(seed)
    out = []
    for u in rng.permutation(np.arange(1, len(art.users.ids) + 1)):
        items, ratings = art.seen.items_of(u), art.seen.values_of(u)
        if len(items) < minimum:
            continue
        n = int(rng.integers(given[0], given[1] + 1))
        told = rng.choice(len(items), n, replace=False)
        rest = np.setdiff1d(np.arange(len(items)), told)
        out.append((items[told], ratings[told].astype(np.float32), items[rest], ratings[rest]))
        if len(out) == count:
            break
    return out


def measure(rec: Any, fit: Fit, cases: list[Any], prior: Any) -> dict[str, float]:
    """Quality and CPU of one fit over the visitors."""
    from threadpoolctl import threadpool_limits

    m = rec.model
    precision: dict[str, list[float]] = {"retrieval": [], "rating": []}
    errors, objectives, cpu = [], [], 0.0
    low, high = m.rating_scale
    with threadpool_limits(1):
        for items, stars, other, other_stars in cases:
            start = time.process_time()
            embedding, bias, query = fit(m, items, stars)
            cpu += time.process_time() - start
            liked = set(other[other_stars >= 4].tolist())
            for order in precision:
                found = rec._retrieve_and_rank(query, embedding, bias, 10, 100, items, order)
                picked = {rec.item_index(r.item_id) for r in found}
                precision[order].append(len(picked & liked) / 10)
            errors.append(rec.ranker.stars(embedding, bias, other) - other_stars)
            labels = (stars - low) / (high - low)
            out = rec.ranker.labels(embedding, bias, items)
            params = np.r_[embedding, bias] - prior.center
            objectives.append(float(np.mean((out - labels) ** 2) + prior.penalty @ params**2))
    e = np.concatenate(errors)
    return {
        "precision@10": float(np.mean(precision["retrieval"])),
        "precision@10_rating_order": float(np.mean(precision["rating"])),
        "rmse": float(np.sqrt(np.mean(e**2))),
        "objective": float(np.mean(objectives)),
        "cpu_us": 1e6 * cpu / len(cases),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("artifact", type=Path, help="A trained artifact (jointrec train).")
    parser.add_argument("--baseline-src", type=Path, default=None, help="Old checkout's src.")
    parser.add_argument("--steps", default="1,2,3,5,8", help="Gauss-Newton step counts.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "foldin.json")
    args = parser.parse_args()

    from jointrec.inference import foldin
    from jointrec.inference.recommender import Recommender

    rec = Recommender.load(args.artifact)
    prior = foldin.RidgePrior.of(rec.model, "user", foldin.RIDGE)
    fits: dict[str, Fit] = {}
    for steps in [int(s) for s in args.steps.split(",")]:

        def new(m: Any, i: np.ndarray, s: np.ndarray, steps: int = steps) -> Any:
            f = foldin.fit_user(m, i, s, steps=steps, prior=prior)
            return f.embedding, f.bias, f.query

        fits[f"gauss-newton steps={steps}"] = new
    if args.baseline_src:
        old_module = load_baseline(args.baseline_src)

        def old(m: Any, i: np.ndarray, s: np.ndarray) -> Any:
            f = old_module.fit_user(m, i, s)
            return f.embedding, f.bias, f.query

        fits["adam 150 steps (baseline)"] = old
    protocols = {
        "20 given, users with >= 40 ratings (the band test's)": ((20, 20), 40, 80),
        "5-20 given, users with >= 30 ratings": ((5, 20), 30, 300),
    }
    report: dict[str, Any] = {
        "benchmark": "foldin",
        "machine": machine_info(),
        "artifact": str(args.artifact),
        "args": {k: str(v) for k, v in vars(args).items()},
        "results": {},
    }
    for name, (given, minimum, count) in protocols.items():
        cases = visitors(rec.artifact, count, given, args.seed, minimum)
        report["results"][name] = {"visitors": len(cases)}
        for fit_name, fit in fits.items():
            result = measure(rec, fit, cases, prior)
            report["results"][name][fit_name] = result
            print(name, "|", fit_name, json.dumps({k: round(v, 4) for k, v in result.items()}))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
