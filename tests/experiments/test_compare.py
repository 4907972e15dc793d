"""Acceptance bands on MovieLens 100k, the tutorial's seeded 80/20 split."""

from __future__ import annotations

import pytest

from jointrec.experiments.compare import compare
from jointrec.settings import preset

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_tutorial_preset_reproduces_the_tutorials_table(ml100k_dataset):
    result = compare(preset("tutorial"), data=ml100k_dataset, progress=False)
    rating, retrieval, joint = (
        result.row(n).report for n in ("rating-specialised", "retrieval-specialised", "multi-task")
    )
    # The tutorial: RMSE 0.26 / 0.78 / 0.25 on the (r-1)/4 label; top-10 accuracy
    # 0.005 / 0.020 / 0.022 on 5-star test ratings, unfiltered.
    assert 0.24 <= joint["rmse_label"] <= 0.27
    assert 0.24 <= rating["rmse_label"] <= 0.29
    assert retrieval["rmse_label"] > 0.5  # its rating head is never trained
    assert rating["tutorial_top10_accuracy"] < joint["tutorial_top10_accuracy"]
    assert 0.01 <= joint["tutorial_top10_accuracy"] <= 0.04
    # The honest metric shows the tutorial model below a plain popularity list (~0.136).
    assert joint["recall@10"] < 0.13


def test_default_preset_is_good_at_both_tasks_in_one_model(ml100k_dataset):
    result = compare(preset("default"), data=ml100k_dataset, progress=False)
    joint = result.row("multi-task").report
    assert joint["rmse"] <= 0.95
    assert joint["recall@10"] >= 0.15
    rating_only = result.row("rating-specialised").report
    assert joint["recall@10"] > rating_only["recall@10"] + 0.1
