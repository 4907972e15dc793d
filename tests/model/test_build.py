"""Full-softmax negatives: ``negatives="auto"``, cold items left out of the denominator,
the retrieval loss on the batch's positive rows only, and the popularity feature."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.model.build import (
    FULL_SOFTMAX_MAX_ITEMS,
    build_model,
    positive_rows_bound,
    resolve_negatives,
)
from jointrec.model.joint_model import MAX_SEEN_CELLS, JointModel
from jointrec.settings import ModelConfig, preset

NUM_USERS, NUM_ITEMS = 5, 9


def _np(x):
    import keras

    return keras.ops.convert_to_numpy(x)


def _lse(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=1)
    return m + np.log(np.exp(x - m[:, None]).sum(axis=1))


def test_auto_is_full_for_small_catalogues_and_in_batch_with_logq_for_large():
    auto = ModelConfig(retrieval={"negatives": "auto", "mask_seen": "all"})
    small = resolve_negatives(auto, 944, 1683).retrieval
    assert (small.negatives, small.logq_correction) == ("full", False)
    assert resolve_negatives(auto, 10, FULL_SOFTMAX_MAX_ITEMS).retrieval.negatives == "full"
    large = resolve_negatives(auto, 10, FULL_SOFTMAX_MAX_ITEMS + 1).retrieval
    assert (large.negatives, large.logq_correction) == ("in_batch", True)
    # A small catalogue with so many users that the seen table would not fit.
    users = MAX_SEEN_CELLS // 1000 + 1
    assert resolve_negatives(auto, users, 1000).retrieval.negatives == "in_batch"
    no_table = ModelConfig(retrieval={"negatives": "auto", "mask_seen": "none"})
    assert resolve_negatives(no_table, users, 1000).retrieval.negatives == "full"
    # Explicit choices are kept as they are.
    full = ModelConfig(retrieval={"negatives": "full"})
    assert resolve_negatives(full, 10, 10**6).retrieval.negatives == "full"
    assert preset("default").model.retrieval.negatives == "auto"
    assert preset("tutorial").model.retrieval.negatives == "in_batch"


def test_auto_builds_a_trainable_model_on_a_large_catalogue():
    # 60k items: "full" with exclude_seen would need a 2 x 60k seen table and a softmax over
    # every item per step; "auto" picks in-batch negatives with logQ correction instead.
    config = ModelConfig(
        towers={"embedding_dim": 4},
        retrieval={"negatives": "auto", "mask_seen": "all"},
        rating={"layer_sizes": (4,)},
    )
    model = build_model(config, 3, 60_001, seed=0)
    assert model.negatives == "in_batch" and not hasattr(model, "seen")


def test_bad_negatives_name_is_rejected():
    from jointrec.errors import JointrecError

    with pytest.raises(JointrecError, match=r"negatives='sampled' is invalid.*'auto'"):
        ModelConfig(retrieval={"negatives": "sampled"})


def _model(**overrides):
    config = ModelConfig(
        towers={"embedding_dim": 4},
        retrieval={"negatives": "full", "mask_seen": "all", "min_rating": 4.0, "temperature": 0.5},
        rating={"layer_sizes": (8,)},
    ).replace(overrides.pop("config", {}))
    return build_model(config, NUM_USERS, NUM_ITEMS, seed=5, **overrides)


def _reference(model, users, items, labels, seen_pairs, trained):
    """Full softmax by hand: row r's negatives are items not seen by its user, trained,
    and not item 0; only rows with label >= 0.75 (4 stars) count."""
    q = _np(model.query_tower(users))
    c = _np(model.candidate_tower(np.arange(NUM_ITEMS)))
    logits = q @ c.T / 0.5
    rows = []
    for r, (u, i) in enumerate(zip(users, items, strict=True)):
        negative = np.ones(NUM_ITEMS, bool)
        negative[[it for uu, it in seen_pairs if uu == u]] = False
        negative[0] = False
        negative[~trained] = False
        negative[i] = False
        both = np.concatenate([[logits[r, i]], logits[r, negative]])
        rows.append(_lse(both[None, :])[0] - logits[r, i])
    weight = (labels >= 0.75).astype(float)
    return float((np.array(rows) * weight).sum() / weight.sum())


def test_cold_items_are_not_negatives_in_the_full_softmax():
    model = _model()
    seen_pairs = [(1, 2), (1, 3), (2, 5), (3, 4)]
    model.set_seen(*map(np.array, zip(*seen_pairs, strict=True)))
    trained = np.zeros(NUM_ITEMS, bool)
    trained[[2, 3, 4, 5]] = True  # items 1, 6, 7, 8 have no training interactions
    model.set_trained_items(np.flatnonzero(trained))
    users, items = np.array([1, 2, 3, 1]), np.array([3, 5, 4, 2])
    labels = np.array([1.0, 0.75, 0.5, 1.0], dtype="float32")
    inputs = {"user": users, "item": items}
    loss = float(model.task_losses(inputs, model(inputs), labels)["retrieval"])
    assert loss == pytest.approx(
        _reference(model, users, items, labels, seen_pairs, trained), rel=1e-5
    )
    # Without the cold-item mask every catalogue item is a negative again.
    model.set_trained_items(np.arange(NUM_ITEMS))
    every = float(model.task_losses(inputs, model(inputs), labels)["retrieval"])
    all_trained = np.ones(NUM_ITEMS, bool)
    assert every == pytest.approx(
        _reference(model, users, items, labels, seen_pairs, all_trained), rel=1e-5
    )
    assert every > loss


def test_retrieval_on_positive_rows_only_is_the_same_loss(rng):
    users = rng.integers(1, NUM_USERS, 40)
    items = rng.integers(1, NUM_ITEMS, 40)
    labels = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], 40).astype("float32")
    mask = np.ones(40, "float32")
    mask[-3:] = 0.0  # padding rows
    positives = int(((labels >= 0.75) & (mask > 0)).sum())
    full = _model()
    compact = JointModel.from_config({**full.get_config(), "retrieval_rows": positives + 2})
    compact.build()
    compact.set_weights(full.get_weights())
    inputs = {"user": users, "item": items}
    a = full.task_losses(inputs, full(inputs), labels, mask=mask)
    b = compact.task_losses(inputs, compact(inputs), labels, mask=mask)
    assert float(b["retrieval"]) == pytest.approx(float(a["retrieval"]), rel=1e-6)
    assert float(b["rating"]) == pytest.approx(float(a["rating"]), rel=1e-6)
    assert compact.get_config()["retrieval_rows"] == positives + 2


def test_positive_rows_bound_covers_shuffled_batches(rng):
    # 55% positives, as ratings >= 4 in MovieLens 100k: the bound is never exceeded over
    # 2,000 shuffled batches of 1,000 (it sits 6 standard deviations above the mean).
    labels = np.r_[np.ones(44_000), np.zeros(36_000)]
    bound = positive_rows_bound(44_000, 80_000, 1000)
    assert 550 < bound < 1000 and bound % 8 == 0
    worst = max(int(rng.permutation(labels)[:1000].sum()) for _ in range(2000))
    assert worst <= bound - 50
    assert positive_rows_bound(10, 10, 4) == 4  # every example is a positive
    assert positive_rows_bound(5, 0, 4) == 4


def test_pipeline_uses_the_bound_only_with_reshuffled_batches(tiny_zip):
    from jointrec.data import load_movielens
    from jointrec.experiments.pipeline import prepare_data

    config = preset("default").model.replace(
        {"towers": {"user_features": (), "item_features": (), "user_history": 0}}
    )
    data = prepare_data(load_movielens("100k", path=tiny_zip), preset("default").split)

    def rows(shuffle: bool) -> int:
        sizes = len(data.users), len(data.items)
        model = build_model(config, *sizes, training=data.train, batch_size=256, shuffle=shuffle)
        return model.retrieval_rows

    assert 0 < rows(shuffle=True) < 256
    assert rows(shuffle=False) == 0


def test_default_model_has_the_popularity_feature(tiny_zip):
    from jointrec.data import load_movielens
    from jointrec.experiments.pipeline import prepare_data, train_model
    from jointrec.features.prepare import POPULARITY

    config = preset("default").replace(train={"epochs": 1, "batch_size": 256})
    data = prepare_data(load_movielens("100k", path=tiny_zip), config.split)
    trained = train_model(data, config, progress=False, evaluate_on=None)
    tower = trained.model.candidate_tower
    assert tower.features[POPULARITY]["kind"] == "numeric"
    values = _np(tower.tables[POPULARITY].value)
    counts = np.bincount(data.train.item, minlength=len(data.items))
    # Standardised log(1 + count): the order of the counts, the cold items lowest.
    warm = np.flatnonzero(counts[1:] > 0) + 1
    assert np.corrcoef(values[warm], np.log1p(counts[warm]))[0, 1] > 0.999
    cold = np.flatnonzero(counts[1:] == 0) + 1
    if len(cold):
        assert values[cold].max() < values[warm].min()
    flags = _np(trained.model.trained_items.value)
    np.testing.assert_array_equal(flags[1:], (counts[1:] > 0).astype(np.int8))
