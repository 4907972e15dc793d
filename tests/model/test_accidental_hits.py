"""RemoveAccidentalHits: duplicates of the positive get zero softmax weight."""

from __future__ import annotations

import keras_rs
import numpy as np
import pytest

from jointrec.model import RemoveAccidentalHits


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def assert_duplicates_get_no_probability(layer, candidate_ids: np.ndarray) -> None:
    """Row 0's positive is item 7 (column 0); column 1 is item 7 again (an accidental hit)."""
    logits = np.array([[1.0, 3.0, 0.5], [0.2, 1.0, 0.1]], dtype="float32")
    labels = np.eye(2, 3, dtype="float32")
    out = np.asarray(layer(logits, labels, candidate_ids))
    probs = softmax(out)
    assert probs[0, 1] < 1e-6, f"accidental hit keeps probability {probs[0, 1]:.3f}"
    # Everything else is untouched: the positive and true negatives keep their logits.
    np.testing.assert_allclose(out[0, [0, 2]], logits[0, [0, 2]])


def test_masks_duplicate_of_positive_1d_ids():
    layer = RemoveAccidentalHits()
    assert_duplicates_get_no_probability(layer, np.array([7, 7, 9]))
    # With shared ids, row 1 (positive: column 1, item 7) sees column 0 as a duplicate too.
    out = np.asarray(
        layer(np.zeros((2, 3), "float32"), np.eye(2, 3, dtype="float32"), np.array([7, 7, 9]))
    )
    assert out[1, 0] < -1e8 and out[1, 1] == 0.0 and out[1, 2] == 0.0


def test_masks_duplicate_of_positive_2d_ids():
    ids = np.array([[7, 7, 9], [4, 5, 6]])
    logits = np.array([[1.0, 3.0, 0.5], [0.2, 1.0, 0.1]], dtype="float32")
    assert_duplicates_get_no_probability(RemoveAccidentalHits(), ids)
    out = np.asarray(RemoveAccidentalHits()(logits, np.eye(2, 3, dtype="float32"), ids))
    np.testing.assert_allclose(out[1], logits[1])  # row 1 has no duplicate of item 5


def test_second_row_duplicates_use_that_rows_positive():
    # Row 1's positive is column 1 (item 5); column 2 is item 5 too; row 0 has no duplicate.
    logits = np.zeros((2, 3), dtype="float32")
    labels = np.eye(2, 3, dtype="float32")
    ids = np.array([[1, 2, 3], [9, 5, 5]])
    out = np.asarray(RemoveAccidentalHits()(logits, labels, ids))
    assert out[0].tolist() == [0.0, 0.0, 0.0]
    assert out[1, 2] < -1e8 and out[1, 0] == 0.0 and out[1, 1] == 0.0


@pytest.mark.parametrize("ids", [np.array([7, 7, 9]), np.array([[7, 7, 9], [4, 5, 6]])])
def test_upstream_keras_rs_layer_fails_this_check(ids):
    """keras-rs 0.4.0 adds ~1e-40 to the logits, which float32 cannot represent next to 3.0."""
    with pytest.raises(AssertionError):
        assert_duplicates_get_no_probability(keras_rs.layers.RemoveAccidentalHits(), ids)


def test_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="batch, candidates"):
        RemoveAccidentalHits()(
            np.zeros((2, 3), "float32"), np.zeros((2, 2), "float32"), np.array([1, 2, 3])
        )
