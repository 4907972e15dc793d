"""Chooses how the default preset adapts to sparse ratings, on VALIDATION only.

The tutorial's split (seed 42) with 10% of the training part carved out as validation (the
test split is not read): the rating of a seeded share ``f`` of the remaining training rows is
kept, the others stay unrated (`jointrec.experiments.transfer`). For each candidate (the
default preset with ``multitask.rated_share_exponent`` and other settings changed) the joint
model trains on every row and is scored on the fully rated validation split, next to the
rating specialists trained on the rated rows alone (rating-only jointrec, biased MF,
I-AutoRec). The chosen rule goes into `jointrec.settings.presets.default`; the test numbers
come from ``jointrec transfer`` (docs/sparse-ratings.md).

Run: ``python benchmarks/sparse_ratings.py [--fractions 1,0.1,0.02] [--seeds 42]
[--candidates "NAME;..."]`` (writes results/sparse_ratings_validation.json).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from common import header, ml100k_path, write_result

#: Candidate name -> settings changed from the default preset.
CANDIDATES: dict[str, dict[str, Any]] = {
    "exponent 0": {"model": {"multitask": {"rated_share_exponent": 0.0}}},
    "exponent 0.5": {"model": {"multitask": {"rated_share_exponent": 0.5}}},
    "exponent 1": {"model": {"multitask": {"rated_share_exponent": 1.0}}},
    "exponent 1.5": {"model": {"multitask": {"rated_share_exponent": 1.5}}},
    "exponent 2": {"model": {"multitask": {"rated_share_exponent": 2.0}}},
    "exponent 3": {"model": {"multitask": {"rated_share_exponent": 3.0}}},
    "exponent 4": {"model": {"multitask": {"rated_share_exponent": 4.0}}},
    "exponent 0.5, no rating biases": {
        "model": {"multitask": {"rated_share_exponent": 0.5}, "rating": {"biases": False}}
    },
    "exponent 1, no rating biases": {
        "model": {"multitask": {"rated_share_exponent": 1.0}, "rating": {"biases": False}}
    },
    "exponent 1, 10 epochs": {
        "model": {"multitask": {"rated_share_exponent": 1.0}},
        "train": {"epochs": 10},
    },
    "exponent 1, embedding_l2 1e-4": {
        "model": {"multitask": {"rated_share_exponent": 1.0}, "towers": {"embedding_l2": 1e-4}}
    },
    # How much an unrated row counts as a retrieval positive (today's default: exponent 3).
    **{
        f"unrated weight {w}": {"model": {"retrieval": {"unrated_weight": w}}}
        for w in (0.5, 0.25, 0.1)
    },
    **{
        f"unrated ramp {r}": {"model": {"retrieval": {"unrated_ramp": r}}}
        for r in (0.5, 1.0, 2.0, 3.0, 4.0)
    },
    "unrated ramp 3.0, weight 0.5": {
        "model": {"retrieval": {"unrated_ramp": 3.0, "unrated_weight": 0.5}}
    },
    "unrated ramp 3.0, exponent 2": {
        "model": {"retrieval": {"unrated_ramp": 3.0}, "multitask": {"rated_share_exponent": 2.0}}
    },
}


def run(fractions: list[float], seeds: list[int], names: list[str], specialists: bool) -> dict:
    from jointrec.experiments.transfer import default_specialists, transfer
    from jointrec.settings import preset

    base = preset("default")
    base = base.replace(split={"validation_fraction": 0.1})
    data = ml100k_path()
    out: dict[str, Any] = {**header("sparse_ratings_validation", False), "candidates": {}}
    out["fractions"], out["seeds"] = fractions, seeds
    if specialists:
        result = transfer(base, data, fractions=fractions, seeds=seeds, joint=False,
                          specialists=default_specialists(), evaluate_on="validation",
                          progress=False)  # fmt: skip
        out["specialists"] = result.summary()
        print(json.dumps(out["specialists"], default=float), flush=True)
    for name in names:
        config = base.replace(**CANDIDATES[name])
        result = transfer(config, data, fractions=fractions, seeds=seeds, specialists=(),
                          evaluate_on="validation", progress=False)  # fmt: skip
        out["candidates"][name] = {"changes": CANDIDATES[name], "summary": result.summary()}
        print(name, json.dumps(result.summary(), default=float), flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fractions", default="1,0.1,0.02")
    parser.add_argument("--seeds", default="42")
    parser.add_argument("--candidates", default=";".join(CANDIDATES), help="names, ;-separated")
    parser.add_argument("--no-specialists", action="store_true")
    parser.add_argument("--name", default="sparse_ratings_validation")
    args = parser.parse_args()
    result = run(
        [float(f) for f in args.fractions.split(",")],
        [int(s) for s in args.seeds.split(",")],
        args.candidates.split(";"),
        not args.no_specialists,
    )
    print(write_result(args.name, result))


if __name__ == "__main__":
    main()
