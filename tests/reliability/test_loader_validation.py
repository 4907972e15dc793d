"""Point 3: every loader turns bad data into one clear error naming file, line and column.

The hypothesis tests throw malformed files at `load_movielens`: each example either raises
`JointrecError` or loads exactly what an independent line-by-line parse of the file says,
never a crash and never silently different data.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from reliability_helpers import GENRES, item_line, write_ml100k_zip

from jointrec.data import load_movielens
from jointrec.errors import JointrecError

FAST = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
COLUMNS = ("user_id", "item_id", "rating", "timestamp")


def load(path: Path):
    return load_movielens("100k", path=path, allow_download=False, progress=False)


def error_of(path: Path) -> str:
    with pytest.raises(JointrecError) as info:
        load(path)
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --- hand-picked faults: the message names the file, the line and the column ---------------

GOOD = "1\t1\t5\t881250949\n1\t2\t3\t881250950\n2\t1\t4\t881250951\n"


FINITE = "expected a finite number"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("3\t4\t5\n", "line 4 has 3 fields: expected 4 separated by '\\t' (user_id, item_id,"),
        ("3\t4\t5\t6\t7\n", "line 4 has 5 fields: expected 4"),
        ("3\t4\tfive\t6\n", "line 4, column 'rating': got 'five'; expected a number"),
        ("3\t4\tNA\t6\n", "line 4, column 'rating': got 'NA'; expected a number"),
        ("3\t4\tnan\t6\n", f"line 4, column 'rating': got nan; {FINITE} in [1, 5]"),
        ("3\t4\t-inf\t6\n", f"line 4, column 'rating': got -inf; {FINITE} in [1, 5]"),
        ("3\t4\t6\t6\n", f"line 4, column 'rating': got 6.0; {FINITE} in [1, 5]"),
        ("3\t4\t0.5\t6\n", f"line 4, column 'rating': got 0.5; {FINITE} in [1, 5]"),
        ("3\t\t4\t6\n", "line 4, column 'item_id' is empty: expected a value"),
        ("3.5\t4\t4\t6\n", "line 4, column 'user_id': got '3.5'; expected an integer"),
        ("3\t4\t4\t-6\n", f"line 4, column 'timestamp': got -6; {FINITE} >= 0"),
        ("1\t2\t4\t6\n", "line 4 repeats the (user, item) pair (1, 2) of line 2: expected"),
        ("\n\n3\t4\tx\t6\n", "line 6, column 'rating'"),
    ],
)
def test_bad_ratings_name_line_and_column(ml_zip, extra: str, expected: str) -> None:
    path = ml_zip(GOOD + extra)
    message = error_of(path)
    assert message.startswith(f"{path}:u.data: "), message
    assert expected in message, message


def test_non_utf8_bytes_name_line_and_byte(ml_zip) -> None:
    path = ml_zip(GOOD.encode() + b"3\t4\t\xff\t6\n")
    expected = "u.data: line 4, column 'rating' (byte 5): b'\\xff' is not valid utf-8 text"
    assert expected in error_of(path)


def test_non_utf8_in_a_text_column(ml_zip) -> None:
    users = b"1|21|M|writer|10001\n2|22|F|caf\xe9|10002\n"
    expected = "u.user: line 2, column 'occupation' (byte 11): b'\\xe9' is not valid utf-8"
    assert expected in error_of(ml_zip(GOOD, users=users))


@pytest.mark.parametrize("content", ["", "\n\n", "  \n\t\n"])
def test_empty_files(ml_zip, content: str) -> None:
    assert "u.data is empty: expected rows of user_id, item_id, rating, timestamp" in error_of(
        ml_zip(content)
    )
    assert "u.user is empty" in error_of(ml_zip(GOOD, users=content))


def test_items_file_checks(ml_zip) -> None:
    flags = ["0"] * GENRES
    bad_flag = [*flags[:-1], "2"]
    items = item_line(1) + "\n" + item_line(2, bad_flag) + "\n"
    assert "u.item: line 2, column 'Western': got '2'; expected a 0/1 flag" in error_of(
        ml_zip(GOOD, items=items)
    )
    duplicate = item_line(1) + "\n" + item_line(2) + "\n" + item_line(1, title="Again") + "\n"
    assert "u.item: line 3, column 'item_id': 1 already appeared at line 1" in error_of(
        ml_zip(GOOD, items=duplicate)
    )
    short = item_line(1) + "\n" + "|".join(item_line(2).split("|")[:-3]) + "\n"
    assert "u.item: line 2 has 21 fields: expected 24 separated by '|'" in error_of(
        ml_zip(GOOD, items=short)
    )


def test_users_file_checks(ml_zip) -> None:
    users = "1|21|M|writer|10001\n2|old|F|writer|10002\n"
    assert "u.user: line 2, column 'age': got 'old'; expected an integer" in error_of(
        ml_zip(GOOD, users=users)
    )
    users = "1|21|M|writer|10001\n1|22|F|writer|10002\n"
    assert "u.user: line 2, column 'user_id': 1 already appeared at line 1" in error_of(
        ml_zip(GOOD, users=users)
    )


def test_missing_file_in_zip(tmp_path: Path) -> None:
    path = tmp_path / "ml-100k.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ml-100k/u.data", GOOD)
    message = error_of(path)
    assert "has no file 'u.item'" in message and "found ['u.data']" in message


# --- archives: truncated, corrupt, unsafe ---------------------------------------------------


@pytest.fixture
def valid_zip(tmp_path: Path) -> Path:
    rows = [
        f"{u}\t{i}\t{1 + (u * i) % 5}\t{880000000 + u * 10 + i}"
        for u in range(1, 7)
        for i in range(1, 8)
    ]
    return write_ml100k_zip(tmp_path / "valid.zip", "\n".join(rows) + "\n")


@FAST
@given(cut=st.floats(0.0, 0.999))
def test_truncated_zip_is_a_clean_error(valid_zip: Path, tmp_path: Path, cut: float) -> None:
    data = valid_zip.read_bytes()
    path = tmp_path / "truncated.zip"
    path.write_bytes(data[: int(len(data) * cut)])
    message = error_of(path)
    assert str(path) in message


@FAST
@given(position=st.floats(0.0, 0.999), value=st.integers(0, 255))
def test_corrupt_zip_is_an_error_or_the_same_data(
    valid_zip: Path, tmp_path: Path, position: float, value: int
) -> None:
    data = bytearray(valid_zip.read_bytes())
    where = int(len(data) * position)
    assume(data[where] != value)
    data[where] = value
    path = tmp_path / "flipped.zip"
    path.write_bytes(bytes(data))
    try:
        damaged = load(path)
    except JointrecError as err:
        assert "\n" not in str(err)
        return
    original = load(valid_zip)  # a byte the reader ignores (e.g. a timestamp field)
    for name in ("user", "item", "rating", "timestamp"):
        np.testing.assert_array_equal(
            getattr(damaged.interactions, name), getattr(original.interactions, name)
        )
    np.testing.assert_array_equal(damaged.items.ids, original.items.ids)
    np.testing.assert_array_equal(damaged.items.columns["title"], original.items.columns["title"])
    np.testing.assert_array_equal(damaged.users.columns["age"], original.users.columns["age"])


@pytest.mark.parametrize(
    "member", ["../u.data", "ml-100k/../../u.data", "/etc/u.data", "C:/u.data", "..\\u.data"]
)
def test_path_traversal_entries_are_refused(tmp_path: Path, member: str) -> None:
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(member, GOOD)
        zf.writestr("ml-100k/u.item", item_line(1) + "\n")
        zf.writestr("ml-100k/u.user", "1|20|M|x|1\n")
    message = error_of(path)
    assert "unsafe entry" in message and repr(member) in message


def test_two_members_with_the_same_name_are_refused(tmp_path: Path) -> None:
    path = write_ml100k_zip(tmp_path / "twice.zip", GOOD)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("other/u.data", "9\t9\t1\t1\n")
    assert "holds several files named 'u.data'" in error_of(path)


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "ml-100k.zip"
    path.write_bytes(b"this is not a zip at all")
    assert "is not a valid zip (corrupt or truncated)" in error_of(path)


# --- property: malformed ratings files -------------------------------------------------------


def reference_parse(raw: bytes) -> list[tuple[int, int, float, int]] | None:
    """An independent reading of ``u.data``: rows if the file is valid, else ``None``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = [x for x in text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if x]
    rows = []
    for line in lines:
        fields = line.split("\t")
        if len(fields) != 4:
            return None
        try:
            user, item, ts = int(fields[0]), int(fields[1]), int(fields[3])
            rating = float(fields[2])
        except ValueError:
            return None
        if not (np.isfinite(rating) and 1 <= np.float32(rating) <= 5) or ts < 0:
            return None
        rows.append((user, item, float(np.float32(rating)), ts))
    pairs = [(r[0], r[1]) for r in rows]
    if not rows or len(set(pairs)) != len(pairs):
        return None
    return rows


