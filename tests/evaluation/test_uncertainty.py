"""Summaries and paired differences over seeds, against hand-worked numbers."""

from __future__ import annotations

import math

import pytest

from jointrec.evaluation.uncertainty import paired, summary


def test_summary_is_mean_and_sample_std():
    s = summary([1.0, 2.0, 4.0])
    assert s.mean == pytest.approx(7 / 3)
    assert s.std == pytest.approx(
        math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 2)
    )
    assert summary([3.0]).std == 0.0


def test_paired_interval_is_students_t_over_seeds():
    # Differences 1, 2, 3: mean 2, sd 1, t(0.975, df=2) = 4.302653 (tables), half-width
    # 4.302653 / sqrt(3) = 2.484138.
    d = paired([2.0, 4.0, 6.0], [1.0, 2.0, 3.0], higher_is_better=True)
    assert d.mean == pytest.approx(2.0)
    assert d.low == pytest.approx(2.0 - 2.484138, abs=1e-5)
    assert d.high == pytest.approx(2.0 + 2.484138, abs=1e-5)
    assert (d.wins, d.n) == (3, 3)


def test_paired_counts_wins_in_the_metrics_direction():
    rmse = paired([0.88, 0.91, 0.87], [0.90, 0.90, 0.89], higher_is_better=False)
    assert rmse.wins == 2 and rmse.mean == pytest.approx(-0.01)
    recall = paired([0.30, 0.28], [0.29, 0.29], higher_is_better=True)
    assert recall.wins == 1


def test_paired_refuses_unequal_lists():
    with pytest.raises(ValueError, match="equal"):
        paired([1.0], [1.0, 2.0], higher_is_better=True)
