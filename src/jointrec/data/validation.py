"""Checks every data loader runs: each problem becomes one `JointrecError` naming the file,
the line (or row) and the column, what was found and what was expected.

Loaders describe *where* a value came from with a `RowLocator`, a function from a row index
to a phrase such as ``"line 17"`` (text files, see `text_lines`) or ``"row 16"`` (in-memory
columns and Parquet, see `row_numbers`); the checks are vectorised and only call it for the
first bad row.

Duplicate (user, item) pairs follow one documented policy (`DuplicatePolicy`): loaders default
to ``"error"``, because a duplicate in a ratings file is usually a join or export bug and a
silent choice would hide it (and a pair in both train and test leaks the answer). Loaders of
users' own logs may offer ``"keep_last"`` (the latest rating by timestamp, then by file order,
wins: the user's current opinion) or ``"keep_first"``; both report how many rows were dropped.

Example:
    >>> import numpy as np
    >>> check_numeric("u.data", "rating", np.array([4.0, 9.0]), low=1, high=5)
    Traceback (most recent call last):
    ...
    jointrec.errors.JointrecError: u.data: row 1, column 'rating': got 9.0; expected a finite number in [1, 5]
    >>> locate = text_lines(b"1\\t5\\n\\n2\\t9\\n")
    >>> locate(1)
    'line 3'
"""  # noqa: E501

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np

from jointrec.errors import JointrecError

RowLocator = Callable[[int], str]
DuplicatePolicy = Literal["error", "keep_last", "keep_first"]
DUPLICATE_POLICIES: tuple[str, ...] = ("error", "keep_last", "keep_first")
_LINE_BREAK = re.compile(rb"\r\n|\n|\r")


def row_numbers(offset: int = 0) -> RowLocator:
    """Locates row ``i`` as ``"row {i + offset}"`` (0-based by default, like NumPy).

    Example:
        >>> row_numbers(1)(0)
        'row 1'
    """
    return lambda row: f"row {row + offset}"


def text_lines(raw: bytes, header: bool = False) -> RowLocator:
    """Locates data row ``i`` of a delimited text file as its 1-based physical ``"line N"``.

    Blank lines are skipped (as the parser skips them) and a header line is not a data row;
    ``\\n``, ``\\r\\n`` and a lone ``\\r`` all end a line. The file is scanned only when a
    location is asked for, i.e. on the error path.
    """

    def locate(row: int) -> str:
        seen = -1
        for number, line in enumerate(_LINE_BREAK.split(raw), start=1):
            if not line:
                continue
            if header and seen == -1 and number == _first_nonblank(raw):
                continue  # the header line
            seen += 1
            if seen == row:
                return f"line {number}"
        return f"row {row}"

    return locate


def _first_nonblank(raw: bytes) -> int:
    for number, line in enumerate(_LINE_BREAK.split(raw), start=1):
        if line:
            return number
    return 1


def split_lines(raw: bytes) -> list[tuple[int, bytes]]:
    """Non-blank lines of ``raw`` with their 1-based line numbers."""
    return [(n, line) for n, line in enumerate(_LINE_BREAK.split(raw), start=1) if line]


def decode_text(
    where: str,
    raw: bytes,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    columns: Sequence[str] = (),
) -> str:
    """Decodes ``raw``, or raises naming the line, column and byte of the first bad byte.

    Args:
        where: The file, for the message.
        raw: File content.
        encoding: Expected text encoding.
        delimiter: Field separator, to name the column of the bad byte.
        columns: Column names in file order.

    Example:
        >>> decode_text("u.user", b"1|ok\\n2|caf\\xe9\\n", delimiter="|", columns=("id", "job"))
        Traceback (most recent call last):
        ...
        jointrec.errors.JointrecError: u.user: line 2, column 'job' (byte 6): b'\\xe9' is not valid utf-8 text; expected utf-8 (re-save the file as utf-8)
    """  # noqa: E501
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as err:
        start = raw.rfind(b"\n", 0, err.start) + 1
        line = raw.count(b"\n", 0, err.start) + 1
        place = f"byte {err.start - start + 1}"
        if delimiter is not None and columns:
            field = raw[start : err.start].count(delimiter.encode(encoding, "replace"))
            if field < len(columns):
                place = f"column {columns[field]!r} ({place})"
        bad = raw[err.start : min(err.end, err.start + 4)]
        raise JointrecError(
            f"{where}: line {line}, {place}: {bad!r} is not valid {encoding} text; "
            f"expected {encoding} (re-save the file as {encoding})"
        ) from None
    except LookupError:
        raise JointrecError(f"{where}: unknown text encoding {encoding!r}") from None


