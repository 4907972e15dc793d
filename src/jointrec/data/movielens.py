"""`load_movielens`: the GroupLens MovieLens releases as a `Dataset`.

Example:
    >>> ds = load_movielens("100k", path="../shared/data/movielens/ml-100k.zip")  # doctest: +SKIP
    >>> len(ds.interactions), len(ds.items), len(ds.users)  # doctest: +SKIP
    (100000, 1682, 943)
"""

from __future__ import annotations

import csv
import io
import os
import re

import numpy as np

from jointrec.data.interactions import Dataset, FeatureTable, Interactions
from jointrec.data.registry import MovieLensSpec, ReleaseFile, movielens_spec
from jointrec.data.sources import FileSource, resolve
from jointrec.data.validation import (
    RowLocator,
    check_field_count,
    check_flags,
    check_integers,
    check_no_duplicate_pairs,
    check_not_null,
    check_numeric,
    check_unique,
    decode_text,
    split_lines,
    text_lines,
)
from jointrec.errors import JointrecError

_YEAR = re.compile(r"\((\d{4})\)\s*$")
_NO_GENRE = "(no genres listed)"
_TYPES = {"user_id": "int64", "item_id": "int64", "rating": "float32", "timestamp": "int64"}
_INT = re.compile(r"-?\d+")
_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?|[-+]?(?i:nan|inf|infinity)")


def load_movielens(
    variant: str = "100k",
    path: str | os.PathLike[str] | None = None,
    *,
    allow_download: bool = True,
    progress: bool = True,
) -> Dataset:
    """Loads a MovieLens release with its user and movie features.

    Args:
        variant: ``"100k"``, ``"1m"``, ``"20m"``, ``"25m"`` or ``"latest-small"``.
        path: The release's zip or extracted folder; ``None`` uses the cache or downloads.
        allow_download: Download from GroupLens when neither ``path`` nor the cache has it.
        progress: Show a progress bar while downloading.

    Returns:
        A `Dataset` whose items carry ``title``, ``year`` (0 when unknown) and multi-hot
        ``genres`` (names in ``items.metadata["genres"]``), and whose users (when the release
        has them) carry ``age``, ``gender``, ``occupation`` and ``zip``.
    """
    spec = movielens_spec(variant)
    source = resolve(spec, path, allow_download=allow_download, progress=progress)
    ratings, locate = _read(source, spec.ratings)
    where = source.describe(spec.ratings.name)
    low, high = spec.rating_scale
    rating = check_numeric(
        where, "rating", ratings["rating"], locate, low=low, high=high, dtype=np.float32
    )
    check_numeric(where, "timestamp", ratings["timestamp"], locate, low=0)
    check_no_duplicate_pairs(
        where,
        ratings["user_id"],
        ratings["item_id"],
        locate,
        fix="the GroupLens releases have none, so the file is damaged: download it again",
    )
    interactions = Interactions(
        user=ratings["user_id"],
        item=ratings["item_id"],
        rating=rating,
        timestamp=ratings["timestamp"],
        rating_scale=spec.rating_scale,
        source=where,
    )
    items = _movies(source, spec)
    users = _users(source, spec) if spec.users is not None else None
    return Dataset(
        name=f"movielens-{spec.name}", interactions=interactions, users=users, items=items
    )


def read_table(source: FileSource, table: ReleaseFile) -> dict[str, np.ndarray]:
    """Reads one declared file into NumPy columns (ids, ratings, timestamps typed; rest str).

    Raises:
        JointrecError: naming the file, the line and the column, and what was expected, when
            the file is empty, is not valid text in its encoding, has a line with too few or
            too many fields, or holds an empty value or a value of the wrong type.
    """
    return _read(source, table)[0]


