"""Out-of-core interactions: Parquet read row group by row group into memory-mapped columns.

`read_parquet_columns` makes two streaming passes over a Parquet file (ids first, to build
the user and item vocabularies; then everything, encoded) and writes each column once, as a
``.npy`` file in a folder, with `numpy.lib.format.open_memmap`. `ColumnStore.split` writes the
train/validation/test parts the same way. Training and evaluation then read these files
through the page cache: peak memory holds one row group and the vocabularies, not a copy of
the data per stage. This is the low-level reader for big files; ``jointrec train
--interactions`` is the user-facing table loader.

Example:
    >>> store = read_parquet_columns("ratings.parquet", "cache/ratings")  # doctest: +SKIP
    >>> train, validation, test = store.split(SplitConfig())  # doctest: +SKIP
    >>> len(train) + len(test) == len(store)  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.data.encoded import EncodedInteractions
from jointrec.data.splits import leave_last_n_rows, random_split_rows, temporal_split_rows
from jointrec.data.vocabulary import Vocabulary
from jointrec.errors import JointrecError
from jointrec.progress import progress_task
from jointrec.settings import SplitConfig

BATCH_ROWS = 1 << 20
META = "columns.json"
_DTYPES = {"user": np.int32, "item": np.int32, "rating": np.float32, "timestamp": np.int64}


@dataclass
class ColumnStore:
    """Encoded interactions held as memory-mapped ``.npy`` columns in a folder.

    Args:
        path: The folder.
        user: ``[n]`` int32 user indices (0 = unknown).
        item: ``[n]`` int32 item indices (0 = unknown).
        rating: ``[n]`` float32 stars, or ``None``.
        timestamp: ``[n]`` int64 seconds, or ``None``.
        users: User vocabulary (every user id of the file).
        items: Item vocabulary (every item id of the file).
        rating_scale: ``(low, high)`` stars.
        source: Where the data came from, for messages.
    """

    path: Path
    user: np.ndarray
    item: np.ndarray
    rating: np.ndarray | None
    timestamp: np.ndarray | None
    users: Vocabulary
    items: Vocabulary
    rating_scale: tuple[float, float]
    source: str

    def __len__(self) -> int:
        return len(self.user)

    def encoded(self) -> EncodedInteractions:
        """All rows as `EncodedInteractions` (memory-mapped, no copy)."""
        return EncodedInteractions(self.user, self.item, self.rating, self.rating_scale)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> ColumnStore:
        """Opens a folder written by `read_parquet_columns` (read-only memory maps)."""
        folder = Path(path).expanduser()
        try:
            meta = json.loads((folder / META).read_text())
        except (OSError, ValueError) as err:
            raise JointrecError(
                f"{folder} is not a column store ({err}): create it with read_parquet_columns"
            ) from None

        def column(name: str) -> np.ndarray | None:
            if name not in meta["columns"]:
                return None
            return np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)

        user, item = column("user"), column("item")
        assert user is not None and item is not None
        return cls(
            path=folder,
            user=user,
            item=item,
            rating=column("rating"),
            timestamp=column("timestamp"),
            users=Vocabulary(np.load(folder / "user_ids.npy", allow_pickle=False), name="user"),
            items=Vocabulary(np.load(folder / "item_ids.npy", allow_pickle=False), name="item"),
            rating_scale=(float(meta["rating_scale"][0]), float(meta["rating_scale"][1])),
            source=str(meta["source"]),
        )

    def split(
        self, config: SplitConfig, out: str | os.PathLike[str] | None = None
    ) -> tuple[EncodedInteractions, EncodedInteractions, EncodedInteractions]:
        """Train, validation and test parts under ``config``, written as memory-mapped columns.

        The rows are those `jointrec.data.splits.split_rows` picks for the same settings (the
        random split keeps its shuffled order, as the tutorial trains in it). As in
        `jointrec.experiments.pipeline.prepare_data`, users and items without training
        interactions are encoded as unknown (0) in the validation and test parts.

        Args:
            config: Split settings.
            out: Folder of the parts (default: ``split-<method>-<seed>`` in the store).
        """
        n = len(self)
        if n < 2:
            raise JointrecError(f"{self.source}: {n} interactions cannot be split: expected >= 2")
        train, test = self._outer(config, np.arange(n), config.test_fraction, config.seed)
        validation = np.empty(0, dtype=np.int64)
        if config.validation_fraction > 0:
            inner_train, inner_val = self._outer(
                config, train, config.validation_fraction, config.seed + 1
            )
            train, validation = train[inner_train], train[inner_val]
        if len(train) == 0 or len(test) == 0:
            raise JointrecError(
                f"{self.source}: split {config.method!r} left an empty train or test part "
                f"({len(train)} / {len(test)} rows); use more data or another test_fraction"
            )
        folder = (
            Path(out).expanduser()
            if out is not None
            else self.path / f"split-{config.method}-{config.seed}-{config.test_fraction:g}"
            f"-{config.validation_fraction:g}"
        )
        folder.mkdir(parents=True, exist_ok=True)
        part_train = self._take(train, folder / "train")
        seen_users = np.bincount(part_train.user, minlength=len(self.users)) > 0
        seen_items = np.bincount(part_train.item, minlength=len(self.items)) > 0
        seen_users[0] = seen_items[0] = False
        parts = [
            self._take(rows, folder / name, seen_users, seen_items)
            for rows, name in ((validation, "validation"), (test, "test"))
        ]
        return part_train, parts[0], parts[1]

    def _outer(
        self, config: SplitConfig, rows: np.ndarray, fraction: float, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """(train, test) positions within ``rows``."""
        if config.method == "random":
            return random_split_rows(len(rows), fraction, seed)
        if self.timestamp is None:
            raise JointrecError(
                f"{self.source}: split {config.method!r} needs a timestamp column; "
                "use method 'random' or read the file with a time column"
            )
        timestamp = np.asarray(self.timestamp[rows])
        if config.method == "temporal":
            return temporal_split_rows(timestamp, fraction)
        return leave_last_n_rows(np.asarray(self.user[rows]), timestamp, config.leave_n)

    def _take(
        self,
        rows: np.ndarray,
        folder: Path,
        known_users: np.ndarray | None = None,
        known_items: np.ndarray | None = None,
    ) -> EncodedInteractions:
        folder.mkdir(parents=True, exist_ok=True)
        columns: dict[str, np.ndarray] = {}
        for name in ("user", "item", "rating"):
            source = getattr(self, name)
            if source is None:
                continue
            out = np.lib.format.open_memmap(
                folder / f"{name}.npy", mode="w+", dtype=source.dtype, shape=(len(rows),)
            )
            for lo in range(0, len(rows), BATCH_ROWS):
                values = source[rows[lo : lo + BATCH_ROWS]]
                known = known_users if name == "user" else known_items
                if known is not None and name != "rating":
                    values = np.where(known[values], values, 0).astype(source.dtype)
                out[lo : lo + len(values)] = values
            out.flush()
            del out
            columns[name] = np.load(folder / f"{name}.npy", mmap_mode="r", allow_pickle=False)
        return EncodedInteractions(
            columns["user"], columns["item"], columns.get("rating"), self.rating_scale
        )


def read_parquet_columns(
    path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    user_col: str = "user_id",
    item_col: str = "item_id",
    rating_col: str | None = "rating",
    time_col: str | None = "timestamp",
    rating_scale: tuple[float, float] | None = None,
    batch_rows: int = BATCH_ROWS,
    progress: bool = True,
) -> ColumnStore:
    """Streams a Parquet file into a `ColumnStore` folder (two passes, one batch in memory).

    Args:
        path: The Parquet file.
        out: Folder for the columns (created; existing column files are replaced).
        user_col: Column of user ids (integers or strings).
        item_col: Column of item ids (integers or strings).
        rating_col: Column of ratings, or ``None``.
        time_col: Column of timestamps (integer seconds), or ``None``.
        rating_scale: ``(low, high)``; by default the file's ``jointrec.rating_scale``
            metadata, else the observed minimum and maximum.
        batch_rows: Rows read at once.
        progress: Show progress bars.

    Raises:
        JointrecError: when the file is missing or not Parquet, a column is missing, or a
            value is null or out of the rating scale; the message names file, column and row.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = Path(path).expanduser()
    try:
        parquet = pq.ParquetFile(src)
    except (OSError, pa.ArrowInvalid) as err:
        raise JointrecError(
            f"cannot read {str(src)!r} as Parquet ({err}): expected an existing .parquet file"
        ) from None
    available = parquet.schema_arrow.names
    optional = {"user": user_col, "item": item_col, "rating": rating_col, "timestamp": time_col}
    wanted = {k: v for k, v in optional.items() if v is not None}
    for role, name in wanted.items():
        if name not in available:
            raise JointrecError(
                f"{src}: no column {name!r} for the {role}s: available columns are {available}"
            )
    n = parquet.metadata.num_rows
    if n == 0:
        raise JointrecError(f"{src} has no rows: expected interactions")
    folder = Path(out).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META).unlink(missing_ok=True)  # the store is valid only once this is rewritten

    users, items = _vocabularies(parquet, src, user_col, item_col, batch_rows, n, progress)
    scale = rating_scale or _metadata_scale(parquet.schema_arrow.metadata)
    outputs = {
        role: np.lib.format.open_memmap(
            folder / f"{role}.npy", mode="w+", dtype=_DTYPES[role], shape=(n,)
        )
        for role in wanted
    }
    low, high = np.inf, -np.inf
    row = 0
    with progress_task("encoding columns", total=n, enabled=progress) as bar:
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=list(wanted.values())):
            size = batch.num_rows
            for role, name in wanted.items():
                array = batch.column(batch.schema.get_field_index(name))
                # A null rating is an unrated row (mixed feedback); other nulls are errors.
                rating = role == "rating"
                values = _ratings(array) if rating else _column(array, src, name, row)
                if role == "user":
                    values = users.encode(values)
                elif role == "item":
                    values = items.encode(values)
                elif role == "rating":
                    rated = ~np.asarray(array.is_null().to_numpy(zero_copy_only=False))
                    if not np.isfinite(values[rated]).all():
                        bad = row + int(np.flatnonzero(rated & ~np.isfinite(values))[0])
                        raise JointrecError(f"{src}: column {name!r} row {bad} is not finite")
                    if rated.any():
                        low = min(low, float(values[rated].min()))
                        high = max(high, float(values[rated].max()))
                outputs[role][row : row + size] = values
            row += size
            bar.advance(size)
    for column in outputs.values():
        column.flush()
    del outputs
    if rating_col is not None:
        scale = scale or (low, high)
        if low < scale[0] or high > scale[1]:
            raise JointrecError(
                f"{src}: column {rating_col!r} holds ratings in [{low:g}, {high:g}], outside "
                f"the rating scale {scale}: pass rating_scale=(low, high)"
            )
    np.save(folder / "user_ids.npy", users.ids)
    np.save(folder / "item_ids.npy", items.ids)
    meta: dict[str, Any] = {
        "source": str(src),
        "rows": n,
        "columns": sorted(wanted),
        "names": wanted,
        "rating_scale": list(scale or (1.0, 5.0)),
    }
    (folder / META).write_text(json.dumps(meta, indent=2))
    return ColumnStore.open(folder)