def require_columns(
    where: str,
    found: Sequence[str],
    required: Sequence[str],
    optional: Sequence[str] = (),
    *,
    allow_extra: bool = False,
) -> None:
    """Checks a table's column names: all ``required`` present, no unknown ones (by default).

    Example:
        >>> require_columns("events.csv", ["user", "when"], ["user", "item"])
        Traceback (most recent call last):
        ...
        jointrec.errors.JointrecError: events.csv: missing column 'item'; found columns ['user', 'when'], expected ['user', 'item']
    """  # noqa: E501
    found = list(found)
    missing = [c for c in required if c not in found]
    if missing:
        raise JointrecError(
            f"{where}: missing column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(repr(c) for c in missing)}; found columns {found}, "
            f"expected {[*required, *optional]}"
        )
    extra = [c for c in found if c not in required and c not in optional]
    if extra and not allow_extra:
        raise JointrecError(
            f"{where}: unexpected column{'s' if len(extra) > 1 else ''} "
            f"{', '.join(repr(c) for c in extra)}; expected only {[*required, *optional]}"
        )
    duplicated = sorted({c for c in found if found.count(c) > 1})
    if duplicated:
        raise JointrecError(f"{where}: column {duplicated[0]!r} appears more than once")


def check_field_count(
    where: str, lines: Sequence[tuple[int, Sequence[str]]], columns: Sequence[str], sep: str
) -> None:
    """Raises for the first line whose number of fields differs from ``len(columns)``."""
    for number, fields in lines:
        if len(fields) != len(columns):
            raise JointrecError(
                f"{where}: line {number} has {len(fields)} field{'s' * (len(fields) != 1)}: "
                f"expected {len(columns)} separated by {sep!r} "
                f"({', '.join(columns)})"
            )


def check_ids(
    where: str, column: str, values: np.ndarray, locate: RowLocator | None = None
) -> np.ndarray:
    """Returns ids as int64 or str, refusing missing, fractional, boolean or empty ids.

    Integral floats (``3.0``, as pandas writes ids of a column with gaps) become integers.
    """
    locate = locate or row_numbers()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise JointrecError(f"{where}: column {column!r} must be 1-D, got shape {arr.shape}")
    kind = arr.dtype.kind
    if kind in "iu":
        if kind == "u" and len(arr) and arr.max() > np.iinfo(np.int64).max:
            row = int(np.argmax(arr))
            raise _bad(where, locate(row), column, arr[row], "an id below 2**63")
        return arr.astype(np.int64, copy=False)
    if kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr)) | (np.abs(arr) >= 2.0**63)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise _bad(where, locate(row), column, arr[row], "an integer or string id")
        return arr.astype(np.int64)
    if kind == "U":
        return _check_strings(where, column, arr, locate)
    if kind == "O":
        items = arr.tolist()
        if all(isinstance(v, str) for v in items):
            return _check_strings(where, column, arr.astype(str), locate)
        if all(_is_int(v) for v in items):
            try:
                ints = np.asarray(items, dtype=np.int64)
            except OverflowError:
                row = next(j for j, v in enumerate(items) if abs(int(v)) >= 2**63)
                raise _bad(where, locate(row), column, items[row], "an id below 2**63") from None
            return ints
        first_is_str = isinstance(items[0], str)
        row = next(
            j
            for j, v in enumerate(items)
            if not (isinstance(v, str) if first_is_str else _is_int(v))
        )
        raise _bad(
            where, locate(row), column, items[row], "ids of one type: all integers or all strings"
        )
    raise JointrecError(
        f"{where}: column {column!r} has dtype {arr.dtype}: expected integer or string ids"
    )


def _is_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _check_strings(where: str, column: str, arr: np.ndarray, locate: RowLocator) -> np.ndarray:
    empty = np.char.str_len(arr) == 0 if len(arr) else np.zeros(0, dtype=bool)
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise _bad(where, locate(row), column, "", "a non-empty id")
    return arr


