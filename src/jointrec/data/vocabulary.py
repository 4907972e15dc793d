"""`Vocabulary`: raw ids to contiguous indices, with index 0 reserved for unknown ids.

Example:
    >>> import numpy as np
    >>> vocab = Vocabulary.from_values(np.array([30, 10, 20, 10]))
    >>> vocab.encode(np.array([10, 20, 30, 99])).tolist()
    [1, 2, 3, 0]
    >>> vocab.decode(np.array([3])).tolist(), len(vocab)
    ([30], 4)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jointrec.errors import JointrecError

UNKNOWN_INDEX = 0


class Vocabulary:
    """Maps raw ids (integers or strings) to indices ``1..n``; unknown ids map to 0.

    Args:
        ids: Distinct raw ids; ``ids[j]`` gets index ``j + 1``.
        name: What the ids are (``"user"``, ``"item"``), used in error messages.
    """

    def __init__(self, ids: np.ndarray, name: str = "id") -> None:
        ids = np.asarray(ids)
        if ids.ndim != 1:
            raise JointrecError(f"{name} vocabulary ids must be 1-D, got shape {ids.shape}")
        if ids.dtype.kind in "iu":
            ids = ids.astype(np.int64)
        elif ids.dtype.kind in "UO":
            ids = ids.astype(str)
        else:
            raise JointrecError(
                f"{name} vocabulary ids have dtype {ids.dtype}: expected integers or strings"
            )
        self.ids = ids
        self.name = name
        self._order = np.argsort(ids, kind="stable")
        self._sorted = ids[self._order]
        if len(ids) > 1 and (self._sorted[1:] == self._sorted[:-1]).any():
            dup = self._sorted[1:][self._sorted[1:] == self._sorted[:-1]][0]
            raise JointrecError(f"{name} vocabulary has duplicate id {dup.item()!r}")

    @classmethod
    def from_values(cls, values: np.ndarray, name: str = "id") -> Vocabulary:
        """Builds a vocabulary of the distinct ``values``, sorted."""
        return cls(np.unique(np.asarray(values)), name=name)

    def __len__(self) -> int:
        """Number of indices, the unknown index included (the embedding table size)."""
        return len(self.ids) + 1

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Vocabulary)
            and self.ids.dtype.kind == other.ids.dtype.kind
            and np.array_equal(self.ids, other.ids)
        )

    def __hash__(self) -> int:
        return hash((self.name, len(self.ids)))

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Returns int32 indices of raw ``values``; unknown values get index 0."""
        values = np.asarray(values)
        if len(self._sorted) == 0:
            return np.zeros(values.shape, dtype=np.int32)
        try:
            values = values.astype(self._sorted.dtype)
        except (ValueError, TypeError):
            return np.zeros(values.shape, dtype=np.int32)
        pos = np.clip(np.searchsorted(self._sorted, values), 0, len(self._sorted) - 1)
        found = self._sorted[pos] == values
        return np.where(found, self._order[pos] + 1, UNKNOWN_INDEX).astype(np.int32)

    def index(self, value: Any) -> int:
        """Returns the index of one raw id, raising `JointrecError` when it is unknown."""
        idx = int(self.encode(np.asarray([value]))[0])
        if idx == UNKNOWN_INDEX:
            sample = ", ".join(str(v) for v in self.ids[:3])
            raise JointrecError(
                f"unknown {self.name} id {value!r}: expected one of the "
                f"{len(self.ids)} known ids (e.g. {sample})"
            )
        return idx

    def decode(self, indices: np.ndarray) -> np.ndarray:
        """Returns raw ids for ``indices`` (index 0 is not allowed)."""
        indices = np.asarray(indices)
        if (indices < 1).any() or (indices > len(self.ids)).any():
            raise JointrecError(f"{self.name} indices must be in [1, {len(self.ids)}]")
        return self.ids[indices - 1]

    def to_json(self) -> dict[str, Any]:
        """Returns JSON-ready data; `from_json` restores it exactly."""
        kind = "int" if self.ids.dtype.kind == "i" else "str"
        return {"name": self.name, "kind": kind, "ids": self.ids.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Vocabulary:
        """Rebuilds a vocabulary written by `to_json`."""
        try:
            kind, ids, name = data["kind"], data["ids"], data.get("name", "id")
        except (KeyError, TypeError):
            raise JointrecError("vocabulary data must hold 'kind' and 'ids'") from None
        if kind not in ("int", "str"):
            raise JointrecError(f"vocabulary kind {kind!r} is invalid: expected 'int' or 'str'")
        dtype = np.int64 if kind == "int" else str
        return cls(np.asarray(ids, dtype=dtype), name=name)
