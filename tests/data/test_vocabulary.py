"""Vocabulary: contiguous indices, 0 for unknown, exact JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jointrec.data import Vocabulary
from jointrec.errors import JointrecError


def test_integer_ids_sorted_and_unknown_is_zero():
    vocab = Vocabulary.from_values(np.array([30, 10, 20, 10]), name="user")
    assert len(vocab) == 4  # three ids + the unknown index
    assert vocab.encode(np.array([10, 20, 30, 99, -1])).tolist() == [1, 2, 3, 0, 0]
    assert vocab.decode(np.array([1, 3])).tolist() == [10, 30]


def test_string_ids_and_mixed_lookups():
    vocab = Vocabulary(np.array(["b", "a", "c"]), name="item")  # keeps the given order
    assert vocab.encode(np.array(["a", "b", "c", "zz"])).tolist() == [2, 1, 3, 0]
    assert vocab.index("c") == 3
    assert vocab.encode(np.array([1, 2])).tolist() == [0, 0]  # ints never match str ids


@pytest.mark.parametrize("ids", [np.array([5, 1, 9]), np.array(["x", "y"])])
def test_json_round_trip_is_exact(ids):
    vocab = Vocabulary(ids, name="item")
    restored = Vocabulary.from_json(json.loads(json.dumps(vocab.to_json())))
    assert restored == vocab
    assert restored.ids.dtype.kind == vocab.ids.dtype.kind
    assert restored.encode(ids).tolist() == vocab.encode(ids).tolist()


def test_unknown_id_error_names_value_and_fix():
    vocab = Vocabulary(np.array([1, 2, 3]), name="user")
    with pytest.raises(JointrecError, match=r"unknown user id 42.*3 known ids"):
        vocab.index(42)


def test_duplicates_and_bad_indices_rejected():
    with pytest.raises(JointrecError, match="duplicate id 2"):
        Vocabulary(np.array([1, 2, 2]))
    with pytest.raises(JointrecError, match=r"indices must be in \[1, 2\]"):
        Vocabulary(np.array([1, 2])).decode(np.array([0]))