def check_numeric(
    where: str,
    column: str,
    values: np.ndarray,
    locate: RowLocator | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
    dtype: type | np.dtype = np.float64,
    allow_missing: bool = False,
) -> np.ndarray:
    """Returns ``values`` as ``dtype``, refusing non-numbers, NaN, infinities and values
    outside ``[low, high]`` (either bound may be ``None``).

    With ``allow_missing`` NaN and ``None`` are kept as NaN (a missing value, e.g. an
    unrated row); infinities and values out of range are still refused.
    """
    locate = locate or row_numbers()
    arr = np.asarray(values)
    if allow_missing and arr.dtype.kind == "O":
        arr = np.array([np.nan if v is None else v for v in arr.tolist()], dtype=object)
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in arr.tolist()):
            arr = arr.astype(np.float64)
    if arr.ndim != 1:
        raise JointrecError(f"{where}: column {column!r} must be 1-D, got shape {arr.shape}")
    if arr.dtype.kind not in "iuf":
        row = _first_non_number(arr)
        if row is None:
            raise JointrecError(
                f"{where}: column {column!r} has dtype {arr.dtype}: expected numbers"
            )
        raise _bad(where, locate(row), column, arr[row], "a number")
    with np.errstate(over="ignore", invalid="ignore"):
        out = arr.astype(dtype)
    bad = ~np.isfinite(out)
    if allow_missing:
        bad &= ~np.isnan(out)
    if low is not None:
        bad |= out < low
    if high is not None:
        bad |= out > high
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        expected = "a finite number"
        if low is not None and high is not None:
            expected += f" in [{low:g}, {high:g}]"
        elif low is not None:
            expected += f" >= {low:g}"
        elif high is not None:
            expected += f" <= {high:g}"
        raise _bad(where, locate(row), column, arr[row], expected)
    return out


def _first_non_number(arr: np.ndarray) -> int | None:
    for row, value in enumerate(arr.tolist()):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return row
    return None


def check_not_null(where: str, column: str, is_null: np.ndarray, locate: RowLocator) -> None:
    """Raises for the first row where ``is_null`` is true."""
    if is_null.any():
        row = int(np.flatnonzero(is_null)[0])
        raise JointrecError(f"{where}: {locate(row)}, column {column!r} is empty: expected a value")


def check_unique(
    where: str, column: str, values: np.ndarray, locate: RowLocator | None = None
) -> None:
    """Raises naming both rows when a value appears twice (e.g. an id in a feature table)."""
    locate = locate or row_numbers()
    arr = np.asarray(values)
    if len(arr) < 2:
        return
    order = np.argsort(arr, kind="stable")
    same = arr[order][1:] == arr[order][:-1]
    if same.any():
        k = int(np.flatnonzero(same)[0])
        first, second = sorted((int(order[k]), int(order[k + 1])))
        raise JointrecError(
            f"{where}: {locate(second)}, column {column!r}: {_show(arr[second])} already "
            f"appeared at {locate(first)}; expected each {column} once"
        )


def pair_keys(user: np.ndarray, item: np.ndarray) -> np.ndarray:
    """One int64 per (user, item) pair, equal exactly when both ids are equal.

    Integer ids are combined arithmetically (no sort); other ids are first replaced by their
    rank among the distinct values.
    """
    u, i = np.asarray(user).ravel(), np.asarray(item).ravel()
    if len(u) == 0:
        return np.zeros(0, dtype=np.int64)
    if u.dtype.kind in "iu" and i.dtype.kind in "iu":
        u_low, i_low = int(u.min()), int(i.min())
        u_span, i_span = int(u.max()) - u_low + 1, int(i.max()) - i_low + 1
        if u_span * i_span < 2**63:
            key = u.astype(np.int64) - u_low
            key *= i_span
            key += i.astype(np.int64) - i_low
            return key
    u = np.unique(u, return_inverse=True)[1].astype(np.int64).ravel()
    i = np.unique(i, return_inverse=True)[1].astype(np.int64).ravel()
    return u * (int(i.max()) + 1) + i


def has_duplicate_pairs(user: np.ndarray, item: np.ndarray) -> bool:
    """Whether any (user, item) pair appears twice (one sort; the happy path of loaders)."""
    key = np.sort(pair_keys(user, item))
    return bool((key[1:] == key[:-1]).any())


def duplicate_pairs(user: np.ndarray, item: np.ndarray) -> np.ndarray:
    """Boolean mask of rows whose (user, item) pair appeared on an earlier row.

    Example:
        >>> duplicate_pairs(np.array([1, 1, 2, 1]), np.array([5, 6, 5, 5])).tolist()
        [False, False, False, True]
    """
    n = len(user)
    if n < 2:
        return np.zeros(n, dtype=bool)
    key = pair_keys(user, item)
    order = np.argsort(key, kind="stable")
    repeat = np.zeros(n, dtype=bool)
    repeat[order[1:]] = key[order][1:] == key[order][:-1]
    return repeat