def check_load_matches(path: Path, raw: bytes) -> None:
    """The loader either raises `JointrecError` or returns exactly the file's rows."""
    try:
        ds = load(path)
    except JointrecError as err:
        assert "\n" not in str(err)
        return
    expected = reference_parse(raw)
    assert expected is not None, f"loaded a file the reference rejects: {raw!r}"
    x = ds.interactions
    columns = (x.user, x.item, x.rating.astype(float), x.timestamp)
    got = list(zip(*(c.tolist() for c in columns), strict=True))
    assert got == expected


TOKENS = [b"1", b"2", b"3", b"5", b"0", b"9", b"12", b"\t", b"\t", b"\n", b"\n", b"\r\n", b"\r"]
TOKENS += [b" ", b".", b"-", b"+", b"e", b"nan", b"inf", b"\xff", b"\xc3\xa9", b"x", b"\x00"]


@FAST
@given(parts=st.lists(st.sampled_from(TOKENS), max_size=60))
def test_random_token_soup(ml_zip, parts: list[bytes]) -> None:
    raw = b"".join(parts)
    check_load_matches(ml_zip(raw), raw)


@FAST
@given(raw=st.binary(max_size=200))
def test_random_bytes(ml_zip, raw: bytes) -> None:
    check_load_matches(ml_zip(raw), raw)


