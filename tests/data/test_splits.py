"""Splits are seeded, deterministic, disjoint and cover the input."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.data import Interactions, leave_last_n, random_split, split_rows, temporal_split
from jointrec.errors import JointrecError
from jointrec.settings import SplitConfig


@pytest.fixture
def interactions(rng) -> Interactions:
    n = 500
    return Interactions(
        user=rng.integers(1, 40, n),
        item=rng.integers(1, 60, n),
        rating=rng.integers(1, 6, n).astype(float),
        timestamp=rng.permutation(n) * 10,
    )


@pytest.mark.parametrize("method", ["random", "temporal", "leave_last_n"])
@pytest.mark.parametrize("validation", [0.0, 0.2])
def test_parts_are_disjoint_cover_input_and_are_deterministic(interactions, method, validation):
    config = SplitConfig(method=method, test_fraction=0.25, validation_fraction=validation, seed=7)
    train, val, test = split_rows(interactions, config)
    all_rows = np.concatenate([train, val, test])
    assert len(all_rows) == len(interactions)
    assert len(np.unique(all_rows)) == len(interactions)
    assert (len(val) > 0) == (validation > 0)
    again = split_rows(interactions, config)
    for a, b in zip((train, val, test), again, strict=True):
        assert np.array_equal(a, b)


def test_random_split_is_the_tutorial_protocol(interactions):
    # Shuffle once with the seed; the first 80% of the permutation is train.
    perm = np.random.default_rng(42).permutation(len(interactions))
    train, test = random_split(interactions, test_fraction=0.2, seed=42)
    assert np.array_equal(train.user, interactions.user[perm[:400]])
    assert np.array_equal(test.item, interactions.item[perm[400:]])
    other, _ = random_split(interactions, test_fraction=0.2, seed=43)
    assert not np.array_equal(other.user, train.user)


def test_temporal_split_puts_latest_in_test(interactions):
    train, test = temporal_split(interactions, test_fraction=0.3)
    assert train.timestamp.max() < test.timestamp.min()
    assert len(test) == 150


def test_leave_last_n_takes_each_users_latest():
    x = Interactions(
        user=np.array([1, 1, 1, 2, 2, 3]),
        item=np.array([1, 2, 3, 1, 2, 1]),
        rating=np.full(6, 4.0),
        timestamp=np.array([5, 9, 1, 3, 2, 7]),
    )
    train, test = leave_last_n(x, n=1)
    assert sorted(zip(test.user.tolist(), test.item.tolist())) == [(1, 2), (2, 1)]
    assert 3 in train.user.tolist()  # a user with a single interaction keeps it in train
    train2, test2 = leave_last_n(x, n=2)
    assert sorted(zip(test2.user.tolist(), test2.item.tolist())) == [(1, 1), (1, 2)]


def test_time_based_split_without_timestamps_is_a_clear_error():
    x = Interactions(user=np.array([1, 2]), item=np.array([1, 2]), rating=np.array([3.0, 4.0]))
    with pytest.raises(JointrecError, match="needs a timestamp column"):
        split_rows(x, SplitConfig(method="temporal"))
