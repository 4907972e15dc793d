"""`load_movielens`: the GroupLens MovieLens releases as a `Dataset`.

Example:
    >>> ds = load_movielens("100k", path="../shared/data/movielens/ml-100k.zip")  # doctest: +SKIP
    >>> len(ds.interactions), len(ds.items), len(ds.users)  # doctest: +SKIP
    (100000, 1682, 943)
"""

from __future__ import annotations

import io
import os
import re

import numpy as np

from jointrec.data.interactions import Dataset, FeatureTable, Interactions
from jointrec.data.registry import MovieLensSpec, TableFile, movielens_spec
from jointrec.data.sources import FileSource, resolve
from jointrec.errors import JointrecError

_YEAR = re.compile(r"\((\d{4})\)\s*$")
_NO_GENRE = "(no genres listed)"
_TYPES = {"user_id": "int64", "item_id": "int64", "rating": "float32", "timestamp": "int64"}


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
    ratings = read_table(source, spec.ratings)
    interactions = Interactions(
        user=ratings["user_id"],
        item=ratings["item_id"],
        rating=ratings["rating"],
        timestamp=ratings["timestamp"],
        rating_scale=spec.rating_scale,
        source=source.describe(spec.ratings.name),
    )
    items = _movies(source, spec)
    users = _users(source, spec) if spec.users is not None else None
    return Dataset(
        name=f"movielens-{spec.name}", interactions=interactions, users=users, items=items
    )


def read_table(source: FileSource, table: TableFile) -> dict[str, np.ndarray]:
    """Reads one declared file into NumPy columns (ids, ratings, timestamps typed; rest str).

    Raises:
        JointrecError: naming the file, the row and what was expected when the file is empty,
            has the wrong number of columns, or holds a value of the wrong type.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    where = source.describe(table.name)
    raw = source.read_bytes(table.name)
    if not raw.strip():
        raise JointrecError(f"{where} is empty: expected rows of {', '.join(table.columns)}")
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
                column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as err:
        message = str(err).replace("\n", " ")
        raise JointrecError(
            f"{where}: {message} (expected {len(table.columns)} "
            f"{delimiter!r}-separated columns: {', '.join(table.columns)}, "
            f"{table.encoding} text)"
        ) from None
    columns: dict[str, np.ndarray] = {}
    for name in table.columns:
        column = parsed.column(name)
        if column.null_count:
            row = int(np.flatnonzero(column.is_null().to_numpy(zero_copy_only=False))[0])
            raise JointrecError(
                f"{where}: row {row + 1 + table.header} column {name!r} is empty: expected a value"
            )
        columns[name] = column.to_numpy()
    return columns


def _movies(source: FileSource, spec: MovieLensSpec) -> FeatureTable:
    table = read_table(source, spec.movies)
    titles = table["title"].astype(str)
    years = np.array([_year(t) for t in titles], dtype=np.int32)
    if "release_date" in table:
        fallback = np.array([_date_year(d) for d in table["release_date"]], dtype=np.int32)
        years = np.where(years > 0, years, fallback)
    if spec.genres == "flags":
        names = list(spec.genre_names)
        genres = np.stack([table[g].astype(np.int64) for g in names], axis=1).astype(np.uint8)
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
        source=source.describe(spec.movies.name),
        metadata={"genres": names},
    )


def _users(source: FileSource, spec: MovieLensSpec) -> FeatureTable:
    assert spec.users is not None
    table = read_table(source, spec.users)
    where = source.describe(spec.users.name)
    try:
        age = table["age"].astype(np.int32)
    except ValueError:
        raise JointrecError(f"{where}: column 'age' holds a non-integer value") from None
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
