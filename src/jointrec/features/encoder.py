"""`FeatureEncoder`: turns `FeatureTable` columns into integer codes and standardised numbers.

The encoder is fitted on the ids of the TRAINING split only (category vocabularies, token
vocabularies, numeric statistics and quantile buckets), then encodes every row of a
`jointrec.data.Vocabulary`, so that row ``j`` of each encoded array belongs to index ``j``
(row 0, the unknown id, has no values). Conventions of the codes:

- ``0``: no value (missing row or column value, padding of multi-valued features);
- ``1``: out of vocabulary (a category or token not seen on the training ids);
- ``2..``: known categories, or buckets ``1..`` for ``bucketized`` and ``timestamp``.

Example:
    >>> import numpy as np
    >>> from jointrec.data import FeatureTable, Vocabulary
    >>> from jointrec.data.feature_spec import FeatureSpec
    >>> table = FeatureTable(ids=np.array([1, 2, 3]),
    ...                      columns={"job": np.array(["doctor", "artist", "pilot"])})
    >>> enc = FeatureEncoder([FeatureSpec("job", "categorical")]).fit(table, np.array([1, 2]))
    >>> enc.transform(table, Vocabulary(np.array([1, 2, 3]))).arrays["job"].tolist()
    [0, 3, 2, 1]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jointrec.data.feature_spec import MULTI_KINDS, FeatureSpec
from jointrec.data.interactions import FeatureTable
from jointrec.data.vocabulary import Vocabulary
from jointrec.errors import JointrecError

NO_VALUE = 0
OOV = 1
_TOKEN = re.compile(r"[0-9a-z]+")


@dataclass
class EncodedFeatures:
    """Encoded features of every index of a vocabulary.

    Args:
        arrays: Feature name -> ``[n]`` int32 codes, ``[n, width]`` int32 codes (multi-valued)
            or ``[n]`` float32 values (numeric); ``n`` is the vocabulary length.
        specs: The specs, by name.
        input_dims: Feature name -> rows its embedding table needs (codes are below it);
            0 for numeric features.
    """

    arrays: dict[str, np.ndarray]
    specs: dict[str, FeatureSpec]
    input_dims: dict[str, int] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values()))) if self.arrays else 0

    def layout(self) -> dict[str, dict[str, Any]]:
        """What a `FeatureTower` needs to know: kind, input dim and width per feature."""
        return {
            name: {
                "kind": self.specs[name].kind,
                "input_dim": self.input_dims[name],
                "width": int(array.shape[1]) if array.ndim == 2 else 1,
            }
            for name, array in self.arrays.items()
        }


@dataclass
class _Fitted:
    categories: dict[str, int] = field(default_factory=dict)  # value -> code (>= 2)
    mean: float = 0.0
    std: float = 1.0
    edges: np.ndarray = field(default_factory=lambda: np.empty(0))


class FeatureEncoder:
    """Fits encodings of some feature columns on training ids and applies them.

    Args:
        specs: The features to encode (names unique).
    """

    def __init__(self, specs: Sequence[FeatureSpec]) -> None:
        names = [s.name for s in specs]
        if len(set(names)) != len(names):
            raise JointrecError(f"feature names must be unique, got {names}")
        self.specs = list(specs)
        self._fitted: dict[str, _Fitted] | None = None

    def fit(self, table: FeatureTable, ids: np.ndarray) -> FeatureEncoder:
        """Learns vocabularies and statistics from the rows of ``table`` whose ids are in
        ``ids`` (the ids seen in training). Returns ``self``."""
        rows = _rows(table, np.unique(np.asarray(ids)))
        rows = rows[rows >= 0]
        fitted: dict[str, _Fitted] = {}
        for spec in self.specs:
            column = _column(table, spec)
            state = _Fitted()
            if spec.kind in ("categorical", *MULTI_KINDS):
                counts: Counter[str] = Counter()
                for values in _values(table, column, spec, rows):
                    counts.update(set(values))
                kept = sorted(v for v, c in counts.items() if c >= spec.min_count)
                state.categories = {v: j + 2 for j, v in enumerate(kept)}
            else:
                numbers = _numbers(column, spec, rows)
                numbers = numbers[np.isfinite(numbers)]
                if spec.kind == "numeric":
                    state.mean = float(numbers.mean()) if len(numbers) else 0.0
                    std = float(numbers.std()) if len(numbers) else 0.0
                    state.std = std if std > 0 else 1.0
                elif spec.boundaries is not None:
                    state.edges = np.asarray(spec.boundaries, dtype=np.float64)
                elif len(numbers):
                    qs = np.linspace(0.0, 1.0, spec.num_buckets + 1)[1:-1]
                    state.edges = np.unique(np.quantile(numbers, qs))
            fitted[spec.name] = state
        self._fitted = fitted
        return self

    def transform(self, table: FeatureTable | None, vocabulary: Vocabulary) -> EncodedFeatures:
        """Encodes the features of every index of ``vocabulary`` (ids missing from
        ``table``, and index 0, get no values)."""
        if self._fitted is None:
            raise JointrecError("FeatureEncoder.transform called before fit: call fit first")
        n = len(vocabulary)
        rows = np.full(n, -1, dtype=np.int64)
        if table is not None:
            rows[1:] = _rows(table, vocabulary.ids)
        arrays: dict[str, np.ndarray] = {}
        dims: dict[str, int] = {}
        for spec in self.specs:
            state = self._fitted[spec.name]
            present = np.flatnonzero(rows >= 0)
            if spec.kind in ("categorical", *MULTI_KINDS):
                dims[spec.name] = len(state.categories) + 2
                width = 1 if spec.kind == "categorical" else spec.max_values
                codes = np.zeros((n, width), dtype=np.int32)
                if table is not None:
                    column = _column(table, spec)
                    for j, values in zip(
                        present, _values(table, column, spec, rows[present]), strict=True
                    ):
                        row = list(dict.fromkeys(state.categories.get(v, OOV) for v in values))
                        codes[j, : min(width, len(row))] = row[:width]
                arrays[spec.name] = codes[:, 0] if spec.kind == "categorical" else codes
            else:
                numbers = np.full(n, np.nan)
                if table is not None:
                    numbers[present] = _numbers(_column(table, spec), spec, rows[present])
                known = np.isfinite(numbers)
                if spec.kind == "numeric":
                    dims[spec.name] = 0
                    scaled = np.where(known, (numbers - state.mean) / state.std, 0.0)
                    arrays[spec.name] = scaled.astype(np.float32)
                else:
                    dims[spec.name] = len(state.edges) + 2
                    bucket = 1 + np.searchsorted(
                        state.edges, np.where(known, numbers, 0.0), "right"
                    )
                    arrays[spec.name] = np.where(known, bucket, NO_VALUE).astype(np.int32)
        return EncodedFeatures(arrays, {s.name: s for s in self.specs}, dims)

    def fit_transform(
        self, table: FeatureTable, train_ids: np.ndarray, vocabulary: Vocabulary
    ) -> EncodedFeatures:
        """`fit` on ``train_ids`` then `transform` ``vocabulary``."""
        return self.fit(table, train_ids).transform(table, vocabulary)


def _rows(table: FeatureTable, ids: np.ndarray) -> np.ndarray:
    """Row of each id in ``table`` (-1 when absent)."""
    ids = np.asarray(ids)
    if len(table.ids) == 0 or len(ids) == 0:
        return np.full(len(ids), -1, dtype=np.int64)
    if (ids.dtype.kind in "iu") != (table.ids.dtype.kind in "iu"):
        raise JointrecError(
            f"{table.source}: ids are {table.ids.dtype.kind!r}-typed but the interactions' ids "
            f"are {ids.dtype.kind!r}-typed: use the same id type (integers or strings) in both"
        )
    order = np.argsort(table.ids, kind="stable")
    sorted_ids = table.ids[order]
    pos = np.clip(np.searchsorted(sorted_ids, ids), 0, len(sorted_ids) - 1)
    return np.where(sorted_ids[pos] == ids, order[pos], -1)


def _column(table: FeatureTable, spec: FeatureSpec) -> np.ndarray:
    return np.asarray(table.column(spec.column_name))


def _values(
    table: FeatureTable, column: np.ndarray, spec: FeatureSpec, rows: np.ndarray
) -> list[list[str]]:
    """The categorical values (as strings) of ``rows``."""
    if spec.kind == "categorical":
        out = []
        for v in column[rows]:
            text = "" if v is None else str(v).strip()
            if spec.prefix:
                text = text[: spec.prefix]
            out.append([text] if text and text.lower() != "nan" else [])
        return out
    if spec.kind == "text":
        return [_TOKEN.findall(str(v).lower()) if v is not None else [] for v in column[rows]]
    if column.ndim == 2:
        names = list(table.metadata.get(spec.column_name, range(column.shape[1])))
        if len(names) != column.shape[1]:
            raise JointrecError(
                f"{table.source}: multi-hot feature {spec.column_name!r} has {column.shape[1]} "
                f"columns but metadata names {len(names)} values"
            )
        return [[str(names[k]) for k in np.flatnonzero(row)] for row in column[rows]]
    out = []
    for v in column[rows]:
        if v is None:
            out.append([])
        elif isinstance(v, str):
            out.append([t.strip() for t in v.split(spec.separator) if t.strip()])
        else:
            out.append([str(t) for t in v])
    return out


def _numbers(column: np.ndarray, spec: FeatureSpec, rows: np.ndarray) -> np.ndarray:
    try:
        numbers = np.asarray(column[rows], dtype=np.float64)
    except (TypeError, ValueError):
        raise JointrecError(
            f"feature {spec.name!r} of kind {spec.kind!r} needs numbers, but column "
            f"{spec.column_name!r} holds e.g. {column[rows][:1].tolist()!r}: declare it "
            "'categorical' or fix the column"
        ) from None
    if spec.missing_value is not None:
        numbers[numbers == spec.missing_value] = np.nan
    return numbers
