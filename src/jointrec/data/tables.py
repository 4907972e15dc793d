"""Your own data: interaction logs from CSV or Parquet files, with a column mapping.

`read_interactions` turns a file with user, item and optional rating and time columns into
`Interactions`; ids may be integers or strings. A big Parquet or CSV file with integer ids is
streamed, a batch at a time, into memory-mapped columns (`jointrec.data.columnar`); other
files are read whole by `read_columns`, the shared reader (also used for feature tables).
Both read only the named columns and raise `JointrecError` naming the file, the column and
the line (or row) when something is missing or of the wrong type.

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.csv"
    >>> _ = path.write_text("who,what,stars\\nann,m1,5\\nbob,m1,3\\nann,m2,4\\n")
    >>> x = read_interactions(path, user_col="who", item_col="what", rating_col="stars")
    >>> x.user.tolist(), x.rating_scale
    (['ann', 'bob', 'ann'], (3.0, 5.0))
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.data.interactions import Interactions
from jointrec.data.validation import (
    DuplicatePolicy,
    check_no_duplicate_pairs,
    duplicate_keep_mask,
)
from jointrec.errors import JointrecError

#: File name endings -> format.
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}
FORMATS = ("auto", "csv", "tsv", "parquet")
_CANONICAL_INT = re.compile(r"^-?(0|[1-9][0-9]{0,17})$")


@dataclass(frozen=True)
class TableFile:
    """A CSV or Parquet file and how to read it.

    Args:
        path: The file.
        format: ``"auto"`` (from the extension), ``"csv"``, ``"tsv"`` or ``"parquet"``.
        delimiter: CSV field separator (``None``: ``","`` for csv, tab for tsv).
        role: What the file holds, for error messages (``"interactions"``, ``"user features"``).
        first_row: The file row of row 0 of the values at hand (a batch read on its own),
            for the rows that messages name.

    Example:
        >>> TableFile("logs/events.tsv").resolved_format
        'tsv'
    """

    path: str | os.PathLike[str]
    format: str = "auto"
    delimiter: str | None = None
    role: str = "interactions"
    first_row: int = 0

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise JointrecError(
                f"{self.role} format {self.format!r} is invalid: expected one of {FORMATS}"
            )
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise JointrecError(
                f"{self.role} delimiter {self.delimiter!r} is invalid: expected one character"
            )

    @property
    def resolved_format(self) -> str:
        """``csv``, ``tsv`` or ``parquet``."""
        if self.format != "auto":
            return self.format
        name = Path(self.path).name.lower()
        for suffix in (".gz", ".bz2", ".zst"):
            name = name.removesuffix(suffix)
        fmt = SUFFIXES.get(Path(name).suffix)
        if fmt is None:
            raise JointrecError(
                f"cannot tell the format of {self.role} file {str(self.path)!r} from its name: "
                f"expected one of {', '.join(SUFFIXES)} (or set the format explicitly)"
            )
        return fmt

    def where(self, row: int | None = None) -> str:
        """``'events.csv line 7'`` for 0-based data ``row`` (header counted), for messages."""
        name = str(self.path)
        if row is None:
            return name
        row += self.first_row
        if self.resolved_format == "parquet":
            return f"{name} row {row + 1}"
        return f"{name} line {row + 2}"


def read_columns(
    file: TableFile, columns: dict[str, str], *, strings: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Reads the named columns of ``file`` as pyarrow arrays (one chunk each).

    Args:
        file: The file.
        columns: Column name -> the option that named it (e.g. ``"--user-col"``), quoted in
            the error when the column is missing.
        strings: Columns read as text from CSV (so ``007`` keeps its zeros).

    Raises:
        JointrecError: when the file is missing, empty or unreadable, or lacks a column.
    """
    import pyarrow as pa

    path = Path(file.path).expanduser()
    if path.is_dir():
        raise JointrecError(
            f"{file.role} file {str(file.path)!r} is a directory: expected a CSV or Parquet "
            "file (name the file inside it)"
        )
    if not path.is_file():
        raise JointrecError(
            f"{file.role} file {str(file.path)!r} does not exist: expected a CSV or Parquet file"
        )
    fmt = file.resolved_format
    wanted = list(dict.fromkeys(columns))
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            available = list(pq.read_schema(path).names)
            _check_columns(file, columns, available)
            table = pq.read_table(path, columns=wanted)
        else:
            table, available = _read_csv(file, path, fmt, wanted, strings)
            _check_columns(file, columns, available)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, UnicodeDecodeError) as err:
        message = " ".join(str(err).split())
        if fmt != "parquet" and ("UTF8" in message or isinstance(err, UnicodeDecodeError)):
            _raise_bad_text(file, path, fmt)
        if "Empty CSV file" in message or "zero rows" in message:
            message = "the file is empty"
        raise JointrecError(
            f"{file.role} file {str(file.path)!r} cannot be read as {fmt}: {message}"
        ) from None
    if table.num_rows == 0:
        raise JointrecError(
            f"{file.role} file {str(file.path)!r} has no rows: expected a header and data rows"
        )
    return {name: table.column(name).combine_chunks() for name in wanted}


