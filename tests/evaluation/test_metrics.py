"""Metrics: hand-worked examples, and the vectorised evaluator against the references."""

from __future__ import annotations

import math

import numpy as np
import pytest

from jointrec.data.encoded import EncodedInteractions
from jointrec.evaluation.evaluate import evaluate
from jointrec.evaluation.metrics import (
    average_precision_at_k,
    mae,
    ndcg_at_k,
    recall_at_k,
    reciprocal_rank,
    rmse,
)
from jointrec.settings import EvalConfig


def test_hand_worked_ranking_metrics():
    ranked = [4, 2, 9, 7, 1]
    relevant = {2, 7, 8}
    # Hits at ranks 2 and 4; 3 relevant items (8 is never retrieved).
    assert recall_at_k(ranked, relevant, 2) == pytest.approx(1 / 3)
    assert recall_at_k(ranked, relevant, 5) == pytest.approx(2 / 3)
    # DCG = 1/log2(3) + 1/log2(5); ideal (3 hits) = 1 + 1/log2(3) + 1/log2(4)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 0.5
    assert ndcg_at_k(ranked, relevant, 5) == pytest.approx(dcg / ideal)
    # AP@5 = (1/2 + 2/4) / min(5, 3)
    assert average_precision_at_k(ranked, relevant, 5) == pytest.approx((0.5 + 0.5) / 3)
    assert reciprocal_rank(ranked, relevant) == pytest.approx(0.5)
    assert reciprocal_rank(ranked, {99}) == 0.0


def test_hand_worked_rating_metrics():
    assert rmse(np.array([1.0, 3.0]), np.array([2.0, 5.0])) == pytest.approx(math.sqrt(2.5))
    assert mae(np.array([1.0, 3.0]), np.array([2.0, 5.0])) == pytest.approx(1.5)


class RandomScorer:
    """Fixed random scores and ratings, to compare the evaluator with the references."""

    name = "random"
    can_retrieve = True
    can_rate = True

    def __init__(self, num_users: int, num_items: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.num_items = num_items
        self.scores = rng.normal(size=(num_users, num_items)).astype(np.float32)
        self.ratings = rng.uniform(1, 5, size=(num_users, num_items))

    def score_users(self, users):
        return self.scores[users]

    def predict_ratings(self, users, items):
        return self.ratings[users, items]


def reference_report(scorer, train, test, config, tutorial_k=10):
    """Per-user loop over the metric references."""
    users = sorted(set(test.user.tolist()) - {0})
    per = {f"recall@{k}": [] for k in config.ks}
    per.update({"ndcg@10": [], "map@10": [], "mrr": [], "hr@10": []})
    hits_tutorial, n_five = 0, 0
    for u in users:
        seen = set(train.item[train.user == u].tolist())
        scores = scorer.scores[u].astype(np.float64)
        order_all = [j for j in np.lexsort((np.arange(len(scores)), -scores)) if j != 0]
        ranked = [j for j in order_all if j not in seen]
        mine = (test.user == u) & (test.item > 0)
        relevant = set(test.item[mine & (test.rating >= 4)].tolist()) - seen
        five = set(test.item[mine & (test.rating >= 5)].tolist())
        for j in test.item[mine & (test.rating >= 5)].tolist():
            hits_tutorial += j in order_all[:tutorial_k]
            n_five += 1
        five -= seen
        if relevant:
            for k in config.ks:
                per[f"recall@{k}"].append(recall_at_k(ranked, relevant, k))
            per["ndcg@10"].append(ndcg_at_k(ranked, relevant, 10))
            per["map@10"].append(average_precision_at_k(ranked, relevant, 10))
            per["mrr"].append(reciprocal_rank(ranked, relevant))
        if five:
            per["hr@10"].append(recall_at_k(ranked, five, 10))
    report = {name: float(np.mean(values)) for name, values in per.items()}
    report["tutorial_top10_accuracy"] = hits_tutorial / n_five
    predicted = scorer.predict_ratings(test.user, test.item)
    report["rmse"] = rmse(predicted, test.rating)
    report["mae"] = mae(predicted, test.rating)
    return report


@pytest.mark.parametrize("chunk", [1, 7, 1024])
def test_vectorised_evaluator_matches_reference(chunk):
    rng = np.random.default_rng(5)
    num_users, num_items = 30, 50
    scorer = RandomScorer(num_users, num_items, seed=3)
    n_train, n_test = 400, 200
    train = EncodedInteractions(
        rng.integers(1, num_users, n_train), rng.integers(1, num_items, n_train), None
    )
    test = EncodedInteractions(
        rng.integers(0, num_users, n_test),
        rng.integers(1, num_items, n_test),
        rng.integers(1, 6, n_test).astype(np.float32),
    )
    config = EvalConfig(ks=(5, 10, 20), user_chunk=chunk)
    got = evaluate(scorer, train, test, config)
    expected = reference_report(scorer, train, test, config)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-6, abs=1e-9), name


def test_seen_items_never_counted_and_unfiltered_metric_differs():
    # One user; item 1 has the top score but is a training item.
    scorer = RandomScorer(2, 5, seed=0)
    scorer.scores[1] = np.array([0.0, 9.0, 8.0, 1.0, 0.5], dtype=np.float32)
    train = EncodedInteractions(np.array([1]), np.array([1]), np.array([5.0]))
    test = EncodedInteractions(np.array([1, 1]), np.array([2, 3]), np.array([5.0, 2.0]))
    report = evaluate(scorer, train, test, EvalConfig(ks=(1,), tutorial_k=1))
    assert report["recall@1"] == 1.0  # item 2 is first once item 1 is excluded
    assert report["tutorial_top1_accuracy"] == 0.0  # unfiltered: item 1 takes the slot
    assert report["mrr"] == 1.0