@st.composite
def ratings_with_one_fault(draw):
    """A valid file with at most one injected fault, and the message it must produce."""
    n = draw(st.integers(1, 8))
    pairs = draw(
        st.lists(
            st.tuples(st.integers(1, 30), st.integers(1, 30)), min_size=n, max_size=n, unique=True
        )
    )
    stars = st.sampled_from(["1", "2", "3", "4", "5", "4.5", "1.0"])
    rows = [[str(u), str(i), draw(stars), str(draw(st.integers(0, 2**40)))] for u, i in pairs]
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    blank_before = [draw(st.integers(0, 2)) for _ in rows]
    fault = draw(
        st.sampled_from(
            ["none", "missing", "extra", "token", "nan", "range", "empty", "bytes", "dup", "ts"]
        )
    )
    target = draw(st.integers(0, n - 1))
    column = draw(st.sampled_from(COLUMNS))
    expect = None
    if fault == "missing":
        rows[target] = rows[target][:-1]
        expect = "has 3 fields"
    elif fault == "extra":
        rows[target] = [*rows[target], "7"]
        expect = "has 5 fields"
    elif fault == "token":
        tokens = ["abc", "1x", "--1", "0x10", "0xffffffffffffffff", "NA", "1,5", "1_0", "+-2"]
        bad = draw(st.sampled_from(tokens))
        rows[target][COLUMNS.index(column)] = bad
        expect = f", column {column!r}: got {bad!r}"
    elif fault == "nan":
        value = draw(st.sampled_from(["nan", "NaN", "inf", "-inf", "Infinity"]))
        rows[target][2] = value
        expect = ", column 'rating': got "
    elif fault == "range":
        value = draw(st.sampled_from(["0", "0.99", "5.01", "6", "-3", "1e3"]))
        rows[target][2] = value
        expect = ", column 'rating': got "
    elif fault == "empty":
        rows[target][COLUMNS.index(column)] = ""
        expect = f", column {column!r} is empty"
    elif fault == "bytes":
        rows[target][COLUMNS.index(column)] += "\udcff"  # becomes the byte 0xff
        expect = f", column {column!r} (byte "
    elif fault == "dup" and n > 1:
        source = draw(st.integers(0, n - 1).filter(lambda j: j != target))
        rows[target][:2] = rows[source][:2]
        first, target = sorted((source, target))
        expect = f"repeats the (user, item) pair ({rows[first][0]}, {rows[first][1]}) of line "
    elif fault == "ts":
        rows[target][3] = "-" + rows[target][3] if rows[target][3] != "0" else "-1"
        expect = ", column 'timestamp': got -"
    lines, numbers = [], []
    for blanks, row in zip(blank_before, rows, strict=True):
        lines.extend([""] * blanks)
        lines.append("\t".join(row))
        numbers.append(len(lines))
    ending = draw(st.sampled_from(["", newline]))
    text = newline.join(lines) + ending
    raw = text.encode("utf-8", "surrogateescape")
    return raw, rows, (None if expect is None else (numbers[target], expect))


