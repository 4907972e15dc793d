"""`jointrec transfer`: ratings dropped on a seeded share of training rows, not the rows."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from jointrec.cli.app import app
from jointrec.data.encoded import EncodedInteractions
from jointrec.errors import JointrecError
from jointrec.experiments.pipeline import load, prepare_data
from jointrec.experiments.transfer import keep_ratings, transfer, with_fraction
from jointrec.settings import preset

QUICK = ["--epochs", "1", "--batch-size", "64", "--quiet"]


def test_kept_ratings_are_seeded_and_nested():
    x = EncodedInteractions(np.arange(1000), np.arange(1000), np.full(1000, 3.0))
    half, tenth = keep_ratings(x, 0.5, 7), keep_ratings(x, 0.1, 7)
    assert half.sum() == 500 and tenth.sum() == 100
    assert (tenth <= half).all()  # a smaller share keeps a subset
    np.testing.assert_array_equal(keep_ratings(x, 0.5, 7), half)
    assert not np.array_equal(keep_ratings(x, 0.5, 8), half)
    with pytest.raises(JointrecError, match="rated fraction 0.0 is invalid"):
        keep_ratings(x, 0.0, 7)


def test_rows_stay_and_only_training_ratings_go(tiny_zip):
    from jointrec.experiments.pipeline import as_experiment

    experiment, _ = as_experiment("default", tiny_zip)
    loaded = load(experiment, progress=False)
    prepared = prepare_data(loaded.dataset, experiment.run.split)
    keep = keep_ratings(prepared.train, 0.2, 42)
    mixed, rated = with_fraction(prepared, keep)
    assert len(mixed.train) == len(prepared.train)  # every row stays
    np.testing.assert_array_equal(mixed.train.rated, keep)
    np.testing.assert_array_equal(mixed.train.rating[keep], prepared.train.rating[keep])
    np.testing.assert_array_equal(mixed.test.rating, prepared.test.rating)  # test keeps all
    assert len(rated.train) == keep.sum() and rated.train.rated.all()
    raw = mixed.train_interactions()
    assert np.isnan(raw.rating).sum() == (~keep).sum()  # the raw rows agree (features)
    assert np.isfinite(prepared.train_interactions().rating).all()  # the original is intact


def test_cli_writes_a_table_json_and_a_plot(tiny_zip, tmp_path):
    out = tmp_path / "transfer"
    args = ["transfer", "--data", str(tiny_zip), "--fractions", "1,0.3", "--seeds", "42,43"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), *QUICK])
    assert result.exit_code == 0, result.output
    assert "joint vs best" in result.output
    data = json.loads((out / "transfer.json").read_text())
    assert data["fractions"] == [1.0, 0.3] and data["seeds"] == [42, 43]
    assert data["models"][:3] == ["joint", "rating-only", "biased-mf"]
    assert len(data["cells"]) == 2 * 2 * len(data["models"])
    for row in data["summary"]:
        assert np.isfinite(row["joint"]["rmse"]) and 0 <= row["joint"]["recall@10"] <= 1
        assert row["best_specialist"] in data["models"]
    assert (out / "transfer.png").stat().st_size > 10_000
    bad = CliRunner().invoke(app, ["transfer", "--data", str(tiny_zip), "--seeds", "4x"])
    assert bad.exit_code != 0 and "--seeds '4x' is invalid" in bad.output
    bad = CliRunner().invoke(app, ["transfer", "--data", str(tiny_zip), "--fractions", "2"])
    assert bad.exit_code != 0 and "rated fraction 2.0 is invalid" in bad.output


def test_transfer_needs_ratings(tmp_path):
    from jointrec.data.interactions import Dataset, Interactions

    x = Interactions(np.arange(1, 41) % 7 + 1, np.arange(1, 41) % 11 + 1)
    with pytest.raises(JointrecError, match="has no ratings"):
        transfer(preset("default"), Dataset("clicks", x), fractions=(0.5,), progress=False)


def test_the_rating_weight_follows_the_rated_share():
    from jointrec.experiments.pipeline import effective_rating_weight
    from jointrec.settings import ModelConfig

    rating = np.full(100, 4.0)
    rating[:90] = np.nan  # 10% rated
    x = EncodedInteractions(np.arange(100), np.arange(100), rating)
    config = ModelConfig(multitask={"rating_weight": 20.0, "rated_share_exponent": 1.5})
    assert effective_rating_weight(config, x) == pytest.approx(20.0 * 0.1**1.5)
    full = EncodedInteractions(np.arange(100), np.arange(100), np.full(100, 4.0))
    assert effective_rating_weight(config, full) is None  # fully rated: as configured
    off = ModelConfig(multitask={"rating_weight": 20.0, "rated_share_exponent": 0.0})
    assert effective_rating_weight(off, x) is None
    with pytest.raises(JointrecError, match=r"multitask.rated_share_exponent=-1.0 is invalid"):
        ModelConfig(multitask={"rated_share_exponent": -1.0})


@pytest.mark.slow
@pytest.mark.realdata
def test_with_a_tenth_of_the_ratings_the_joint_model_beats_the_specialists(ml100k_dataset):
    # docs/sparse-ratings.md: at f = 0.1 (seed 42, test) the joint model is 0.045 stars
    # below the best specialist trained on the same 8,000 ratings; the band asks for 0.015,
    # measured in this run.
    from jointrec.baselines import BASELINES
    from jointrec.experiments.transfer import rating_only

    specialists = [("rating-only", rating_only),
                   ("biased-mf", lambda data, config: BASELINES["biased-mf"](data))]  # fmt: skip
    result = transfer(preset("default"), ml100k_dataset, fractions=(0.1,), seeds=(42,),
                      specialists=specialists, progress=False)  # fmt: skip
    joint = result.mean("joint", 0.1, "rmse")
    best = min(result.mean(name, 0.1, "rmse") for name, _ in specialists)
    assert joint <= best - 0.015
    assert 0.9 <= joint <= 1.05
    assert result.mean("joint", 0.1, "recall@10") >= 0.22


@pytest.mark.slow
@pytest.mark.realdata
def test_unrated_rows_weighed_by_the_rating_head_keep_the_ranking(ml100k_dataset):
    # docs/sparse-ratings.md: with a tenth of the ratings the joint model's Recall@10 is
    # 0.008 below its value with every rating (seed 42, test; 0.014 when every unrated row
    # weighs 1). Measured in this run: the default against the same model without the ramp.
    config = preset("default")
    result = transfer(config, ml100k_dataset, fractions=(1.0, 0.1), seeds=(42,),
                      specialists=(), progress=False)  # fmt: skip
    flat = config.replace(model={"retrieval": {"unrated_ramp": 0.0}})
    without = transfer(flat, ml100k_dataset, fractions=(0.1,), seeds=(42,),
                       specialists=(), progress=False)  # fmt: skip
    full, sparse = result.mean("joint", 1.0, "recall@10"), result.mean("joint", 0.1, "recall@10")
    assert full - sparse <= 0.012
    assert sparse >= without.mean("joint", 0.1, "recall@10") + 0.002
