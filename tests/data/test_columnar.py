"""The streaming Parquet reader and the memory-mapped column store."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jointrec.data.columnar import ColumnStore, read_parquet_columns
from jointrec.data.interactions import Dataset, Interactions
from jointrec.data.synthetic import SyntheticSpec, write_synthetic_parquet
from jointrec.errors import JointrecError
from jointrec.experiments.pipeline import prepare_data
from jointrec.settings import SplitConfig


@pytest.fixture
def parquet(tmp_path):
    path = tmp_path / "ratings.parquet"
    write_synthetic_parquet(SyntheticSpec(300, 200, 9_000, seed=2), path, progress=False,
                            row_group_rows=2000)  # fmt: skip
    return path


def _write(path, **columns):
    pq.write_table(pa.table(columns), path, row_group_size=3)
    return path


def test_columns_are_memory_mapped_and_encoded(parquet, tmp_path):
    store = read_parquet_columns(parquet, tmp_path / "store", batch_rows=1000, progress=False)
    table = pq.read_table(parquet)
    assert isinstance(store.user, np.memmap) and store.user.dtype == np.int32
    assert len(store) == 9_000 and store.rating_scale == (0.5, 5.0)  # from the file metadata
    np.testing.assert_array_equal(store.users.decode(store.user), table["user_id"].to_numpy())
    np.testing.assert_array_equal(store.items.decode(store.item), table["item_id"].to_numpy())
    np.testing.assert_array_equal(store.rating, table["rating"].to_numpy())
    np.testing.assert_array_equal(store.timestamp, table["timestamp"].to_numpy())
    reopened = ColumnStore.open(tmp_path / "store")
    np.testing.assert_array_equal(reopened.item, store.item)
    assert reopened.users == store.users


@pytest.mark.parametrize(
    "split",
    [
        SplitConfig(),
        SplitConfig(validation_fraction=0.1),
        SplitConfig(method="temporal", test_fraction=0.25),
        SplitConfig(method="leave_last_n", leave_n=2),
    ],
)
def test_split_matches_prepare_data(parquet, tmp_path, split):
    # The out-of-core split picks the same rows, in the same order, as the in-memory
    # pipeline, and encodes test-only users and items as unknown (0) the same way.
    store = read_parquet_columns(parquet, tmp_path / "store", progress=False)
    train, validation, test = store.split(split)
    t = pq.read_table(parquet)
    x = Interactions(t["user_id"].to_numpy(), t["item_id"].to_numpy(), t["rating"].to_numpy(),
                     t["timestamp"].to_numpy(), rating_scale=(0.5, 5.0))  # fmt: skip
    ref = prepare_data(Dataset("s", x), split)
    for ours, theirs in ((train, ref.train), (validation, ref.validation), (test, ref.test)):
        assert len(ours) == len(theirs)
        np.testing.assert_array_equal(ours.rating, theirs.rating)
        for name, vocab, ref_vocab in (("user", store.users, ref.users),
                                       ("item", store.items, ref.items)):  # fmt: skip
            mine, other = getattr(ours, name), getattr(theirs, name)
            np.testing.assert_array_equal(mine == 0, other == 0)
            known = mine > 0
            np.testing.assert_array_equal(vocab.decode(mine[known]),
                                          ref_vocab.decode(other[known]))  # fmt: skip
    assert isinstance(train.user, np.memmap)


def test_string_ids_and_observed_rating_scale(tmp_path):
    path = _write(tmp_path / "s.parquet", u=["a", "b", "a", "c"], i=["x", "y", "y", "x"],
                  r=[1.0, 3.0, 2.0, 4.0])  # fmt: skip
    store = read_parquet_columns(path, tmp_path / "store", user_col="u", item_col="i",
                                 rating_col="r", time_col=None, progress=False)  # fmt: skip
    assert store.users.decode(store.user).tolist() == ["a", "b", "a", "c"]
    assert store.rating_scale == (1.0, 4.0) and store.timestamp is None


def test_errors_name_file_column_and_row(tmp_path):
    path = _write(tmp_path / "s.parquet", u=[1, None, 3, 4], i=[1, 2, 3, 4],
                  r=[1.0, None, 2.0, 3.0])  # fmt: skip
    with pytest.raises(JointrecError, match=r"no column 'user_id' for the users: available"):
        read_parquet_columns(path, tmp_path / "a", progress=False)
    with pytest.raises(JointrecError, match=r"column 'u' row 1 is empty"):
        read_parquet_columns(path, tmp_path / "b", user_col="u", item_col="i", rating_col="r",
                             time_col=None, progress=False)  # fmt: skip
    mixed = _write(tmp_path / "m.parquet", u=[1, 2, 3], i=[1, 2, 3], r=[1.0, None, 4.0])
    store = read_parquet_columns(mixed, tmp_path / "m", user_col="u", item_col="i",
                                 rating_col="r", time_col=None, progress=False)  # fmt: skip
    assert np.isnan(store.rating).tolist() == [False, True, False]  # a null: unrated
    assert store.rating_scale == (1.0, 4.0)
    ok = _write(tmp_path / "t.parquet", u=[1, 2], i=[1, 2], r=[1.0, 9.0])
    with pytest.raises(JointrecError, match=r"ratings in \[1, 9\], outside the rating scale"):
        read_parquet_columns(ok, tmp_path / "c", user_col="u", item_col="i", rating_col="r",
                             time_col=None, rating_scale=(1.0, 5.0), progress=False)  # fmt: skip
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(JointrecError, match=r"cannot read .* as Parquet"):
        read_parquet_columns(tmp_path / "bad.parquet", tmp_path / "d", progress=False)
    with pytest.raises(JointrecError, match=r"is not a column store"):
        ColumnStore.open(tmp_path / "d")
    store = read_parquet_columns(ok, tmp_path / "e", user_col="u", item_col="i", rating_col="r",
                                 time_col=None, progress=False)  # fmt: skip
    with pytest.raises(JointrecError, match=r"split 'temporal' needs a timestamp column"):
        store.split(SplitConfig(method="temporal"))
