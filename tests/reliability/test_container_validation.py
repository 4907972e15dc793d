"""Point 3: the in-memory containers and the reusable checks of `jointrec.data.validation`.

`Interactions` and `FeatureTable` are what every loader (MovieLens, CSV, Parquet) hands on,
so they get arbitrary columns: each input gives a `JointrecError` or a faithful container.
The duplicate policies are checked against a plain-Python reference.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jointrec.data.interactions import FeatureTable, Interactions
from jointrec.data.validation import (
    check_field_count,
    check_ids,
    check_no_duplicate_pairs,
    check_numeric,
    decode_text,
    duplicate_keep_mask,
    duplicate_pairs,
    require_columns,
    text_lines,
)
from jointrec.errors import JointrecError

FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=3),
    st.none(),
    st.booleans(),
)
columns = st.one_of(
    st.lists(scalars, max_size=6).map(lambda v: np.array(v, dtype=object)),
    st.lists(st.integers(-5, 5), max_size=6).map(np.array),
    st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=6).map(np.array),
    st.lists(st.text(max_size=3), max_size=6).map(np.array),
)


def same_id(raw: object, stored: object) -> bool:
    if isinstance(raw, str):
        return raw == stored
    return int(raw) == stored  # type: ignore[call-overload]


@FAST
@given(user=columns, item=columns, rating=columns, timestamp=st.one_of(st.none(), columns))
def test_interactions_take_anything_and_never_corrupt(user, item, rating, timestamp) -> None:
    try:
        x = Interactions(user=user, item=item, rating=rating, timestamp=timestamp)
    except JointrecError as err:
        assert "\n" not in str(err)
        return
    n = len(x)
    assert len(user) == len(item) == len(rating) == n
    for raw, stored in ((user, x.user), (item, x.item)):
        assert stored.dtype.kind in "iU"
        assert all(same_id(r, s) for r, s in zip(raw.tolist(), stored.tolist(), strict=True))
        assert all(r is not None and not isinstance(r, bool) for r in raw.tolist())
    assert x.rating.dtype == np.float32
    rated = ~np.isnan(x.rating)  # NaN / None: an unrated row (mixed feedback)
    assert np.isfinite(x.rating[rated]).all()
    assert ((x.rating[rated] >= 1) & (x.rating[rated] <= 5)).all()
    raw = [np.nan if v is None else v for v in rating.tolist()]
    np.testing.assert_array_equal(x.rating, np.asarray(raw, dtype=np.float32))
    if timestamp is not None:
        assert x.timestamp.dtype == np.int64
        assert all(
            math.floor(float(r)) == s
            for r, s in zip(timestamp.tolist(), x.timestamp.tolist(), strict=True)
        )


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"user": np.array([1, None], dtype=object)}, "row 1, column 'user': got None"),
        ({"user": np.array([1, "a"], dtype=object)}, "expected ids of one type"),
        ({"user": np.array([1.0, 2.5])}, "row 1, column 'user': got 2.5; expected an integer"),
        ({"user": np.array(["a", ""])}, "row 1, column 'user': got ''; expected a non-empty id"),
        ({"user": np.array([True, False])}, "dtype bool: expected integer or string ids"),
        ({"rating": np.array([3.0, np.inf])}, "row 1, column 'rating': got inf; expected a finite"),
        ({"rating": np.array(["5", "4"])}, "row 0, column 'rating': got '5'; expected a number"),
        ({"rating": np.array([None, "x"], dtype=object)}, "row 1, column 'rating': got 'x'"),
        ({"rating": np.array([4.0, 6.0])}, "row 1, column 'rating': got 6.0; expected a finite"),
        ({"timestamp": np.array(["x", "y"])}, "row 0, column 'timestamp': got 'x'"),
        ({"timestamp": np.array([1.0, np.inf])}, "row 1, column 'timestamp': got inf"),
        ({"rating": np.array([1.0])}, "column 'rating' has shape (1,): expected (2,)"),
    ],
)
def test_interactions_messages(kwargs, expected) -> None:
    columns = {"user": np.array([1, 2]), "item": np.array([3, 4]), "rating": np.array([4.0, 5.0])}
    columns.update(kwargs)
    with pytest.raises(JointrecError) as info:
        Interactions(**columns, source="events.csv")
    assert str(info.value).startswith("events.csv: ")
    assert expected in str(info.value)


def test_rating_scale_must_be_finite() -> None:
    with pytest.raises(JointrecError, match="rating_scale"):
        Interactions(np.array([1]), np.array([1]), rating_scale=(1.0, float("inf")))


def test_feature_table_errors() -> None:
    with pytest.raises(JointrecError, match="id 2 appears 2 times: expected each id once"):
        FeatureTable(ids=np.array([1, 2, 2]))
    with pytest.raises(JointrecError, match="feature 'age' has 2 rows: expected 3"):
        FeatureTable(ids=np.array([1, 2, 3]), columns={"age": np.array([1, 2])})
    with pytest.raises(JointrecError, match="feature 'age' has no rows"):
        FeatureTable(ids=np.array([1, 2, 3]), columns={"age": np.int64(3)})


# --- the reusable checks -------------------------------------------------------------------


def test_require_columns() -> None:
    require_columns("a.csv", ["user", "item", "rating"], ["user", "item"], ["rating"])
    with pytest.raises(JointrecError, match=r"a.csv: missing column 'item'; found columns"):
        require_columns("a.csv", ["user"], ["user", "item"])
    with pytest.raises(JointrecError, match=r"a.csv: unexpected column 'x'; expected only"):
        require_columns("a.csv", ["user", "item", "x"], ["user", "item"])
    require_columns("a.csv", ["user", "item", "x"], ["user", "item"], allow_extra=True)
    with pytest.raises(JointrecError, match="column 'user' appears more than once"):
        require_columns("a.csv", ["user", "item", "user"], ["user", "item"])


def test_field_count_and_text_lines() -> None:
    with pytest.raises(JointrecError, match=r"f: line 7 has 1 field: expected 2 separated by ','"):
        check_field_count("f", [(3, ["a", "b"]), (7, ["a"])], ["x", "y"], ",")
    locate = text_lines(b"h\r\n\r\na,b\rc,d\n\ne,f", header=True)
    assert [locate(0), locate(1), locate(2)] == ["line 3", "line 4", "line 6"]


def test_decode_text_names_the_byte() -> None:
    assert decode_text("f", "é".encode()) == "é"
    with pytest.raises(JointrecError, match=r"f: line 3, byte 2: b'\\xff'"):
        decode_text("f", b"ok\nok\na\xffb\n")


def test_check_ids_and_numbers() -> None:
    assert check_ids("f", "u", np.array([1.0, 2.0])).dtype == np.int64
    assert check_ids("f", "u", np.array(["a", "b"], dtype=object)).dtype.kind == "U"
    with pytest.raises(JointrecError, match=r"f: line 2, column 'u': got nan"):
        check_ids("f", "u", np.array([1.0, np.nan]), lambda row: f"line {row + 1}")
    out = check_numeric("f", "r", np.array([1, 2]), low=1, high=2, dtype=np.float32)
    assert out.dtype == np.float32
    with pytest.raises(JointrecError, match=r"row 0, column 'r': got 0; expected a finite"):
        check_numeric("f", "r", np.array([0]), low=1)


pairs = st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4), st.integers(0, 3)), max_size=25)


@FAST
@given(rows=pairs)
def test_duplicate_pairs_matches_a_python_reference(rows) -> None:
    user = np.array([r[0] for r in rows], dtype=np.int64)
    item = np.array([f"i{r[1]}" for r in rows])
    seen, expected = set(), []
    for u, i, _ in rows:
        expected.append((u, i) in seen)
        seen.add((u, i))
    assert duplicate_pairs(user, item).tolist() == expected
    if any(expected):
        with pytest.raises(JointrecError, match="repeats the \\(user, item\\) pair"):
            check_no_duplicate_pairs("f", user, item)
    else:
        check_no_duplicate_pairs("f", user, item)


@FAST
@given(rows=pairs, policy=st.sampled_from(["keep_last", "keep_first"]))
def test_duplicate_policies_match_a_python_reference(rows, policy) -> None:
    user = np.array([r[0] for r in rows], dtype=np.int64)
    item = np.array([r[1] for r in rows], dtype=np.int64)
    time = np.array([r[2] for r in rows], dtype=np.int64)
    best: dict[tuple[int, int], int] = {}
    for row, (u, i, t) in enumerate(rows):
        old = best.get((u, i))
        later = old is not None and (t, row) >= (rows[old][2], old)
        if old is None or later == (policy == "keep_last"):
            best[(u, i)] = row
    expected = [best[(u, i)] == row for row, (u, i, _) in enumerate(rows)]
    assert duplicate_keep_mask(user, item, time, policy).tolist() == expected
    assert duplicate_keep_mask(user, item, time, "error").all()


def test_unknown_duplicate_policy() -> None:
    with pytest.raises(JointrecError, match="duplicates policy 'mean' is invalid"):
        duplicate_keep_mask(np.array([1]), np.array([1]), None, "mean")  # type: ignore[arg-type]