@FAST
@given(case=ratings_with_one_fault())
def test_one_fault_is_reported_at_its_line(ml_zip, case) -> None:
    raw, rows, expectation = case
    path = ml_zip(raw)
    if expectation is None:
        ds = load(path)
        x = ds.interactions
        assert x.user.tolist() == [int(r[0]) for r in rows]
        assert x.item.tolist() == [int(r[1]) for r in rows]
        assert x.rating.tolist() == [float(r[2]) for r in rows]
        assert x.timestamp.tolist() == [int(r[3]) for r in rows]
        return
    line, fragment = expectation
    message = error_of(path)
    assert message.startswith(f"{path}:u.data: line {line}"), (message, line)
    assert fragment in message, (message, fragment)
    assert re.search(r"expected", message)


# --- the other layouts: headered CSV (ml-latest-small, 20m, 25m) and '::' files (1m) --------


def csv_release(tmp_path: Path, ratings: str, movies: str | None = None) -> Path:
    path = tmp_path / "ml-latest-small.zip"
    movies = movies or 'movieId,title,genres\n1,"Toy Story, The (1995)",Animation\n2,Heat,Crime\n'
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ml-latest-small/ratings.csv", ratings)
        zf.writestr("ml-latest-small/movies.csv", movies)
    return path


def test_csv_header_must_name_the_columns_in_order(tmp_path: Path) -> None:
    good = "userId,movieId,rating,timestamp\n1,1,4.5,964982703\n1,2,0.5,964982704\n"
    ds = load_movielens("latest-small", path=csv_release(tmp_path, good), progress=False)
    assert ds.interactions.rating.tolist() == [4.5, 0.5]
    swapped = "userId,movieId,timestamp,rating\n1,1,964982703,4.5\n"
    with pytest.raises(JointrecError) as info:
        load_movielens("latest-small", path=csv_release(tmp_path, swapped), progress=False)
    assert "ratings.csv: line 1 is the header ['userId', 'movieId', 'timestamp', 'rating']" in (
        str(info.value)
    )
    assert "expected the columns ['userId', 'movieId', 'rating', 'timestamp']" in str(info.value)


def test_quoted_csv_and_double_colon_files_name_the_line(tmp_path: Path) -> None:
    ratings = "userId,movieId,rating,timestamp\n1,1,4.5,964982703\n"
    movies = 'movieId,title,genres\n1,"Toy Story, The (1995)",Animation\nx2,"Heat",Crime\n'
    with pytest.raises(JointrecError, match=r"movies.csv: line 3, column 'item_id': got 'x2'"):
        load_movielens("latest-small", path=csv_release(tmp_path, ratings, movies), progress=False)
    path = tmp_path / "ml-1m.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ml-1m/ratings.dat", "1::10::5::978300760\n2::20::3\n")
        zf.writestr("ml-1m/movies.dat", "10::A (2001)::Comedy\n20::B (1995)::Action\n")
        zf.writestr("ml-1m/users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n")
    with pytest.raises(
        JointrecError, match="ratings.dat: line 2 has 3 fields: expected 4 separated by '::'"
    ):
        load_movielens("1m", path=path, progress=False)


def test_cli_prints_one_error_line(ml_zip, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from jointrec.cli.app import app

    path = ml_zip(GOOD + "3\t4\t6\t6\n")
    result = CliRunner().invoke(app, ["train", "--data", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "u.data: line 4, column 'rating': got 6.0" in lines[0]
    assert not (tmp_path / "o").exists() and not (tmp_path / "o.checkpoints").exists()
