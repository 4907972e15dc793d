"""`FeatureSpec`: one side feature of users or items, declared by name and kind.

Kinds and what the encoder makes of them (index 0 always means "no value"):

- ``categorical``: one value per id (string or integer) -> one index; values not seen on
  the training split (or rarer than ``min_count``) share the OOV index 1.
- ``multi_categorical``: several values per id, given as a 2-D 0/1 matrix (multi-hot, with
  value names in ``FeatureTable.metadata[column]``), as strings joined by ``separator``, or as
  sequences -> up to ``max_values`` indices, 0-padded.
- ``text``: free text -> lower-case word tokens -> up to ``max_values`` indices, 0-padded.
- ``numeric``: a number -> standardised with the training split's mean and std (missing: 0).
- ``bucketized``: a number -> the index of its bucket; ``boundaries`` given, or quantiles of
  the training split (``num_buckets``).
- ``timestamp``: seconds since the epoch, bucketised by training-split quantiles.

Example:
    >>> FeatureSpec("age", "bucketized", boundaries=(18, 25, 35)).column_name
    'age'
    >>> FeatureSpec("zip3", "categorical", column="zip").column_name
    'zip'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from jointrec.errors import JointrecError

FeatureKind = Literal[
    "categorical", "multi_categorical", "text", "numeric", "bucketized", "timestamp"
]
KINDS: tuple[str, ...] = (
    "categorical",
    "multi_categorical",
    "text",
    "numeric",
    "bucketized",
    "timestamp",
)
#: Kinds encoded as indices into an embedding table (all but ``numeric``).
INDEXED_KINDS = ("categorical", "multi_categorical", "text", "bucketized", "timestamp")
#: Kinds with several indices per id.
MULTI_KINDS = ("multi_categorical", "text")


@dataclass(frozen=True)
class FeatureSpec:
    """How to encode one column of a `jointrec.data.FeatureTable`.

    Args:
        name: Feature name (unique within a tower).
        kind: One of `KINDS`.
        column: Table column to read; defaults to ``name``.
        min_count: Categories or tokens seen on fewer training ids become OOV.
        max_values: Indices kept per id for ``multi_categorical`` and ``text`` (the most
            frequent first).
        separator: Separator of ``multi_categorical`` values given as one string.
        boundaries: Bucket edges for ``bucketized`` (sorted); ``None`` uses quantiles.
        num_buckets: Quantile buckets when ``boundaries`` is ``None``.
        prefix: Keep only the first ``prefix`` characters of a categorical value (e.g. a
            zip code's region); ``0`` keeps it whole.
        missing_value: A number that means "unknown" in a numeric column (e.g. year 0).
    """

    name: str
    kind: FeatureKind
    column: str | None = None
    min_count: int = 1
    max_values: int = 8
    separator: str = "|"
    boundaries: tuple[float, ...] | None = None
    num_buckets: int = 10
    prefix: int = 0
    missing_value: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise JointrecError(
                f"feature {self.name!r} has kind {self.kind!r}: expected one of {KINDS}"
            )
        if not self.name:
            raise JointrecError("a feature needs a non-empty name")
        for field_name, low in (("min_count", 1), ("max_values", 1), ("num_buckets", 2)):
            value = getattr(self, field_name)
            if not isinstance(value, int) or value < low:
                raise JointrecError(
                    f"feature {self.name!r}: {field_name}={value!r} is invalid: "
                    f"expected an integer >= {low}"
                )
        if self.boundaries is not None:
            edges = tuple(float(b) for b in self.boundaries)
            if list(edges) != sorted(edges) or len(set(edges)) != len(edges):
                raise JointrecError(
                    f"feature {self.name!r}: boundaries={self.boundaries!r} must be strictly "
                    "increasing, e.g. (18, 25, 35)"
                )
            object.__setattr__(self, "boundaries", edges)
        if self.prefix < 0:
            raise JointrecError(f"feature {self.name!r}: prefix={self.prefix!r}: expected >= 0")

    @property
    def column_name(self) -> str:
        """The table column this feature reads."""
        return self.column or self.name

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; `from_dict` inverts it."""
        return {
            "name": self.name,
            "kind": self.kind,
            "column": self.column,
            "min_count": self.min_count,
            "max_values": self.max_values,
            "separator": self.separator,
            "boundaries": None if self.boundaries is None else list(self.boundaries),
            "num_buckets": self.num_buckets,
            "prefix": self.prefix,
            "missing_value": self.missing_value,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        """Rebuilds a spec from `to_dict` output (or a TOML table with the same keys)."""
        try:
            return cls(**data)
        except TypeError as err:
            raise JointrecError(f"bad feature declaration {data!r}: {err}") from None
