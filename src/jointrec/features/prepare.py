"""`encode_tower_features`: the encoded side features of both towers for one training run.

Encoders are fitted on the users and items of the training split only; every index of the
user and item vocabularies is then encoded. The optional user history (the items a user
rated in training, an SVD++-like implicit signal) is built here as one more
``multi_categorical`` user feature.

Example:
    >>> users, items = encode_tower_features(  # doctest: +SKIP
    ...     dataset, train, user_vocab, item_vocab, ("age",), ("genres",))
    >>> users.layout()["age"]["kind"]  # doctest: +SKIP
    'bucketized'
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from jointrec.data.feature_spec import FeatureSpec
from jointrec.data.interactions import Dataset, FeatureTable, Interactions
from jointrec.data.vocabulary import Vocabulary
from jointrec.errors import JointrecError
from jointrec.features.catalog import select_features
from jointrec.features.encoder import EncodedFeatures, FeatureEncoder

HISTORY = "history"
POPULARITY = "popularity"
RECENT = "recent_popularity"
AGE = "age_days"
#: The latest share of the training interactions (by time) that `recency_table` counts.
RECENT_FRACTION = 0.1


def history_features(
    train: Interactions, vocabulary: Vocabulary, width: int, seed: int = 0, side: str = "user"
) -> EncodedFeatures:
    """Each training user's rated items (a seeded random subset of at most ``width``) as a
    ``multi_categorical`` feature of every index of ``vocabulary``; with ``side="item"``,
    each training item's raters.

    The codes are those `FeatureEncoder` gives such a column (the values in the order of
    their text, from 2; 0 pads), computed on integer arrays: at 25M interactions, writing
    every value out as text first took 1.7 GB and half of the features stage.

    Example:
        >>> x = Interactions(np.array([1, 1, 2]), np.array([10, 11, 10]))
        >>> f = history_features(x, Vocabulary(np.array([1, 2])), 5)
        >>> f.arrays["history"].tolist(), f.input_dims["history"]
        ([[0, 0, 0, 0, 0], [2, 3, 0, 0, 0], [2, 0, 0, 0, 0]], 4)
    """
    owners, values = (train.user, train.item) if side == "user" else (train.item, train.user)
    order = np.random.default_rng(seed).permutation(len(train))
    owners, values = np.asarray(owners)[order], np.asarray(values)[order]
    by_owner = np.argsort(owners, kind="stable")
    owners, values = owners[by_owner], values[by_owner]
    ids, starts, counts = np.unique(owners, return_index=True, return_counts=True)
    group = np.repeat(np.arange(len(ids)), counts)
    first = np.arange(len(owners)) - starts[group] < width
    group, values = group[first], values[first]
    distinct, value_index = np.unique(values, return_inverse=True)
    # a value twice in one owner's list counts once, where it first appears
    _, once = np.unique(group * len(distinct) + value_index, return_index=True)
    once.sort()
    group, value_index = group[once], value_index[once]
    slot = np.arange(len(group)) - np.searchsorted(group, group)
    code_of = np.empty(len(distinct), dtype=np.int32)
    code_of[np.argsort(distinct.astype(str), kind="stable")] = np.arange(len(distinct)) + 2
    codes = np.zeros((len(vocabulary), width), dtype=np.int32)
    rows = vocabulary.encode(ids)
    known = rows[group] > 0
    codes[rows[group][known], slot[known]] = code_of[value_index[known]]
    spec = FeatureSpec(HISTORY, "multi_categorical", max_values=width)
    return EncodedFeatures({HISTORY: codes}, {HISTORY: spec}, {HISTORY: len(distinct) + 2})


def popularity_table(train: Interactions, items: Vocabulary) -> FeatureTable:
    """``log(1 + training interactions)`` of every item of ``items`` (0 for items nobody
    interacted with in training, e.g. a catalogue's new items).

    A numeric feature is linear in its value, so what the model learns from the popularity
    of the items it trains on extends to items with no interactions at all: they rank
    below equally fitting popular items instead of floating into every user's top list.

    Example:
        >>> x = Interactions(np.array([1, 1, 2]), np.array([10, 11, 10]))
        >>> t = popularity_table(x, Vocabulary(np.array([10, 11, 12])))
        >>> t.ids.tolist(), np.round(np.expm1(t.columns["popularity"]), 6).tolist()
        ([10, 11, 12], [2.0, 1.0, 0.0])
    """
    ids = np.asarray(items.ids)
    counts = np.zeros(len(ids))
    values, n = np.unique(train.item, return_counts=True)
    pos = np.searchsorted(ids, values)
    found = (pos < len(ids)) & (ids[np.minimum(pos, len(ids) - 1)] == values)
    counts[pos[found]] = n[found]
    return FeatureTable(ids=ids, columns={POPULARITY: np.log1p(counts)}, source="popularity")


def recency_table(
    train: Interactions, items: Vocabulary, recent_fraction: float = RECENT_FRACTION
) -> FeatureTable:
    """Where each item of ``items`` stands in time at the end of training: ``recent_popularity``,
    ``log(1 + its interactions among the latest recent_fraction of training)``, and
    ``age_days``, ``log(1 + days from its first training interaction to the last one)`` (0 for
    items nobody interacted with). Features as of the training cut, for predicting forward.

    Example:
        >>> day = 86400
        >>> x = Interactions(np.array([1, 1, 2, 3]), np.array([10, 11, 10, 11]),
        ...                  timestamp=np.array([0, 9, 3, 10]) * day)
        >>> t = recency_table(x, Vocabulary(np.array([10, 11, 12])), recent_fraction=0.5)
        >>> np.round(np.expm1(t.columns["recent_popularity"]), 6).tolist()
        [0.0, 2.0, 0.0]
        >>> np.round(np.expm1(t.columns["age_days"]), 6).tolist()
        [10.0, 1.0, 0.0]
    """
    if train.timestamp is None:
        raise JointrecError(
            f"{train.source}: item_recency needs a timestamp column: pass --time-col or "
            "turn item_recency off"
        )
    ids = np.asarray(items.ids)
    time = np.asarray(train.timestamp, dtype=np.float64)
    index = items.encode(train.item)
    end = float(time.max(initial=0.0))
    order = np.argsort(time, kind="stable")
    latest = order[round(len(order) * (1.0 - recent_fraction)) :]
    recent = np.bincount(index[latest], minlength=len(ids) + 1)[1:]
    first = np.full(len(ids) + 1, np.inf)
    np.minimum.at(first, index, time)
    age = np.where(np.isfinite(first[1:]), (end - first[1:]) / 86400.0, 0.0)
    columns = {RECENT: np.log1p(recent.astype(np.float64)), AGE: np.log1p(age)}
    return FeatureTable(ids=ids, columns=columns, source="item recency")


def encode_side(
    table: FeatureTable | None,
    specs: Sequence[FeatureSpec],
    train_ids: np.ndarray,
    vocabulary: Vocabulary,
) -> EncodedFeatures | None:
    """Fits ``specs`` on ``train_ids``' rows of ``table`` and encodes ``vocabulary``."""
    if not specs:
        return None
    return FeatureEncoder(specs).fit_transform(table, train_ids, vocabulary)  # type: ignore[arg-type]


def encode_tower_features(
    dataset: Dataset,
    train: Interactions,
    users: Vocabulary,
    items: Vocabulary,
    user_features: Sequence[str],
    item_features: Sequence[str],
    user_history: int = 0,
    item_history: int = 0,
    item_popularity: bool = False,
    item_recency: bool = False,
) -> tuple[EncodedFeatures | None, EncodedFeatures | None]:
    """Encoded user and item features (``None`` for a tower without features)."""
    user_enc = encode_side(
        dataset.users, select_features(dataset.users, user_features, "user"), train.user, users
    )
    item_enc = encode_side(
        dataset.items, select_features(dataset.items, item_features, "item"), train.item, items
    )
    if user_history > 0:
        user_enc = _joined(user_enc, history_features(train, users, user_history))
    if item_history > 0:
        item_enc = _joined(item_enc, history_features(train, items, item_history, side="item"))
    if item_popularity:
        spec = FeatureSpec(POPULARITY, "numeric")
        item_enc = _with(item_enc, popularity_table(train, items), spec, train.item, items)
    if item_recency:
        table = recency_table(train, items)
        for name in (RECENT, AGE):
            item_enc = _with(item_enc, table, FeatureSpec(name, "numeric"), train.item, items)
    return user_enc, item_enc


def _with(
    encoded: EncodedFeatures | None,
    table: FeatureTable,
    spec: FeatureSpec,
    train_ids: np.ndarray,
    vocabulary: Vocabulary,
) -> EncodedFeatures:
    """``encoded`` plus one more feature (``spec``, from ``table``)."""
    extra = encode_side(table, [spec], train_ids, vocabulary)
    assert extra is not None
    return _joined(encoded, extra)


def _joined(encoded: EncodedFeatures | None, extra: EncodedFeatures) -> EncodedFeatures:
    """``encoded`` with ``extra``'s features added."""
    if encoded is None:
        return extra
    encoded.arrays.update(extra.arrays)
    encoded.specs.update(extra.specs)
    encoded.input_dims.update(extra.input_dims)
    return encoded
