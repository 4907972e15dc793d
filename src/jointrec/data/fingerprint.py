"""`fingerprint`: a SHA-256 of a dataset's content, to check that a resumed run sees its data.

It covers the interaction columns (ids, ratings, timestamps, rating scale) and the ids of the
user and item tables, in order, with their dtypes and shapes; it does not depend on where the
files live or how they were compressed.

Example:
    >>> import numpy as np
    >>> from jointrec.data.interactions import Dataset, Interactions
    >>> a = Dataset("d", Interactions(np.array([1, 2]), np.array([3, 4]), np.array([5.0, 4.0])))
    >>> b = Dataset("d", Interactions(np.array([1, 2]), np.array([3, 4]), np.array([5.0, 3.0])))
    >>> fingerprint(a) == fingerprint(a), fingerprint(a) == fingerprint(b)
    (True, False)
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from jointrec.data.interactions import Dataset


def fingerprint(dataset: Dataset) -> str:
    """Hex SHA-256 of ``dataset``'s interactions and table ids."""
    digest = hashlib.sha256()
    x = dataset.interactions
    _add(digest, "scale", np.asarray(x.rating_scale, dtype=np.float64))
    for name, column in (
        ("user", x.user),
        ("item", x.item),
        ("rating", x.rating),
        ("timestamp", x.timestamp),
        ("user_table", None if dataset.users is None else dataset.users.ids),
        ("item_table", None if dataset.items is None else dataset.items.ids),
    ):
        _add(digest, name, column)
    return digest.hexdigest()


def _add(digest: Any, name: str, column: np.ndarray | None) -> None:
    digest.update(name.encode() + b"\0")
    if column is None:
        digest.update(b"none\0")
        return
    column = np.ascontiguousarray(column)
    if column.dtype.kind in "UO":
        values = column.astype(str).tolist()
        digest.update(f"str{column.shape}\0".encode())
        digest.update(np.asarray([len(v) for v in values], dtype=np.int64).tobytes())
        digest.update("".join(values).encode("utf-8", "surrogatepass"))
        return
    digest.update(f"{column.dtype.str}{column.shape}\0".encode())
    digest.update(column.tobytes())