def _read_csv(
    file: TableFile, path: Path, fmt: str, wanted: list[str], strings: tuple[str, ...]
) -> tuple[Any, list[str]]:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    delimiter = file.delimiter or ("\t" if fmt == "tsv" else ",")
    parse = pacsv.ParseOptions(delimiter=delimiter)
    with pacsv.open_csv(path, parse_options=parse) as reader:
        available = list(reader.schema.names)
    if not set(wanted) <= set(available):
        return None, available
    convert = pacsv.ConvertOptions(
        include_columns=wanted,
        column_types={name: pa.string() for name in strings if name in wanted},
        strings_can_be_null=True,
    )
    return pacsv.read_csv(path, parse_options=parse, convert_options=convert), available


def _check_columns(file: TableFile, columns: dict[str, str], available: list[str]) -> None:
    repeated = sorted({c for c in available if available.count(c) > 1})
    if repeated:
        shown = ", ".join(repr(c) for c in available[:20])
        raise JointrecError(
            f"{file.role} file {str(file.path)!r} names the column {repeated[0]!r} more than "
            f"once (its columns are {shown}): expected unique column names; rename the "
            "repeated one in the header"
        )
    for name, option in columns.items():
        if name not in available:
            shown = ", ".join(repr(c) for c in available[:20])
            more = f" and {len(available) - 20} more" if len(available) > 20 else ""
            raise JointrecError(
                f"{file.role} file {str(file.path)!r} has no column {name!r} (named by {option}): "
                f"its columns are {shown}{more}; pass the right name with {option}"
            )


def _first_null(file: TableFile, name: str, array: Any) -> None:
    if array.null_count:
        row = int(np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))[0])
        text = _raw_cell(file, name, row)
        found = "is empty" if not text else f"holds {text!r}, which reads as no value"
        raise JointrecError(f"{file.where(row)}: column {name!r} {found}: expected a value")


def _raw_cell(file: TableFile, name: str, row: int) -> str:
    """The text of one CSV cell as written (``""`` for Parquet nulls), for messages: a
    missing value may be an empty cell or one of the words pyarrow reads as null (``NA``,
    ``nan``, ``null``...)."""
    if file.resolved_format == "parquet":
        return ""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    delimiter = file.delimiter or ("\t" if file.resolved_format == "tsv" else ",")
    try:
        table = pacsv.read_csv(
            Path(file.path).expanduser(),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                include_columns=[name], column_types={name: pa.string()}, null_values=[]
            ),
        )
        return str(table.column(name)[file.first_row + row].as_py()).strip()
    except (pa.ArrowInvalid, OSError, IndexError):
        return ""


