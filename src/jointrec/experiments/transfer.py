"""`transfer`: abundant interactions, sparse ratings. Does the joint model carry what it
learns from every interaction over to the few ratings?

On one split per seed, the rating of a seeded fraction ``f`` of the training rows is kept and
the rating of the others is dropped (the row stays, unrated: mixed feedback). The joint model
trains on every row; the rating specialists train on the rated rows alone: rating-only
jointrec (rating weight 1, retrieval 0), biased MF and I-AutoRec (tuned on a validation part
of their rated rows). Every model is scored by one evaluator on the same test split, whose
ratings are all kept: RMSE over every test rating, Recall@10 / NDCG@10 with the training
items (rated or not) excluded.

Example:
    >>> result = transfer("default", "ml-100k.zip", fractions=(1.0, 0.1))  # doctest: +SKIP
    >>> result.mean("joint", 0.1, "rmse") < result.mean("biased-mf", 0.1, "rmse")  # doctest: +SKIP
    True
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.data.encoded import EncodedInteractions
from jointrec.errors import JointrecError
from jointrec.evaluation.evaluate import evaluate
from jointrec.experiments.pipeline import (
    DataArg,
    Notify,
    PreparedData,
    Settings,
    as_experiment,
    load,
    prepare_data,
    train_model,
)
from jointrec.plotting import pyplot, save_figure
from jointrec.progress import progress_task
from jointrec.scoring.scorer import Scorer
from jointrec.settings import RunConfig
from jointrec.settings.presets import specialist

#: The rated fractions of the issue, most ratings first.
FRACTIONS: tuple[float, ...] = (1.0, 0.5, 0.2, 0.1, 0.05, 0.02)
SEEDS: tuple[int, ...] = (42, 43, 44)
#: The metrics reported per fraction.
METRICS: tuple[str, ...] = ("rmse", "recall@10", "ndcg@10")
#: ``(rated-only training data, run settings) -> fitted rating scorer``.
Specialist = Callable[[PreparedData, RunConfig], Scorer]


def keep_ratings(train: EncodedInteractions, fraction: float, seed: int) -> np.ndarray:
    """``[n]`` booleans: the seeded ``round(fraction * n)`` training rows that keep their
    rating (the same rows for a seed whatever else runs; a smaller fraction keeps a subset).

    Example:
        >>> x = EncodedInteractions(np.arange(10), np.arange(10), np.full(10, 4.0))
        >>> int(keep_ratings(x, 0.3, 42).sum()), bool((keep_ratings(x, 0.1, 42) <=
        ...     keep_ratings(x, 0.3, 42)).all())
        (3, True)
    """
    if not 0.0 < fraction <= 1.0:
        raise JointrecError(f"rated fraction {fraction!r} is invalid: expected a share in (0, 1]")
    order = np.random.default_rng(seed).permutation(len(train))
    keep = np.zeros(len(train), dtype=bool)
    keep[order[: round(fraction * len(train))]] = True
    return keep


def with_fraction(prepared: PreparedData, keep: np.ndarray) -> tuple[PreparedData, PreparedData]:
    """``(mixed, rated)``: every training row with the ratings outside ``keep`` dropped (the
    rows stay, unrated), and the rated training rows alone. Validation and test keep theirs.
    """
    if prepared.train.rating is None:
        raise JointrecError(
            f"{prepared.dataset.interactions.source} has no ratings: the transfer experiment "
            "drops ratings, so it needs rated data (a rating column)"
        )
    x = prepared.dataset.interactions
    assert x.rating is not None
    rating = x.rating.copy()
    rating[prepared.train_rows[~keep]] = np.nan
    dataset = dataclasses.replace(
        prepared.dataset, interactions=dataclasses.replace(x, rating=rating)
    )
    train_rating = np.where(keep, prepared.train.rating, np.nan).astype(np.float32)
    mixed = dataclasses.replace(
        prepared, dataset=dataset, train=dataclasses.replace(prepared.train, rating=train_rating)
    )
    rows = np.flatnonzero(keep)
    rated = dataclasses.replace(
        mixed, train=mixed.train.take(rows), train_rows=prepared.train_rows[rows]
    )
    return mixed, rated


def rating_only(data: PreparedData, config: RunConfig) -> Scorer:
    """Rating-only jointrec (rating weight 1, retrieval 0) trained on ``data``, with the
    rating specialist's own tuned settings (`jointrec.settings.presets.specialist`)."""
    trained = train_model(
        data,
        specialist(config, "rating"),
        name="rating-only",
        retrieval_weight=0.0,
        rating_weight=1.0,
        progress=False,
        evaluate_on=None,
    )
    exported: Scorer = trained.exported
    return exported


