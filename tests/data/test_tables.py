"""Reading interaction logs from CSV and Parquet files (`jointrec.data.tables`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jointrec.data.tables import TableFile, read_interactions
from jointrec.errors import JointrecError

ROWS = [  # user, item, rating, time
    ("ann", "m-1", 5.0, "2024-01-01T00:00:00"),
    ("bob", "m-1", 3.0, "2024-01-02T00:00:00"),
    ("ann", "007", 1.0, "2024-01-03T10:00:00"),
    ("cy", "m-2", 4.5, "2024-01-04T00:00:00"),
]


def write_csv(path: Path, header: str, rows: list[tuple]) -> Path:
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return path


def test_csv_and_parquet_with_string_ids_read_the_same(tmp_path):
    csv = write_csv(tmp_path / "events.csv", "who,what,stars,when", ROWS)
    table = pa.table(
        {
            "who": [r[0] for r in ROWS],
            "what": [r[1] for r in ROWS],
            "stars": [r[2] for r in ROWS],
            "when": pa.array(np.array([r[3] for r in ROWS], dtype="datetime64[ms]")),
            "ignored": [1, 2, 3, 4],
        }
    )
    parquet = tmp_path / "events.parquet"
    pq.write_table(table, parquet)
    cols = dict(user_col="who", item_col="what", rating_col="stars", time_col="when")
    a, b = read_interactions(csv, **cols), read_interactions(parquet, **cols)
    for x in (a, b):
        assert x.user.tolist() == ["ann", "bob", "ann", "cy"]
        # '007' keeps its zeros: ids that are not all canonical integers stay strings.
        assert x.item.tolist() == ["m-1", "m-1", "007", "m-2"]
        assert x.rating.tolist() == [5.0, 3.0, 1.0, 4.5]
        assert x.rating_scale == (1.0, 5.0)  # inferred from the lowest and highest rating
        # 2024-01-01T00:00:00Z is 1704067200 s after the epoch; the rows are 1, 2, 3.4 days on.
        assert x.timestamp.tolist() == [1704067200, 1704153600, 1704276000, 1704326400]
    assert a.source == str(csv)


def test_integer_ids_are_integers_in_csv_tsv_and_parquet(tmp_path):
    rows = [(3, 10, 2), (1, 11, 1)]
    csv = write_csv(tmp_path / "e.csv", "u,i,t", rows)
    tsv = tmp_path / "e.tsv"
    tsv.write_text("u\ti\tt\n3\t10\t2\n1\t11\t1\n")
    parquet = tmp_path / "e.parquet"
    pq.write_table(pa.table({"u": [3, 1], "i": [10, 11], "t": [2.0, 1.0]}), parquet)
    for path in (csv, tsv, parquet):
        x = read_interactions(path, user_col="u", item_col="i", time_col="t")
        assert x.user.dtype == np.int64 and x.user.tolist() == [3, 1]
        assert x.item.tolist() == [10, 11]
        assert x.rating is None
        assert x.timestamp.tolist() == [2, 1]


def test_semicolon_csv_and_gzip(tmp_path):
    import gzip

    path = tmp_path / "e.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("u;i\na;b\nc;d\n")
    x = read_interactions(path, user_col="u", item_col="i", delimiter=";")
    assert x.user.tolist() == ["a", "c"] and x.item.tolist() == ["b", "d"]


def test_given_rating_scale_is_kept_and_checked(tmp_path):
    path = write_csv(tmp_path / "e.csv", "u,i,r", [(1, 1, 3), (2, 1, 4)])
    x = read_interactions(path, user_col="u", item_col="i", rating_col="r", rating_scale=(1, 5))
    assert x.rating_scale == (1.0, 5.0)
    with pytest.raises(
        JointrecError, match=r"e\.csv line 3: column 'r' holds 4: expected a rating in \[1, 3\]"
    ):
        read_interactions(path, user_col="u", item_col="i", rating_col="r", rating_scale=(1, 3))


def test_constant_ratings_need_an_explicit_scale(tmp_path):
    path = write_csv(tmp_path / "e.csv", "u,i,r", [(1, 1, 1), (2, 1, 1)])
    with pytest.raises(JointrecError, match=r"every value of column 'r' is 1.*rating_scale"):
        read_interactions(path, user_col="u", item_col="i", rating_col="r")


def test_missing_column_names_the_option_and_the_columns(tmp_path):
    path = write_csv(tmp_path / "e.csv", "u,i,r", [(1, 1, 1)])
    with pytest.raises(JointrecError) as err:
        read_interactions(path, user_col="user_id", item_col="i")
    assert str(err.value) == (
        f"interactions file '{path}' has no column 'user_id' (named by --user-col): "
        "its columns are 'u', 'i', 'r'; pass the right name with --user-col"
    )
    parquet = tmp_path / "e.parquet"
    pq.write_table(pa.table({"u": [1], "i": [2]}), parquet)
    with pytest.raises(JointrecError, match=r"no column 'stars' \(named by --rating-col\)"):
        read_interactions(parquet, user_col="u", item_col="i", rating_col="stars")


def test_wrong_types_name_the_value_and_the_line(tmp_path):
    path = write_csv(tmp_path / "e.csv", "u,i,r,t", [(1, 1, 4, 5), (2, 1, "five", 6)])
    with pytest.raises(
        JointrecError,
        match=r"column 'r' holds string, e.g. 'five' on .*e\.csv line 3: expected numeric ratings",
    ):
        read_interactions(path, user_col="u", item_col="i", rating_col="r")
    path = write_csv(tmp_path / "t.csv", "u,i,t", [(1, 1, "soon")])
    with pytest.raises(JointrecError, match=r"column 't' holds string.*expected seconds since"):
        read_interactions(path, user_col="u", item_col="i", time_col="t")
    parquet = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"u": [1.5, 2.0], "i": [1, 2]}), parquet)
    with pytest.raises(JointrecError, match=r"column 'u' holds double, e.g. 1.5 on .* row 1"):
        read_interactions(parquet, user_col="u", item_col="i")
    parquet = tmp_path / "bool.parquet"
    pq.write_table(pa.table({"u": [True], "i": [1]}), parquet)
    with pytest.raises(JointrecError, match=r"column 'u' holds bool.*expected integer or string"):
        read_interactions(parquet, user_col="u", item_col="i")


def test_empty_cells_missing_and_empty_files(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("u,i\n1,2\n,3\n")
    with pytest.raises(JointrecError, match=r"e\.csv line 3: column 'u' is empty"):
        read_interactions(path, user_col="u", item_col="i")
    with pytest.raises(JointrecError, match=r"'nope\.csv' does not exist"):
        read_interactions("nope.csv", user_col="u", item_col="i")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(JointrecError, match="cannot be read as csv: the file is empty"):
        read_interactions(tmp_path / "empty.csv", user_col="u", item_col="i")
    (tmp_path / "header.csv").write_text("u,i\n")
    with pytest.raises(JointrecError, match="has no rows"):
        read_interactions(tmp_path / "header.csv", user_col="u", item_col="i")
    (tmp_path / "fake.parquet").write_text("u,i\n1,2\n")
    with pytest.raises(JointrecError, match="cannot be read as parquet"):
        read_interactions(tmp_path / "fake.parquet", user_col="u", item_col="i")


def test_format_from_extension():
    assert TableFile("a.PARQUET").resolved_format == "parquet"
    assert TableFile("a.csv.gz").resolved_format == "csv"
    assert TableFile("a.dat", format="tsv").resolved_format == "tsv"
    with pytest.raises(JointrecError, match=r"cannot tell the format .*'a\.dat'"):
        TableFile("a.dat").resolved_format  # noqa: B018
    with pytest.raises(JointrecError, match="format 'xls' is invalid"):
        TableFile("a.csv", format="xls")


def test_same_user_and_item_column_is_an_error(tmp_path):
    path = write_csv(tmp_path / "e.csv", "u,i", [(1, 1)])
    with pytest.raises(JointrecError, match="both 'u'"):
        read_interactions(path, user_col="u", item_col="u")


# Mixed feedback: some rows rated, the rest not -----------------------------------------------


def test_empty_rating_cells_and_parquet_nulls_are_unrated_rows(tmp_path):
    csv = tmp_path / "mixed.csv"
    csv.write_text("u,i,r\n1,10,5\n1,11,\n2,10,2\n2,12,\n")
    notes: list[str] = []
    x = read_interactions(csv, user_col="u", item_col="i", rating_col="r", notes=notes)
    assert np.isnan(x.rating).tolist() == [False, True, False, True]
    assert x.rated.tolist() == [True, False, True, False] and x.has_ratings
    assert x.rating_scale == (2.0, 5.0)  # inferred from the rated rows alone
    parquet = tmp_path / "mixed.parquet"
    pq.write_table(pa.table({"u": [1, 1, 2], "i": [10, 11, 10], "r": [4.0, None, 1.0]}), parquet)
    y = read_interactions(parquet, user_col="u", item_col="i", rating_col="r")
    assert y.rated.tolist() == [True, False, True]
    assert y.rating[y.rated].tolist() == [4.0, 1.0]


def test_a_rating_column_without_any_rating_is_implicit_feedback(tmp_path):
    csv = tmp_path / "none.csv"
    csv.write_text("u,i,r\n1,10,\n2,11,\n")
    notes: list[str] = []
    x = read_interactions(csv, user_col="u", item_col="i", rating_col="r", notes=notes)
    assert x.rating is None and not x.has_ratings
    assert "has no ratings" in notes[0]


@pytest.mark.parametrize(
    ("rows", "scale", "message"),
    [
        ("1,10,5\n1,11,nan\n", None, "line 3: column 'r' holds 'nan', which reads as no value"),
        ("1,10,5\n1,11,NA\n", None, "line 3: column 'r' holds 'NA', which reads as no value"),
        ("1,10,5\n1,11,\n1,12,x\n", None, "column 'r' holds string, e.g. 'x' on"),
        ("1,10,5\n1,11,\n1,12,9\n", (1, 5), "line 4: column 'r' holds 9: expected a rating in"),
        ("1,10,5\n1,11,\n1,12,inf\n", None, "line 4: column 'r' holds inf: expected a finite"),
    ],
)
def test_bad_ratings_next_to_unrated_rows_are_one_line_errors(tmp_path, rows, scale, message):
    csv = tmp_path / "bad.csv"
    csv.write_text("u,i,r\n" + rows)
    with pytest.raises(JointrecError) as info:
        read_interactions(csv, user_col="u", item_col="i", rating_col="r", rating_scale=scale)
    assert message in str(info.value) and "\n" not in str(info.value)