def _ratings(array: Any) -> np.ndarray:
    """A rating batch as float32, NaN where the rating is null (an unrated row)."""
    import pyarrow as pa

    if pa.types.is_null(array.type):
        return np.full(len(array), np.nan, dtype=np.float32)
    values = array.cast(pa.float32()).to_numpy(zero_copy_only=False).astype(np.float32)
    values[np.asarray(array.is_null().to_numpy(zero_copy_only=False))] = np.nan
    return values


def _column(array: Any, src: Path, name: str, first_row: int) -> np.ndarray:
    if array.null_count:
        bad = first_row + int(np.flatnonzero(array.is_null().to_numpy(zero_copy_only=False))[0])
        raise JointrecError(f"{src}: column {name!r} row {bad} is empty: expected a value")
    return array.to_numpy(zero_copy_only=False)


def _vocabularies(
    parquet: Any,
    src: Path,
    user_col: str,
    item_col: str,
    batch_rows: int,
    n: int,
    progress: bool,
) -> tuple[Vocabulary, Vocabulary]:
    """First pass: the distinct user and item ids, merged batch by batch."""
    seen: dict[str, list[np.ndarray]] = {user_col: [], item_col: []}
    with progress_task("reading ids", total=n, enabled=progress) as bar:
        row = 0
        for batch in parquet.iter_batches(batch_size=batch_rows, columns=[user_col, item_col]):
            for name in (user_col, item_col):
                values = _column(batch.column(batch.schema.get_field_index(name)), src, name, row)
                parts = seen[name]
                parts.append(np.unique(values))
                if len(parts) >= 16:
                    seen[name] = [np.unique(np.concatenate(parts))]
            row += batch.num_rows
            bar.advance(batch.num_rows)
    users = Vocabulary(np.unique(np.concatenate(seen[user_col])), name="user")
    items = Vocabulary(np.unique(np.concatenate(seen[item_col])), name="item")
    return users, items


def _metadata_scale(metadata: dict[bytes, bytes] | None) -> tuple[float, float] | None:
    from jointrec.data.synthetic import META_RATING_SCALE

    if not metadata or META_RATING_SCALE not in metadata:
        return None
    low, high = (float(v) for v in metadata[META_RATING_SCALE].decode().split(","))
    return (low, high)