def _baseline(name: str) -> Specialist | None:
    """A baseline of `jointrec.baselines.BASELINES` as a specialist, or ``None`` when this
    install does not have it."""
    from jointrec.baselines import BASELINES

    factory = BASELINES.get(name)
    if factory is None:
        return None

    def fit(data: PreparedData, config: RunConfig) -> Scorer:
        scorer = factory(data)
        if scorer is None:
            raise JointrecError(f"baseline {name!r} does not apply to this split")
        return scorer

    return fit


def default_specialists() -> list[tuple[str, Specialist]]:
    """Rating-only jointrec, biased MF and I-AutoRec (where the install has it)."""
    out: list[tuple[str, Specialist]] = [("rating-only", rating_only)]
    for name in ("biased-mf", "i-autorec"):
        specialist = _baseline(name)
        if specialist is not None:
            out.append((name, specialist))
    return out


@dataclass
class TransferCell:
    """One model at one rated fraction and seed."""

    model: str
    fraction: float
    seed: int
    rated_train: int
    train_seconds: float
    report: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return dataclasses.asdict(self)


@dataclass
class Transfer:
    """Every cell of a transfer run, with means over seeds."""

    config: RunConfig
    fractions: tuple[float, ...]
    seeds: tuple[int, ...]
    models: list[str] = field(default_factory=list)
    cells: list[TransferCell] = field(default_factory=list)
    data_info: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def values(self, model: str, fraction: float, metric: str) -> list[float]:
        """``metric`` of ``model`` at ``fraction``, one value per seed that reports it."""
        return [
            c.report[metric]
            for c in self.cells
            if c.model == model and c.fraction == fraction and metric in c.report
        ]

    def mean(self, model: str, fraction: float, metric: str) -> float:
        """Mean over seeds (NaN where no seed reports it)."""
        values = self.values(model, fraction, metric)
        return float(np.mean(values)) if values else float("nan")

    def best_specialist(self, fraction: float, metric: str = "rmse") -> str | None:
        """The specialist with the lowest mean ``metric`` at ``fraction``."""
        names = [m for m in self.models if m != "joint"]
        scored = [(self.mean(m, fraction, metric), m) for m in names]
        scored = [(v, m) for v, m in scored if v == v]
        return min(scored)[1] if scored else None

    def summary(self) -> list[dict[str, Any]]:
        """Per fraction: each model's mean metrics and the joint model's RMSE margin over
        the best specialist (positive: the joint model is better)."""
        rows = []
        for f in self.fractions:
            row: dict[str, Any] = {"fraction": f}
            for model in self.models:
                row[model] = {m: self.mean(model, f, m) for m in METRICS}
                row[model]["rmse_sd"] = float(np.std(self.values(model, f, "rmse")))
            best = self.best_specialist(f)
            if best is not None and "joint" in self.models:
                row["best_specialist"] = best
                row["joint_rmse_margin"] = self.mean(best, f, "rmse") - self.mean(
                    "joint", f, "rmse"
                )
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "preset": self.config.preset,
            "config": self.config.to_dict(),
            "data": self.data_info,
            "fractions": list(self.fractions),
            "seeds": list(self.seeds),
            "models": self.models,
            "seconds": self.seconds,
            "summary": self.summary(),
            "cells": [c.to_dict() for c in self.cells],
        }