def _raise_bad_text(file: TableFile, path: Path, fmt: str) -> None:
    """Raises `JointrecError` naming the line, column and byte of a file's first byte that is
    not UTF-8 (pyarrow's own message says only "invalid UTF8 data")."""
    import gzip

    from jointrec.data.validation import decode_text

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    delimiter = file.delimiter or ("\t" if fmt == "tsv" else ",")
    header = raw.split(b"\n", 1)[0].decode("utf-8", "replace").strip().split(delimiter)
    decode_text(f"{file.role} file {str(file.path)!r}", raw, "utf-8", delimiter, header)


def id_column(file: TableFile, name: str, array: Any) -> np.ndarray:
    """Integer or string ids as NumPy (int64, or str); canonical integer text becomes int64.

    Raises:
        JointrecError: for empty cells, or a column that holds neither integers nor text.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    _first_null(file, name, array)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if pa.types.is_integer(array.type):
        return array.to_numpy(zero_copy_only=False).astype(np.int64)
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        values = array.to_numpy(zero_copy_only=False).astype(str)
        if len(values) and pc.all(pc.match_substring_regex(array, _CANONICAL_INT.pattern)).as_py():
            return values.astype(np.int64)
        return values
    if pa.types.is_floating(array.type):
        values = array.to_numpy(zero_copy_only=False)
        bad = ~np.isfinite(values) | (values != np.round(values))
        if not bad.any():
            return values.astype(np.int64)
        return wrong_type(file, name, array, "integer or string ids", int(np.flatnonzero(bad)[0]))
    return wrong_type(file, name, array, "integer or string ids")


def numeric_column(file: TableFile, name: str, array: Any, expected: str) -> np.ndarray:
    """A numeric column as float64 NumPy, or a `JointrecError` naming the first bad value."""
    import pyarrow as pa

    _first_null(file, name, array)
    if pa.types.is_integer(array.type) or pa.types.is_floating(array.type):
        return array.to_numpy(zero_copy_only=False).astype(np.float64)
    if pa.types.is_decimal(array.type) or pa.types.is_boolean(array.type):
        return array.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return wrong_type(file, name, array, expected)


def rating_column(file: TableFile, name: str, array: Any) -> np.ndarray:
    """Ratings as float64 with NaN for unrated rows: an empty CSV cell or a Parquet null.

    A cell holding a word that reads as no value (``nan``, ``NA``, ``null``) is refused:
    it is ambiguous, and usually an export bug; leave the cell empty for an unrated row.

    Raises:
        JointrecError: naming the line of such a word, of text that is not a number, or of
            an infinite rating.
    """
    import pyarrow as pa

    if pa.types.is_null(array.type):
        values = np.full(len(array), np.nan)
    else:
        if array.null_count:
            _only_empty_nulls(file, name, array)
        if not (
            pa.types.is_integer(array.type)
            or pa.types.is_floating(array.type)
            or pa.types.is_decimal(array.type)
            or pa.types.is_boolean(array.type)
        ):
            wrong_type(file, name, array, "numeric ratings (an empty cell: unrated)")
        values = array.cast(pa.float64()).to_numpy(zero_copy_only=False)
        values = np.where(array.is_null().to_numpy(zero_copy_only=False), np.nan, values)
        real = ~array.is_null().to_numpy(zero_copy_only=False)
        bad = real & ~np.isfinite(values)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise JointrecError(
                f"{file.where(row)}: column {name!r} holds {float(values[row])!r}: expected a "
                "finite rating (leave the cell empty, or null, for an unrated row)"
            )
    return values.astype(np.float64)


def _only_empty_nulls(file: TableFile, name: str, array: Any) -> None:
    """Raises for the first null of a CSV rating column whose cell is not empty."""
    if file.resolved_format == "parquet":
        return
    import pyarrow as pa
    import pyarrow.csv as pacsv

    delimiter = file.delimiter or ("\t" if file.resolved_format == "tsv" else ",")
    try:
        table = pacsv.read_csv(
            Path(file.path).expanduser(),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                include_columns=[name], column_types={name: pa.string()}, null_values=[]
            ),
        )
    except (pa.ArrowInvalid, OSError):
        return
    raw = table.column(name).slice(file.first_row, len(array))  # the rows at hand
    raw = np.char.strip(raw.to_numpy(zero_copy_only=False).astype(str))
    null = array.is_null().to_numpy(zero_copy_only=False)
    worded = null & (raw != "")
    if worded.any():
        row = int(np.flatnonzero(worded)[0])
        raise JointrecError(
            f"{file.where(row)}: column {name!r} holds {str(raw[row])!r}, which reads as no "
            "value: expected a rating, or an empty cell for an unrated row"
        )


def time_column(file: TableFile, name: str, array: Any) -> np.ndarray:
    """Seconds since the epoch (int64) from numbers, dates or timestamps."""
    import pyarrow as pa

    _first_null(file, name, array)
    if pa.types.is_timestamp(array.type) or pa.types.is_date(array.type):
        seconds = array.cast(pa.timestamp("s")) if pa.types.is_date(array.type) else array
        if pa.types.is_timestamp(seconds.type) and seconds.type.unit != "s":
            seconds = seconds.cast(pa.timestamp("s"), safe=False)
        return seconds.cast(pa.int64()).to_numpy(zero_copy_only=False)
    expected = "seconds since the epoch or ISO-8601 date-times"
    values = numeric_column(file, name, array, expected)
    if not np.isfinite(values).all():
        wrong_type(file, name, array, expected, int(np.flatnonzero(~np.isfinite(values))[0]))
    return np.floor(values).astype(np.int64)


def wrong_type(
    file: TableFile, name: str, array: Any, expected: str, row: int | None = None
) -> Any:
    """Raises `JointrecError`: column ``name`` holds the wrong type, with its first bad value."""
    if row is None:
        row = _first_non_number(array)
    example = "" if row is None else f", e.g. {array[row].as_py()!r} on {file.where(row)}"
    raise JointrecError(
        f"{file.role} file {str(file.path)!r}: column {name!r} holds {array.type}{example}: "
        f"expected {expected}"
    )


def _first_non_number(array: Any) -> int | None:
    for row, value in enumerate(array.to_pylist()):
        if value is None:
            continue
        try:
            float(value)
        except (TypeError, ValueError):
            return row
    return None


def read_interactions(
    path: str | os.PathLike[str],
    *,
    user_col: str = "user",
    item_col: str = "item",
    rating_col: str | None = None,
    time_col: str | None = None,
    rating_scale: tuple[float, float] | None = None,
    format: str = "auto",
    delimiter: str | None = None,
    duplicates: DuplicatePolicy = "error",
    notes: list[str] | None = None,
) -> Interactions:
    """Reads an interaction log from a CSV or Parquet file.

    Args:
        path: The file (``.csv``, ``.tsv``, ``.parquet``, ``.pq``; ``.gz`` CSV too).
        user_col: Column of user ids (integers or strings).
        item_col: Column of item ids (integers or strings).
        rating_col: Column of explicit ratings; ``None`` for implicit feedback (every row is
            a positive; the model then trains retrieval only). Mixed feedback: an empty
            cell (a Parquet null) is an unrated row, a retrieval positive without a rating.
        time_col: Column of times (seconds since the epoch, dates or timestamps), needed by
            the ``temporal`` and ``leave_last_n`` splits.
        rating_scale: ``(low, high)`` stars; ``None`` takes the lowest and highest rating.
        format: ``"auto"`` (from the extension), ``"csv"``, ``"tsv"`` or ``"parquet"``.
        delimiter: CSV separator when it is not ``","`` (or tab for ``.tsv``).
        duplicates: A (user, item) pair on several rows is an ``"error"`` (the default: a
            duplicate is usually an export bug, and a pair in both train and test leaks the
            answer), or ``"keep_last"`` / ``"keep_first"`` keeps the latest (by time, then
            by line) or the earliest row of each pair.
        notes: Where to append what the reader assumed or changed, for the user (an
            inferred rating scale, dropped duplicates).

    Raises:
        JointrecError: naming the file, column and line for a missing column, an empty id,
            a value of the wrong type, a rating outside ``rating_scale``, a negative rating
            when the scale is inferred, or a repeated pair.
    """
    file = TableFile(path, format=format, delimiter=delimiter, role="interactions")
    options = {user_col: "--user-col", item_col: "--item-col"}
    if len(options) < 2:
        raise JointrecError(
            f"--user-col and --item-col are both {user_col!r}: expected two different columns"
        )
    if rating_col is not None:
        options.setdefault(rating_col, "--rating-col")
    if time_col is not None:
        options.setdefault(time_col, "--time-col")
    data = _streamed(file, options, user_col, item_col, rating_col, time_col)
    if data is None:
        data = read_columns(file, options, strings=(user_col, item_col))
    rating = None
    if rating_col is not None:
        rating = data[rating_col]
        if not isinstance(rating, np.ndarray):
            rating = rating_column(file, rating_col, rating)
        rated = ~np.isnan(rating)
        if not rated.any():
            rating = None
            if notes is not None:
                notes.append(
                    f"column {rating_col!r} of {file.path} has no ratings (every cell is "
                    "empty): training retrieval only"
                )
    if rating is not None and rating_col is not None:
        inferred = rating_scale is None
        rating_scale = _rating_scale(file, rating_col, rating, rating_scale)
        rating = _check_scale(file, rating_col, rating, rating_scale)
        if inferred and notes is not None:
            low, high = rating_scale
            notes.append(
                f"rating scale {low:g}..{high:g} inferred from {file.path} (its lowest and "
                "highest rating): set rating_scale (--rating-scale LOW HIGH) if it is wider"
            )
    user, item = (
        v if isinstance(v, np.ndarray) else id_column(file, name, v)
        for name, v in ((user_col, data[user_col]), (item_col, data[item_col]))
    )
    timestamp = None
    if time_col is not None:
        timestamp = data[time_col]
        if not isinstance(timestamp, np.ndarray):
            timestamp = time_column(file, time_col, timestamp)
    if duplicates == "error":
        check_no_duplicate_pairs(
            str(file.path),
            user,
            item,
            lambda row: file.where(row).removeprefix(f"{file.path} "),
            fix="keep one row per pair, or pass --duplicates keep_last (or keep_first)",
        )
    else:
        keep = duplicate_keep_mask(user, item, timestamp, duplicates)
        dropped = int((~keep).sum())
        if dropped:
            user, item = user[keep], item[keep]
            rating = None if rating is None else rating[keep]
            timestamp = None if timestamp is None else timestamp[keep]
            if notes is not None:
                notes.append(
                    f"{dropped} repeated (user, item) rows of {file.path} dropped "
                    f"({duplicates}: one row per pair kept)"
                )
    return Interactions(
        user=user,
        item=item,
        rating=rating,
        timestamp=timestamp,
        rating_scale=rating_scale or (1.0, 5.0),
        source=str(path),
    )


def _rating_scale(
    file: TableFile, name: str, rating: np.ndarray, given: tuple[float, float] | None
) -> tuple[float, float]:
    if given is not None:
        low, high = (float(v) for v in given)
        if not low < high:
            raise JointrecError(
                f"rating_scale={tuple(given)!r} is invalid: expected (low, high) with low < high"
            )
        return low, high
    low, high = float(np.nanmin(rating)), float(np.nanmax(rating))
    if low < 0:
        row = int(np.nanargmin(rating))
        raise JointrecError(
            f"{file.where(row)}: column {name!r} holds {rating[row]:g}: a negative rating "
            "cannot be part of an inferred scale (it is usually a typo); fix the value, or "
            "set the scale with rating_scale (--rating-scale LOW HIGH) if it is meant"
        )
    if not low < high:
        raise JointrecError(
            f"{file.path}: every value of column {name!r} is {low:g}, so the rating scale "
            "cannot be inferred: set rating_scale = [low, high], or drop the rating column "
            "to train retrieval only"
        )
    return low, high


def _check_scale(
    file: TableFile, name: str, rating: np.ndarray, scale: tuple[float, float]
) -> np.ndarray:
    low, high = scale
    bad = (rating < low) | (rating > high)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise JointrecError(
            f"{file.where(row)}: column {name!r} holds {rating[row]:g}: expected a rating "
            f"in [{low:g}, {high:g}] (the rating_scale)"
        )
    return rating.astype(np.float32, copy=False)


class _ReadWholeError(Exception):
    """Streaming stopped: read the file whole instead (text ids, or a file pyarrow
    refuses, whose message the whole-file reader gives)."""


def _streamed(
    file: TableFile,
    columns: dict[str, str],
    user_col: str,
    item_col: str,
    rating_col: str | None,
    time_col: str | None,
) -> dict[str, np.ndarray] | None:
    """The interactions' columns streamed into memory maps (`jointrec.data.columnar`), or
    ``None`` when the file is read whole: a Parquet file under `STREAM_MIN_ROWS` rows, a
    CSV file under `STREAM_MIN_BYTES`, one column in two roles, or ids that are not
    integers (text ids become NumPy strings, which no memory map holds)."""
    import pyarrow as pa

    from jointrec.data import columnar

    path = Path(file.path).expanduser()
    roles = [c for c in (user_col, item_col, rating_col, time_col) if c is not None]
    if not path.is_file() or len(columns) < len(roles):
        return None  # read_columns reads it, or says why it cannot
    fmt = file.resolved_format
    try:
        batches = _batches(file, path, fmt, list(columns), (user_col, item_col))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OSError, UnicodeDecodeError):
        return None
    if batches is None:
        return None

    def at(row: int) -> TableFile:
        return dataclasses.replace(file, first_row=row)

    def ids(name: str) -> columnar.Converter:
        def convert(array: Any, row: int) -> np.ndarray:
            values = id_column(at(row), name, array)
            if values.dtype.kind != "i":
                raise _ReadWholeError
            return values

        return convert

    convert: dict[str, tuple[columnar.Converter, Any]] = {
        user_col: (ids(user_col), np.int64),
        item_col: (ids(item_col), np.int64),
    }
    if rating_col is not None:
        convert[rating_col] = (lambda a, row: rating_column(at(row), rating_col, a), np.float64)
    if time_col is not None:
        convert[time_col] = (lambda a, row: time_column(at(row), time_col, a), np.int64)
    try:
        return columnar.stream_columns(batches, convert)
    except (
        _ReadWholeError,
        pa.ArrowInvalid,
        pa.ArrowNotImplementedError,
        OSError,
        UnicodeDecodeError,
    ):
        return None


def _batches(file: TableFile, path: Path, fmt: str, wanted: list[str], ids: tuple[str, str]) -> Any:
    """The file's record batches of the ``wanted`` columns (checked to exist), or ``None``
    when the file is small enough to read whole."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from jointrec.data import columnar

    if fmt == "parquet":
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
        names = list(schema.names)
        if not set(wanted) <= set(names) or len(set(names)) < len(names):
            return None  # read_columns names what is wrong
        if parquet.metadata.num_rows < columnar.STREAM_MIN_ROWS:
            return None
        if not all(pa.types.is_integer(schema.field(c).type) for c in ids):
            return None
        return parquet.iter_batches(batch_size=columnar.BATCH_ROWS, columns=wanted)
    if path.stat().st_size < columnar.STREAM_MIN_BYTES:
        return None
    parse = pacsv.ParseOptions(delimiter=file.delimiter or ("\t" if fmt == "tsv" else ","))
    with pacsv.open_csv(path, parse_options=parse) as reader:
        available = list(reader.schema.names)
    if not set(wanted) <= set(available) or len(set(available)) < len(available):
        return None  # read_columns names what is wrong
    return pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=columnar.CSV_BLOCK_BYTES),
        parse_options=parse,
        convert_options=pacsv.ConvertOptions(
            include_columns=wanted,
            column_types={name: pa.string() for name in ids},
            strings_can_be_null=True,
        ),
    )
