"""Side features: specs, encoders fitted on training ids only, and the feature tower."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.data import FeatureTable, Vocabulary
from jointrec.errors import JointrecError
from jointrec.features import (
    MOVIELENS_ITEM_FEATURES,
    FeatureEncoder,
    FeatureSpec,
    available_features,
    select_features,
)
from jointrec.features.prepare import history_features


def _table() -> FeatureTable:
    return FeatureTable(
        ids=np.array([10, 20, 30, 40]),
        columns={
            "job": np.array(["doctor", "artist", "doctor", "pilot"]),
            "zip": np.array(["12345", "12999", "98000", ""]),
            "age": np.array([20.0, 40.0, 60.0, 1000.0]),
            "tags": np.array(["a|b", "b", "", "c|a"]),
            "genres": np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0], [1, 1, 1]], dtype=np.uint8),
            "title": np.array(["The Big Sleep", "Big Fish", "Sleep!", "Unknown Words"]),
            "year": np.array([1990, 0, 1995, 2000]),
        },
        metadata={"genres": ["x", "y", "z"]},
    )


TRAIN_IDS = np.array([10, 20, 30])  # id 40 is not in training
VOCAB = Vocabulary(np.array([10, 20, 30, 40, 50]))  # 50 has no table row


def _encode(*specs: FeatureSpec):
    return FeatureEncoder(list(specs)).fit_transform(_table(), TRAIN_IDS, VOCAB)


def test_categorical_codes_oov_and_missing():
    enc = _encode(FeatureSpec("job", "categorical"))
    # train categories sorted: artist=2, doctor=3; pilot (only on id 40) is OOV=1;
    # index 0 (unknown) and id 50 (no row) have no value.
    assert enc.arrays["job"].tolist() == [0, 3, 2, 3, 1, 0]
    assert enc.input_dims["job"] == 4
    assert enc.layout()["job"] == {"kind": "categorical", "input_dim": 4, "width": 1}


def test_min_count_and_prefix():
    enc = _encode(FeatureSpec("zip", "categorical", prefix=2, min_count=2))
    # prefixes on train ids: 12, 12, 98 -> only "12" is kept (code 2); "98" is OOV; "" none.
    assert enc.arrays["zip"].tolist() == [0, 2, 2, 1, 0, 0]


def test_numeric_uses_training_statistics_only():
    enc = _encode(FeatureSpec("age", "numeric"))
    train = np.array([20.0, 40.0, 60.0])
    expected = (np.array([20.0, 40.0, 60.0, 1000.0]) - train.mean()) / train.std()
    np.testing.assert_allclose(enc.arrays["age"][1:5], expected, rtol=1e-6)
    assert enc.arrays["age"][0] == 0.0 and enc.arrays["age"][5] == 0.0
    assert enc.input_dims["age"] == 0


def test_bucketized_with_boundaries_and_quantiles():
    enc = _encode(FeatureSpec("age", "bucketized", boundaries=(30, 50)))
    # 20 -> bucket 1, 40 -> 2, 60 -> 3, 1000 -> 3; no value -> 0
    assert enc.arrays["age"].tolist() == [0, 1, 2, 3, 3, 0]
    assert enc.input_dims["age"] == 4
    quant = _encode(FeatureSpec("age", "bucketized", num_buckets=2))
    # median of the training ages (40) is the one edge: 20 -> 1, 40/60/1000 -> 2
    assert quant.arrays["age"].tolist() == [0, 1, 2, 2, 2, 0]


def test_missing_value_marker():
    enc = _encode(FeatureSpec("year", "bucketized", boundaries=(1993,), missing_value=0))
    assert enc.arrays["year"].tolist() == [0, 1, 0, 2, 2, 0]


def test_multi_categorical_from_multi_hot_and_strings():
    hot = _encode(FeatureSpec("genres", "multi_categorical", max_values=2))
    # names x, y, z all seen in training -> codes 2, 3, 4; id 40 has x, y, z -> first two
    assert hot.arrays["genres"].tolist() == [[0, 0], [2, 4], [3, 0], [0, 0], [2, 3], [0, 0]]
    tags = _encode(FeatureSpec("tags", "multi_categorical", max_values=3))
    # training tags: a, b -> 2, 3; "c" unseen -> OOV 1
    assert tags.arrays["tags"][1:5].tolist() == [[2, 3, 0], [3, 0, 0], [0, 0, 0], [1, 2, 0]]


def test_text_tokens():
    enc = _encode(FeatureSpec("title", "text", max_values=3))
    # training tokens: big, fish, sleep, the -> 2, 3, 4, 5
    assert enc.arrays["title"][1:5].tolist() == [[5, 2, 4], [2, 3, 0], [4, 0, 0], [1, 0, 0]]


def test_errors_name_the_problem():
    with pytest.raises(JointrecError, match="kind 'colour'"):
        FeatureSpec("x", "colour")  # type: ignore[arg-type]
    with pytest.raises(JointrecError, match="strictly increasing"):
        FeatureSpec("x", "bucketized", boundaries=(3, 1))
    with pytest.raises(JointrecError, match="needs numbers"):
        _encode(FeatureSpec("job", "numeric"))
    with pytest.raises(JointrecError, match="before fit"):
        FeatureEncoder([FeatureSpec("job", "categorical")]).transform(_table(), VOCAB)
    with pytest.raises(JointrecError, match="no feature 'nope'"):
        _encode(FeatureSpec("nope", "categorical"))
    with pytest.raises(JointrecError, match="same id type"):
        FeatureEncoder([FeatureSpec("job", "categorical")]).fit(_table(), np.array(["10"]))
    with pytest.raises(JointrecError, match=r"item features \['colour'\] are not available"):
        select_features(_table(), ["colour"], "item")


def test_spec_round_trip_and_declared_specs():
    spec = FeatureSpec("zip3", "categorical", column="zip", prefix=3)
    assert FeatureSpec.from_dict(spec.to_dict()) == spec
    table = FeatureTable(
        ids=np.array([1]),
        columns={"zip": np.array(["1"])},
        metadata={"feature_specs": [spec.to_dict()]},
    )
    assert available_features(table) == {"zip3": spec}
    assert set(available_features(_table())) >= {"genres", "title", "year"}
    assert available_features(None) == {}
    assert MOVIELENS_ITEM_FEATURES["genres"].kind == "multi_categorical"


def _history_by_encoder(x, vocabulary, width, seed=0, side="user"):
    """The reference: each owner's first ``width`` values of a seeded shuffle, written as
    text into a feature table and encoded by `FeatureEncoder` (the general path)."""
    from jointrec.data import FeatureTable

    order = np.random.default_rng(seed).permutation(len(x))
    owners, values = (x.user, x.item) if side == "user" else (x.item, x.user)
    owners, values = owners[order], values[order]
    ids = np.unique(owners)
    lists = []
    for owner in ids:
        mine = values[np.flatnonzero(owners == owner)]  # in shuffled order
        lists.append([str(v) for v in mine[:width]])
    column = np.empty(len(ids), dtype=object)
    column[:] = lists
    table = FeatureTable(ids=ids, columns={"history": column})
    spec = FeatureSpec("history", "multi_categorical", max_values=width)
    return FeatureEncoder([spec]).fit_transform(table, owners, vocabulary)


@pytest.mark.parametrize("strings", [False, True])
@pytest.mark.parametrize("side", ["user", "item"])
def test_history_features_equal_the_encoder_of_a_text_column(strings, side):
    from jointrec.data import Interactions

    rng = np.random.default_rng(5)
    users, items = rng.integers(1, 40, 600), rng.choice([3, 8, 11, 20, 100, 999], 600)
    users[:5], items[:5] = 7, 8  # one user with the same item five times
    if strings:
        users, items = users.astype(str), np.char.add("i", items.astype(str))
    x = Interactions(users, items)
    own = x.user if side == "user" else x.item
    vocabulary = Vocabulary(np.unique(np.r_[own[:-50], own[:3]]))  # some owners unknown
    got = history_features(x, vocabulary, 4, seed=2, side=side)
    want = _history_by_encoder(x, vocabulary, 4, seed=2, side=side)
    np.testing.assert_array_equal(got.arrays["history"], want.arrays["history"])
    assert got.input_dims == want.input_dims
    assert got.layout() == want.layout()


def test_feature_tower_matches_numpy_reference():
    import keras

    from jointrec.model.feature_tower import FeatureTower

    enc = _encode(
        FeatureSpec("job", "categorical"),
        FeatureSpec("age", "numeric"),
        FeatureSpec("genres", "multi_categorical", max_values=3),
    )
    tower = FeatureTower(len(VOCAB), 4, features=enc.layout())
    tower.build((None,))
    tower.set_feature_values(enc.arrays)
    ids = np.arange(len(VOCAB))
    out = keras.ops.convert_to_numpy(tower(ids))
    ident = tower.id_embedding.embeddings.numpy()
    job = tower.feature_embeddings["job"].embeddings.numpy()
    genres = tower.feature_embeddings["genres"].embeddings.numpy()
    kernel = tower.numeric_kernels["age"].numpy()
    expected = ident.copy()
    for j in ids:
        code = enc.arrays["job"][j]
        if code > 0:
            expected[j] += job[code]
        expected[j] += enc.arrays["age"][j] * kernel
        codes = [c for c in enc.arrays["genres"][j] if c > 0]
        if codes:
            expected[j] += genres[codes].mean(axis=0)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    # JSON config round trip rebuilds the same layer shape.
    clone = FeatureTower.from_config(tower.get_config())
    assert clone.features == tower.features and clone.embedding_dim == 4


def test_cold_dropout_shows_users_as_newcomers_only_while_training():
    import keras

    from jointrec.features.prepare import HISTORY
    from jointrec.model.feature_tower import FeatureTower

    enc = _encode(FeatureSpec("job", "categorical"))
    layout = {**enc.layout(), HISTORY: {"kind": "multi_categorical", "input_dim": 4, "width": 2}}
    arrays = {**enc.arrays, HISTORY: np.array([[0, 0], [1, 2], [3, 0], [2, 3], [1, 0], [0, 0]])}
    ids = np.arange(len(VOCAB))
    towers = {}
    for p in (0.0, 0.5):
        keras.utils.set_random_seed(5)
        towers[p] = FeatureTower(len(VOCAB), 4, features=layout, cold_dropout=p, seed=7)
        towers[p].build((None,))
        towers[p].set_feature_values(arrays)
    full = keras.ops.convert_to_numpy(towers[0.0](ids))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(towers[0.5](ids)), full)  # scoring
    job = towers[0.5].feature_embeddings["job"].embeddings.numpy()
    newcomer = np.where((enc.arrays["job"] > 0)[:, None], job[enc.arrays["job"]], 0.0)
    seen = set()
    for _ in range(20):  # each row is either itself or its side features alone
        out = keras.ops.convert_to_numpy(towers[0.5](ids, training=True))
        dropped = np.abs(out - newcomer).max(axis=1) < 1e-6
        kept = np.abs(out - full).max(axis=1) < 1e-6
        assert (dropped | kept).all()
        seen.update(np.flatnonzero(dropped & ~kept).tolist())
    assert len(seen) >= 4  # about half of the rows each time: the draw changes per call
    assert towers[0.5].get_config()["cold_dropout"] == 0.5
    with pytest.raises(ValueError, match="cold_dropout=1.0"):
        FeatureTower(len(VOCAB), 4, features=layout, cold_dropout=1.0)


def test_feature_tower_concat_and_bad_values():
    from jointrec.model.feature_tower import FeatureTower

    layout = {"job": {"kind": "categorical", "input_dim": 4, "width": 1}}
    tower = FeatureTower(3, 5, features=layout, combiner="concat")
    tower.build((None,))
    tower.set_feature_values({"job": np.array([0, 2, 3])})
    assert tuple(tower(np.array([1, 2])).shape) == (2, 5)
    with pytest.raises(ValueError, match="shape"):
        tower.set_feature_values({"job": np.array([0, 2])})
    with pytest.raises(ValueError, match="no values"):
        tower.set_feature_values({})


def test_recency_table_against_a_per_item_reference():
    """Counts in the latest 10% of training by time, and days since each item's first
    interaction, written per item; items nobody rated get 0; no timestamps is one line."""
    import numpy as np
    import pytest

    from jointrec.data.interactions import Interactions
    from jointrec.data.vocabulary import Vocabulary
    from jointrec.errors import JointrecError
    from jointrec.features.prepare import recency_table

    rng = np.random.default_rng(3)
    n, day = 200, 86400
    items = rng.integers(100, 120, n)
    time = rng.integers(0, 1000, n) * day
    x = Interactions(rng.integers(1, 30, n), items, timestamp=time)
    vocab = Vocabulary(np.arange(100, 125))  # 120..124 never rated
    table = recency_table(x, vocab)
    cut = np.sort(time)[n - 20]  # the latest 20 rows (no ties at the cut in this draw)
    assert (time >= cut).sum() == 20
    for j, item in enumerate(vocab.ids):
        mine = items == item
        recent = int((mine & (time >= cut)).sum())
        age = (time.max() - time[mine].min()) / day if mine.any() else 0.0
        assert np.expm1(table.columns["recent_popularity"][j]) == pytest.approx(recent)
        assert np.expm1(table.columns["age_days"][j]) == pytest.approx(age)
    with pytest.raises(JointrecError, match="item_recency needs a timestamp column"):
        recency_table(Interactions(x.user, x.item), vocab)