def transfer(
    settings: Settings = "default",
    data: DataArg = None,
    *,
    fractions: Sequence[float] = FRACTIONS,
    seeds: Sequence[int] = SEEDS,
    specialists: Sequence[tuple[str, Specialist]] | None = None,
    joint: bool = True,
    evaluate_on: str = "test",
    progress: bool = True,
    notify: Notify | None = None,
) -> Transfer:
    """Runs the transfer experiment (see the module docstring).

    Args:
        settings: A preset name, an experiment file, a `RunConfig` or an `Experiment`; the
            joint model and rating-only jointrec use it (the seed of each run replaces its
            split and training seeds).
        data: The data when the settings do not say (a MovieLens zip, a `DataConfig`, a
            `Dataset`); it needs ratings.
        fractions: Shares of the training rows that keep their rating, each in (0, 1].
        seeds: One split, rating subset and initialisation per seed.
        specialists: ``(name, specialist)`` pairs; default `default_specialists`.
        joint: Whether to train the joint model (on every row).
        evaluate_on: ``"test"``, or ``"validation"`` to tune (the settings' split then needs
            ``validation_fraction > 0``; the validation rows keep their ratings).
        progress: Show a progress bar over the runs.
        notify: Called with each note about the data.
    """
    start = time.perf_counter()
    fractions = tuple(float(f) for f in fractions)
    seeds = tuple(int(s) for s in seeds)
    for f in fractions:
        if not 0.0 < f <= 1.0:
            raise JointrecError(f"rated fraction {f!r} is invalid: expected a share in (0, 1]")
    if not fractions or not seeds:
        raise JointrecError("transfer needs at least one rated fraction and one seed")
    if evaluate_on not in ("test", "validation"):
        raise JointrecError(
            f"evaluate_on={evaluate_on!r} is invalid: expected 'test' or 'validation'"
        )
    chosen = default_specialists() if specialists is None else list(specialists)
    experiment, dataset = as_experiment(settings, data)
    loaded = load(experiment, dataset, progress=progress, notify=notify)
    base = loaded.experiment.run
    if not loaded.dataset.interactions.has_ratings:
        raise JointrecError(
            f"{loaded.dataset.interactions.source} has no ratings: the transfer experiment "
            "drops ratings, so it needs rated data (a rating column)"
        )
    names = (["joint"] if joint else []) + [name for name, _ in chosen]
    result = Transfer(config=base, fractions=fractions, seeds=seeds, models=names)
    total = len(seeds) * len(fractions) * len(names)
    with progress_task("transfer", total=total, enabled=progress) as bar:
        for seed in seeds:
            config = base.replace(split={"seed": seed}, train={"seed": seed})
            prepared = prepare_data(loaded.dataset, config.split)
            result.data_info = prepared.info(loaded.experiment.data.path)
            if evaluate_on == "validation" and len(prepared.validation) == 0:
                raise JointrecError(
                    "transfer on validation needs a validation split: set "
                    "split.validation_fraction > 0 (e.g. 0.1)"
                )
            for f in fractions:
                keep = keep_ratings(prepared.train, f, seed)
                mixed, rated = with_fraction(prepared, keep)
                runs: list[tuple[str, Specialist, PreparedData]] = []
                if joint:
                    runs.append(("joint", joint_model, mixed))
                runs += [(name, specialist, rated) for name, specialist in chosen]
                for name, fit, fit_data in runs:
                    bar.advance(0, description=f"transfer: f={f:g} seed {seed} {name}")
                    fit_start = time.perf_counter()
                    scorer = fit(fit_data, config)
                    seconds = time.perf_counter() - fit_start
                    target = mixed.test if evaluate_on == "test" else mixed.validation
                    report = evaluate(scorer, mixed.train, target, config.eval)
                    result.cells.append(
                        TransferCell(name, f, seed, int(keep.sum()), seconds, report)
                    )
                    bar.advance(1)
    result.seconds = time.perf_counter() - start
    return result


def joint_model(data: PreparedData, config: RunConfig) -> Scorer:
    """The joint model with ``config``'s weights, trained on every row of ``data``."""
    trained = train_model(data, config, name="joint", progress=False, evaluate_on=None)
    exported: Scorer = trained.exported
    return exported


def plot_transfer(result: Transfer, path: str | os.PathLike[str]) -> Path:
    """Writes a PNG: test RMSE against the rated fraction (log scale), a line per model,
    mean over seeds with the seeds' spread; and the joint model's Recall@10 beside it."""
    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    fractions = sorted(result.fractions)
    others = iter(["tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:gray"])
    for model in result.models:
        means = [result.mean(model, f, "rmse") for f in fractions]
        spread = [float(np.std(result.values(model, f, "rmse"))) for f in fractions]
        style: dict[str, Any] = (
            {"linewidth": 2.5, "color": "tab:blue"}
            if model == "joint"
            else {"color": next(others, None)}
        )
        left.errorbar(fractions, means, yerr=spread, marker="o", capsize=3, label=model, **style)
        if model == "joint":
            recall = [result.mean(model, f, "recall@10") for f in fractions]
            right.plot(fractions, recall, marker="o", color="tab:blue", label="joint")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(fractions)
        ax.set_xticklabels([f"{f:g}" for f in fractions])
        ax.set_xlabel("share of training rows with a rating")
        ax.grid(alpha=0.3)
    left.set_ylabel("test RMSE, stars (lower is better)")
    left.legend()
    right.set_ylabel("test Recall@10 (higher is better)")
    right.legend()
    seeds = ", ".join(str(s) for s in result.seeds)
    fig.suptitle(
        f"jointrec transfer: {result.data_info.get('dataset', '')}, preset "
        f"{result.config.preset!r}, mean of seeds {seeds}"
    )
    return save_figure(fig, path, dpi=120)