def _read(source: FileSource, table: ReleaseFile) -> tuple[dict[str, np.ndarray], RowLocator]:
    """`read_table`, plus a locator of each row's line for later checks."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    where = source.describe(table.name)
    raw = source.read_bytes(table.name)
    if not raw.strip():
        raise JointrecError(f"{where} is empty: expected rows of {', '.join(table.columns)}")
    if table.header and table.header_names is not None:
        _check_header(where, raw, table)
    delimiter = table.delimiter
    if len(delimiter) > 1:
        raw = raw.replace(delimiter.encode("ascii"), b"\x1f")
        delimiter = "\x1f"
    types = {c: pa.type_for_alias(_TYPES[c]) for c in table.columns if c in _TYPES}
    types.update({c: pa.string() for c in table.columns if c not in _TYPES})
    try:
        parsed = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(
                column_names=list(table.columns),
                skip_rows=1 if table.header else 0,
                encoding=table.encoding,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, quote_char='"' if table.quoted else False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                null_values=[""],  # "NA", "nan" are bad values here, not silent gaps
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as err:
        raise _diagnose(where, raw, table, delimiter, err) from None
    if (b"0x" in raw or b"0X" in raw) and any(_TYPES.get(c) == "int64" for c in table.columns):
        _check_lines(where, raw, table, delimiter)  # the parser reads '0xff..' as hex: refuse
    locate = text_lines(raw, header=table.header)
    if parsed.num_rows == 0:
        raise JointrecError(
            f"{where} has a header but no rows: expected rows of {', '.join(table.columns)}"
        )
    columns: dict[str, np.ndarray] = {}
    for name in table.columns:
        column = parsed.column(name)
        if column.null_count:
            check_not_null(where, name, column.is_null().to_numpy(zero_copy_only=False), locate)
        columns[name] = column.to_numpy()
    return columns, locate


def _diagnose(
    where: str, raw: bytes, table: ReleaseFile, delimiter: str, err: Exception
) -> JointrecError:
    """Finds the line and column behind a parser error (only runs on the error path)."""
    _check_lines(where, raw, table, delimiter)
    message = str(err).replace("\n", " ")
    return JointrecError(
        f"{where}: {message} (expected {len(table.columns)} {table.delimiter!r}-separated "
        f"columns: {', '.join(table.columns)}, {table.encoding} text)"
    )


def _check_header(where: str, raw: bytes, table: ReleaseFile) -> None:
    """The header must name the declared columns, in order (a swap would misread the data)."""
    body = raw.lstrip(b"\r\n")
    number = raw[: len(raw) - len(body)].count(b"\n") + 1
    line = body.split(b"\n", 1)[0].rstrip(b"\r")
    text = line.decode(table.encoding, "replace").lstrip("\ufeff")
    found = [name.strip().strip('"') for name in text.split(table.delimiter)]
    expected = list(table.header_names or ())
    if found != expected:
        raise JointrecError(
            f"{where}: line {number} is the header {found}: expected the columns {expected} "
            "in this order"
        )


def _check_lines(where: str, raw: bytes, table: ReleaseFile, delimiter: str) -> None:
    """A strict line-by-line reading: raises for the first bad line, field or value."""
    text = decode_text(where, raw, table.encoding, delimiter, table.columns)
    shown = table.delimiter
    if table.quoted:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        rows = []
        for fields in reader:
            if fields:
                rows.append((reader.line_num, fields))
    else:
        rows = [(n, line.decode(table.encoding).split(delimiter)) for n, line in split_lines(raw)]
    if table.header:
        rows = rows[1:]
    check_field_count(where, rows, table.columns, shown)
    for number, fields in rows:
        for name, value in zip(table.columns, fields, strict=True):
            kind = _TYPES.get(name)
            if kind is None:
                continue
            token = value.strip()
            if not token:
                raise JointrecError(
                    f"{where}: line {number}, column {name!r} is empty: expected a value"
                )
            if kind == "int64":
                ok = bool(_INT.fullmatch(token)) and -(2**63) <= int(token) < 2**63
                expected = "an integer"
            else:
                ok = _is_float(token)
                expected = "a number"
            if not ok:
                raise JointrecError(
                    f"{where}: line {number}, column {name!r}: got {value!r}; expected {expected}"
                )


def _is_float(token: str) -> bool:
    if not _FLOAT.fullmatch(token):
        return False
    try:
        float(token)
    except ValueError:
        return False
    return True


def _movies(source: FileSource, spec: MovieLensSpec) -> FeatureTable:
    table, locate = _read(source, spec.movies)
    where = source.describe(spec.movies.name)
    check_unique(where, "item_id", table["item_id"], locate)
    titles = table["title"].astype(str)
    years = np.array([_year(t) for t in titles], dtype=np.int32)
    if "release_date" in table:
        fallback = np.array([_date_year(d) for d in table["release_date"]], dtype=np.int32)
        years = np.where(years > 0, years, fallback)
    if spec.genres == "flags":
        names = list(spec.genre_names)
        genres = np.stack([check_flags(where, g, table[g], locate) for g in names], axis=1)
    else:
        split = [[g for g in s.split("|") if g and g != _NO_GENRE] for s in table["genres"]]
        names = sorted({g for row in split for g in row})
        position = {g: j for j, g in enumerate(names)}
        genres = np.zeros((len(split), len(names)), dtype=np.uint8)
        for i, row in enumerate(split):
            genres[i, [position[g] for g in row]] = 1
    return FeatureTable(
        ids=table["item_id"],
        columns={"title": titles, "year": years, "genres": genres},
        source=where,
        metadata={"genres": names},
    )


def _users(source: FileSource, spec: MovieLensSpec) -> FeatureTable:
    assert spec.users is not None
    table, locate = _read(source, spec.users)
    where = source.describe(spec.users.name)
    check_unique(where, "user_id", table["user_id"], locate)
    age = check_integers(where, "age", table["age"], locate)
    age = check_numeric(where, "age", age, locate, low=0, high=200, dtype=np.int32)
    return FeatureTable(
        ids=table["user_id"],
        columns={
            "age": age,
            "gender": table["gender"].astype(str),
            "occupation": table["occupation"].astype(str),
            "zip": table["zip"].astype(str),
        },
        source=where,
    )


def _year(title: str) -> int:
    match = _YEAR.search(title)
    return int(match.group(1)) if match else 0


def _date_year(date: str) -> int:
    tail = str(date)[-4:]
    return int(tail) if tail.isdigit() else 0
