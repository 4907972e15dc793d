"""Batches: each process's columns of the global batches equal the columns of the whole."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jointrec.errors import JointrecError
from jointrec.training.batches import TrainingArrays, epoch_batches, epoch_chunks


def _data(n: int, seed: int, log_q: bool) -> TrainingArrays:
    rng = np.random.default_rng(seed)
    return TrainingArrays(
        rng.integers(1, 50, n),
        rng.integers(1, 30, n),
        rng.random(n),
        rng.normal(size=n) if log_q else None,
    )


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 60),
    batch=st.integers(2, 16),
    parts=st.integers(1, 4),
    seed=st.integers(0, 10),
    log_q=st.booleans(),
)
def test_processes_together_hold_exactly_the_global_batches(n, batch, parts, seed, log_q):
    batch = batch * parts  # the global batch splits evenly over the processes
    data = _data(n, seed, log_q)
    order = np.random.default_rng(seed).permutation(n)
    full = epoch_batches(data, order, batch)
    width = batch // parts
    pieces = [
        epoch_batches(data, order, batch, columns=(p * width, (p + 1) * width))
        for p in range(parts)
    ]
    assert set(pieces[0]) == set(full)
    for key, value in full.items():
        np.testing.assert_array_equal(np.concatenate([p[key] for p in pieces], axis=1), value)
        assert all(p[key].dtype == value.dtype for p in pieces)


def test_padding_rows_of_the_last_batch_are_masked():
    # 5 examples, batch 4: the second batch holds example 4 and three padding rows.
    data = _data(5, 0, False)
    local = epoch_batches(data, np.arange(5), 4, columns=(2, 4))
    assert local["mask"].tolist() == [[1.0, 1.0], [0.0, 0.0]]
    assert local["user"][1].tolist() == [0, 0]
    assert local["user"][0].tolist() == data.user[2:4].tolist()


def test_invalid_column_range_is_an_error():
    with pytest.raises(JointrecError, match=r"batch columns \[3, 2\) are invalid"):
        epoch_batches(_data(4, 0, False), np.arange(4), 4, columns=(3, 2))


def test_chunks_concatenate_to_the_epoch_for_any_columns():
    data = _data(23, 1, True)
    order = np.random.default_rng(1).permutation(23)
    for columns in (None, (0, 2), (2, 4)):
        whole = epoch_batches(data, order, 4, columns)
        chunks = list(epoch_chunks(data, order, 4, max_steps=2, columns=columns))
        assert len(chunks) == 3
        for key, value in whole.items():
            np.testing.assert_array_equal(np.concatenate([c[key] for c in chunks]), value)