def check_no_duplicate_pairs(
    where: str,
    user: np.ndarray,
    item: np.ndarray,
    locate: RowLocator | None = None,
    fix: str = "choose the duplicates policy 'keep_last' or 'keep_first' to keep one of them",
) -> None:
    """The ``"error"`` policy: raises naming the two lines of the first repeated pair.

    Args:
        where: The file or table.
        user: User ids.
        item: Item ids.
        locate: Row locator (default ``"row i"``).
        fix: How the user can fix it, appended to the message.
    """
    if not has_duplicate_pairs(user, item):
        return
    locate = locate or row_numbers()
    repeat = duplicate_pairs(user, item)
    second = int(np.flatnonzero(repeat)[0])
    same = (user[:second] == user[second]) & (item[:second] == item[second])
    first = int(np.flatnonzero(same)[0])
    raise JointrecError(
        f"{where}: {locate(second)} repeats the (user, item) pair "
        f"({_show(user[second])}, {_show(item[second])}) of {locate(first)}: expected "
        f"each pair once; {fix}"
    )


def duplicate_keep_mask(
    user: np.ndarray,
    item: np.ndarray,
    timestamp: np.ndarray | None,
    policy: DuplicatePolicy,
) -> np.ndarray:
    """Rows to keep under ``policy`` (``"error"`` keeps all; call the check first).

    ``keep_last`` keeps each pair's row with the latest timestamp (later rows win ties, and
    without timestamps the last row wins); ``keep_first`` keeps the earliest.

    Example:
        >>> u, i, t = np.array([1, 1, 2]), np.array([5, 5, 5]), np.array([20, 10, 30])
        >>> duplicate_keep_mask(u, i, t, "keep_last").tolist()
        [True, False, True]
    """
    if policy not in DUPLICATE_POLICIES:
        raise JointrecError(
            f"duplicates policy {policy!r} is invalid: expected one of {DUPLICATE_POLICIES}"
        )
    n = len(user)
    if policy == "error" or n < 2:
        return np.ones(n, dtype=bool)
    rows = np.arange(n)
    time = np.zeros(n, dtype=np.int64) if timestamp is None else np.asarray(timestamp)
    key = pair_keys(user, item)
    if policy == "keep_last":
        order = np.lexsort((rows, time, key))  # within a pair: the last one wins
    else:
        order = np.lexsort((-rows, -time, key))  # reversed, so the first one comes last
    last = np.r_[key[order][1:] != key[order][:-1], True]
    keep = np.zeros(n, dtype=bool)
    keep[order[last]] = True
    return keep


def check_flags(
    where: str, column: str, values: np.ndarray, locate: RowLocator | None = None
) -> np.ndarray:
    """Returns 0/1 flag strings (or numbers) as uint8, refusing anything else."""
    locate = locate or row_numbers()
    arr = np.asarray(values)
    text = arr.astype(str) if arr.dtype.kind in "UO" else arr
    if arr.dtype.kind in "UO":
        stripped = np.char.strip(text)
        bad = (stripped != "0") & (stripped != "1")
        flags = stripped == "1"
    else:
        bad = (arr != 0) & (arr != 1)
        flags = arr == 1
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise _bad(where, locate(row), column, arr[row], "a 0/1 flag")
    return flags.astype(np.uint8)


def check_integers(
    where: str, column: str, values: np.ndarray, locate: RowLocator | None = None
) -> np.ndarray:
    """Returns integer text or numbers as int64, with the first bad row named."""
    locate = locate or row_numbers()
    arr = np.asarray(values)
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64)
    if arr.dtype.kind in "UO":
        text = np.char.strip(arr.astype(str))
        ok = np.fromiter((bool(_INT.fullmatch(t)) for t in text.tolist()), bool, len(text))
        if not ok.all():
            row = int(np.flatnonzero(~ok)[0])
            raise _bad(where, locate(row), column, arr[row], "an integer")
        try:
            return text.astype(np.int64)
        except OverflowError:
            raise JointrecError(
                f"{where}: column {column!r} holds an integer beyond int64"
            ) from None
    return check_ids(where, column, arr, locate)


_INT = re.compile(r"[-+]?\d{1,18}")


def _show(value: object) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bad(where: str, location: str, column: str, value: object, expected: str) -> JointrecError:
    return JointrecError(
        f"{where}: {location}, column {column!r}: got {_show(value)}; expected {expected}"
    )
