"""Evaluation of catalogues smaller than the cut-offs (small user datasets)."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.data.encoded import EncodedInteractions
from jointrec.evaluation.evaluate import evaluate
from jointrec.settings import EvalConfig


class FixedScores:
    """A scorer whose retrieval scores are given (the evaluator's input, not a model)."""

    name = "fixed"
    can_retrieve = True
    can_rate = False

    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores
        self.num_items = scores.shape[1]

    def score_users(self, users: np.ndarray) -> np.ndarray:
        return self.scores[users]

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        raise AssertionError("not a rating model")


def test_three_item_catalogue_with_k_10():
    # Items 1..3 (0 = unknown). User 1 trained on item 1 and has item 3 (5 stars) in test.
    # Scores 0.9, 0.5, 0.1 for items 1, 2, 3; item 1 is seen and masked, so the ranking is
    # [2, 3]: the relevant item sits at rank 2 of a list shorter than 10.
    scores = np.array([[0, 0, 0, 0], [0.0, 0.9, 0.5, 0.1]], dtype=np.float32)
    train = EncodedInteractions(np.array([1]), np.array([1]), np.array([4.0], np.float32))
    test = EncodedInteractions(np.array([1]), np.array([3]), np.array([5.0], np.float32))
    report = evaluate(FixedScores(scores), train, test, EvalConfig(ks=(10, 50)))
    assert report["recall@10"] == pytest.approx(1.0)
    assert report["recall@50"] == pytest.approx(1.0)
    assert report["ndcg@10"] == pytest.approx(1 / np.log2(3))  # hit at rank 2, ideal rank 1
    assert report["map@10"] == pytest.approx(0.5)  # precision@2 = 1/2
    assert report["mrr"] == pytest.approx(0.5)
    assert report["hr@10"] == pytest.approx(1.0)
    # Only the two eligible items were shown; the masked item 1 does not count as covered.
    assert report["coverage@10"] == pytest.approx(2 / 3)
