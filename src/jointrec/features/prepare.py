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

from jointrec.data.interactions import Dataset, FeatureTable, Interactions
from jointrec.data.vocabulary import Vocabulary
from jointrec.features.catalog import select_features
from jointrec.features.encoder import EncodedFeatures, FeatureEncoder
from jointrec.features.spec import FeatureSpec

HISTORY = "history"


def user_history_table(
    train: Interactions, max_items: int, seed: int = 0, side: str = "user"
) -> FeatureTable:
    """Each training user's rated items (a seeded random subset of at most ``max_items``);
    with ``side="item"``, each training item's raters.

    Example:
        >>> x = Interactions(np.array([1, 1, 2]), np.array([10, 11, 10]))
        >>> t = user_history_table(x, 5)
        >>> t.ids.tolist(), [sorted(v) for v in t.columns["history"]]
        ([1, 2], [['10', '11'], ['10']])
        >>> user_history_table(x, 5, side="item").ids.tolist()
        [10, 11]
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train))
    users, items = train.user[order], train.item[order].astype(str)
    if side == "item":
        users, items = train.item[order], train.user[order].astype(str)
    by_user = np.argsort(users, kind="stable")
    users, items = users[by_user], items[by_user]
    ids, starts = np.unique(users, return_index=True)
    ends = np.r_[starts[1:], len(users)]
    history = np.empty(len(ids), dtype=object)
    for j, (lo, hi) in enumerate(zip(starts, ends, strict=True)):
        history[j] = [str(v) for v in items[lo : min(hi, lo + max_items)]]
    return FeatureTable(ids=ids, columns={HISTORY: history}, source="user history")


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
) -> tuple[EncodedFeatures | None, EncodedFeatures | None]:
    """Encoded user and item features (``None`` for a tower without features)."""
    user_enc = encode_side(
        dataset.users, select_features(dataset.users, user_features, "user"), train.user, users
    )
    item_enc = encode_side(
        dataset.items, select_features(dataset.items, item_features, "item"), train.item, items
    )
    if user_history > 0:
        table = user_history_table(train, user_history)
        user_enc = _with_history(user_enc, table, user_history, train.user, users)
    if item_history > 0:
        table = user_history_table(train, item_history, side="item")
        item_enc = _with_history(item_enc, table, item_history, train.item, items)
    return user_enc, item_enc


def _with_history(
    encoded: EncodedFeatures | None,
    table: FeatureTable,
    width: int,
    train_ids: np.ndarray,
    vocabulary: Vocabulary,
) -> EncodedFeatures:
    spec = FeatureSpec(HISTORY, "multi_categorical", max_values=width)
    history = encode_side(table, [spec], train_ids, vocabulary)
    assert history is not None
    if encoded is None:
        return history
    encoded.arrays[HISTORY] = history.arrays[HISTORY]
    encoded.specs[HISTORY] = spec
    encoded.input_dims[HISTORY] = history.input_dims[HISTORY]
    return encoded
