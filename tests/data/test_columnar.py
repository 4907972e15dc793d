"""Big Parquet files stream into memory-mapped columns, and read as the whole file would."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jointrec.data import columnar
from jointrec.data.synthetic import SyntheticSpec, write_synthetic_parquet
from jointrec.data.tables import read_interactions
from jointrec.errors import JointrecError

COLUMNS = {"user_col": "user_id", "item_col": "item_id", "rating_col": "rating",
           "time_col": "timestamp"}  # fmt: skip


@pytest.fixture
def parquet(tmp_path):
    path = tmp_path / "ratings.parquet"
    write_synthetic_parquet(SyntheticSpec(300, 200, 9_000, seed=2), path, progress=False,
                            row_group_rows=2000)  # fmt: skip
    return path


@pytest.fixture
def streaming(monkeypatch):
    """Streams every file: Parquet in batches of 1,000 rows, CSV in blocks of 64 bytes."""
    monkeypatch.setattr(columnar, "STREAM_MIN_ROWS", 1)
    monkeypatch.setattr(columnar, "BATCH_ROWS", 1000)
    monkeypatch.setattr(columnar, "STREAM_MIN_BYTES", 0)
    monkeypatch.setattr(columnar, "CSV_BLOCK_BYTES", 64)


def _whole(monkeypatch, path, **kwargs):
    with monkeypatch.context() as m:
        m.setattr(columnar, "STREAM_MIN_ROWS", 1 << 62)
        m.setattr(columnar, "STREAM_MIN_BYTES", 1 << 62)
        return read_interactions(path, **kwargs)


def _mapped(array: np.ndarray) -> bool:
    while array is not None and not isinstance(array, np.memmap):
        array = array.base if isinstance(array.base, np.ndarray) else None
    return array is not None


def test_streamed_file_reads_as_the_whole_file(parquet, streaming, monkeypatch):
    x = read_interactions(parquet, **COLUMNS)
    ref = _whole(monkeypatch, parquet, **COLUMNS)
    table = pq.read_table(parquet)
    assert _mapped(x.user) and _mapped(x.timestamp) and not _mapped(ref.user)
    for name in ("user", "item", "rating", "timestamp"):
        ours, theirs = getattr(x, name), getattr(ref, name)
        assert ours.dtype == theirs.dtype, name
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(x.user, table["user_id"].to_numpy())
    assert x.rating_scale == ref.rating_scale
    # The scratch files are unlinked from the start: nothing to clean up, nothing left.
    assert os.listdir(columnar.scratch_dir()) == []


def test_streamed_mixed_feedback_and_duplicates(tmp_path, streaming, monkeypatch):
    path = tmp_path / "mixed.parquet"
    table = pa.table({"u": [1, 2, 3, 1, 2, 4], "i": [1, 2, 3, 1, 5, 6],
                      "r": [1.0, None, 4.0, 2.0, 3.0, None],
                      "t": [10, 20, 30, 40, 50, 60]})  # fmt: skip
    pq.write_table(table, path, row_group_size=2)
    kwargs = {"user_col": "u", "item_col": "i", "rating_col": "r", "time_col": "t"}
    with pytest.raises(
        JointrecError, match=r"row 4 repeats the \(user, item\) pair \(1, 1\) of row 1"
    ):
        read_interactions(path, **kwargs)
    notes: list[str] = []
    x = read_interactions(path, **kwargs, duplicates="keep_last", notes=notes)
    ref = _whole(monkeypatch, path, **kwargs, duplicates="keep_last")
    np.testing.assert_array_equal(x.rating, ref.rating)  # a null: an unrated row
    np.testing.assert_array_equal(x.timestamp, ref.timestamp)
    assert x.user.tolist() == [2, 3, 1, 2, 4] and any("1 repeated" in n for n in notes)


def test_a_bad_value_in_a_later_batch_names_its_file_row(tmp_path, monkeypatch):
    monkeypatch.setattr(columnar, "STREAM_MIN_ROWS", 1)
    monkeypatch.setattr(columnar, "BATCH_ROWS", 3)
    path = tmp_path / "gap.parquet"
    users = [1, 2, 3, 4, 5, 6, None, 8]  # row 7 of the file, in the third batch
    pq.write_table(pa.table({"u": users, "i": list(range(8)), "r": [3.0] * 7 + [9.0]}), path)
    with pytest.raises(JointrecError, match=r"gap.parquet row 7: column 'u' is empty"):
        read_interactions(path, user_col="u", item_col="i")
    pq.write_table(pa.table({"u": list(range(8)), "i": list(range(8)),
                             "r": [3.0] * 7 + [9.0]}), path)  # fmt: skip
    with pytest.raises(JointrecError, match=r"gap.parquet row 8: column 'r' holds 9: expected"):
        read_interactions(path, user_col="u", item_col="i", rating_col="r", rating_scale=(1, 5))
    with pytest.raises(JointrecError, match=r"has no column 'stars' \(named by --rating-col\)"):
        read_interactions(path, user_col="u", item_col="i", rating_col="stars")


def test_text_ids_are_read_whole(tmp_path, streaming):
    path = tmp_path / "text.parquet"
    pq.write_table(pa.table({"u": ["a", "b", "a"], "i": ["x", "y", "y"]}), path)
    x = read_interactions(path, user_col="u", item_col="i")
    assert x.user.tolist() == ["a", "b", "a"] and not _mapped(x.user)


def test_an_unwritable_scratch_folder_is_one_clear_line(tmp_path, streaming, parquet, monkeypatch):
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    monkeypatch.setenv("JOINTREC_DATA_DIR", str(blocked))
    with pytest.raises(
        JointrecError,
        match=r"cannot write a scratch column .* in .*cache/scratch' \(Not a directory\)",
    ):
        read_interactions(parquet, **COLUMNS)


def test_a_big_csv_streams_too_and_reads_as_the_whole_file(tmp_path, streaming, monkeypatch):
    path = tmp_path / "log.csv"
    lines = [f"{u},{100 + (u * 7) % 13},{1 + u % 5},{1000 + u}" for u in range(40)]
    lines[5] = "5,107,,1005"  # an empty cell: an unrated row
    path.write_text("user,item,stars,when\n" + "\n".join(lines) + "\n")
    kwargs = {"user_col": "user", "item_col": "item", "rating_col": "stars", "time_col": "when"}
    x = read_interactions(path, **kwargs)
    ref = _whole(monkeypatch, path, **kwargs)
    assert _mapped(x.user) and _mapped(x.timestamp) and not _mapped(ref.user)
    for name in ("user", "item", "rating", "timestamp"):
        np.testing.assert_array_equal(getattr(x, name), getattr(ref, name))
        assert getattr(x, name).dtype == getattr(ref, name).dtype
    assert np.isnan(x.rating[5]) and x.rating_scale == ref.rating_scale


def test_csv_errors_in_a_later_block_name_their_line(tmp_path, streaming):
    path = tmp_path / "log.csv"
    rows = [f"{u},{u},3" for u in range(30)]
    rows[20] = "20,20,NA"  # line 22 of the file, well past the first 64-byte block
    path.write_text("u,i,r\n" + "\n".join(rows) + "\n")
    with pytest.raises(JointrecError, match=r"log.csv line 22: column 'r' holds 'NA'"):
        read_interactions(path, user_col="u", item_col="i", rating_col="r")
    rows[20] = ",20,3"
    path.write_text("u,i,r\n" + "\n".join(rows) + "\n")
    with pytest.raises(JointrecError, match=r"log.csv line 22: column 'u' is empty"):
        read_interactions(path, user_col="u", item_col="i", rating_col="r")


def test_text_ids_in_a_later_csv_block_fall_back_to_the_whole_file(tmp_path, streaming):
    path = tmp_path / "log.csv"
    rows = [f"{u},{u}" for u in range(30)] + ["ann,7"]  # text only at the end
    path.write_text("u,i\n" + "\n".join(rows) + "\n")
    x = read_interactions(path, user_col="u", item_col="i")
    assert x.user.dtype.kind == "U" and x.user[-1] == "ann" and x.user[0] == "0"
    assert os.listdir(columnar.scratch_dir()) == []
