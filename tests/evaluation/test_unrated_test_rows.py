"""Mixed feedback in evaluation: RMSE over rated test rows, unrated rows per `unrated_test`."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from jointrec.data.encoded import EncodedInteractions
from jointrec.errors import JointrecError
from jointrec.evaluation.evaluate import evaluate
from jointrec.scoring.exported import ExportedModel
from jointrec.settings import EvalConfig

USERS, ITEMS = 31, 41


def _model(rng: np.random.Generator) -> ExportedModel:
    users = rng.normal(size=(USERS, 4)).astype(np.float32)
    items = rng.normal(size=(ITEMS, 4)).astype(np.float32)
    w = rng.normal(size=(8, 1)).astype(np.float32)
    return ExportedModel(users, items, mlp=[(w, np.zeros(1, "f4"))])


def _split(rng: np.random.Generator, n: int) -> EncodedInteractions:
    return EncodedInteractions(
        rng.integers(1, USERS, n).astype(np.int32),
        rng.integers(1, ITEMS, n).astype(np.int32),
        rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], n).astype(np.float32),
    )


def _ranking(report: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in report.items() if k not in ("rmse", "mae", "rmse_label",
                                                         "mae_label", "test_pairs")}  # fmt: skip


def test_rmse_is_over_rated_rows_and_unrated_rows_count_as_the_setting_says(rng):
    model, train, test = _model(rng), _split(rng, 300), _split(rng, 200)
    unrated = rng.random(len(test)) < 0.5
    mixed = dataclasses.replace(test, rating=np.where(unrated, np.nan, test.rating))
    rated = mixed.take(np.flatnonzero(~unrated))
    report = evaluate(model, train, mixed)
    predicted = model.predict_ratings(rated.user, rated.item)
    assert report["rmse"] == pytest.approx(np.sqrt(np.mean((predicted - rated.rating) ** 2)))
    assert report["test_pairs"] == len(test)
    # "relevant" (default): an unrated row is relevant like a 4.5-star one (never 5-star).
    as_relevant = dataclasses.replace(test, rating=np.where(unrated, 4.5, test.rating))
    assert _ranking(report) == pytest.approx(_ranking(evaluate(model, train, as_relevant)))
    # "ignore": only rated rows count.
    ignored = evaluate(model, train, mixed, EvalConfig(unrated_test="ignore"))
    assert _ranking(ignored) == pytest.approx(_ranking(evaluate(model, train, rated)))
    assert ignored["users_evaluated"] < report["users_evaluated"]


def test_no_rated_test_row_means_no_rating_metrics_and_a_bad_setting_is_one_line(rng):
    model, train, test = _model(rng), _split(rng, 100), _split(rng, 50)
    blank = dataclasses.replace(test, rating=np.full(len(test), np.nan, np.float32))
    report = evaluate(model, train, blank)
    assert "rmse" not in report and report["users_evaluated"] > 0
    with pytest.raises(JointrecError, match="unrated_test='maybe' is invalid"):
        EvalConfig(unrated_test="maybe")  # type: ignore[arg-type]
