"""Feature tables from your own files: one row per user (or item), one column per feature.

`read_feature_table` reads a CSV or Parquet file into a `FeatureTable` whose
``metadata["feature_specs"]`` declares each feature's kind, so that the feature encoders
(`jointrec.features`, fitted on the training split only) and towers can use it. Kinds are
declared (`jointrec.features.FeatureSpec`) or inferred from the column types: numbers are
``numeric``, text ``categorical``, dates and timestamps ``timestamp``, lists
``multi_categorical``. Missing cells are allowed (a feature without a value).

Example:
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "users.csv"
    >>> _ = path.write_text("user,age,country\\nann,31,de\\nbob,,fr\\n")
    >>> table = read_feature_table(path, id_col="user")
    >>> [(s["name"], s["kind"]) for s in table.metadata["feature_specs"]]
    [('age', 'numeric'), ('country', 'categorical')]
    >>> table.columns["age"].tolist(), table.columns["country"].tolist()
    ([31.0, nan], ['de', 'fr'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from jointrec.data.feature_spec import FeatureSpec
from jointrec.data.interactions import FeatureTable
from jointrec.data.tables import TableFile, id_column, read_columns, wrong_type
from jointrec.errors import JointrecError

#: Kinds read as text (CSV cells keep leading zeros).
TEXT_KINDS = ("categorical", "multi_categorical", "text")
NUMBER_KINDS = ("numeric", "bucketized")


def infer_specs(file: TableFile, id_col: str) -> list[FeatureSpec]:
    """One spec per column other than ``id_col``, its kind inferred from the column type."""
    import pyarrow as pa

    schema = _schema(file)
    specs = []
    for name in schema.names:
        if name == id_col:
            continue
        kind = _kind_of(schema.field(name).type, pa)
        if kind is None:
            raise JointrecError(
                f"{file.role} file {str(file.path)!r}: cannot infer the kind of column "
                f"{name!r} ({schema.field(name).type}): declare it (categorical, numeric, "
                "multi_categorical, text or timestamp) in the experiment file"
            )
        specs.append(FeatureSpec.from_dict({"name": name, "kind": kind}))
    return specs


def _kind_of(dtype: Any, pa: Any) -> str | None:
    if pa.types.is_dictionary(dtype):
        return "categorical"
    if pa.types.is_integer(dtype) or pa.types.is_floating(dtype) or pa.types.is_decimal(dtype):
        return "numeric"
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype):
        return "categorical"
    if pa.types.is_boolean(dtype):
        return "categorical"
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        return "timestamp"
    if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
        return "multi_categorical"
    return None


def _schema(file: TableFile) -> Any:
    from pathlib import Path

    path = Path(file.path).expanduser()
    if not path.is_file():
        raise JointrecError(
            f"{file.role} file {str(file.path)!r} does not exist: expected a CSV or Parquet file"
        )
    if file.resolved_format == "parquet":
        import pyarrow.parquet as pq

        return pq.read_schema(path)
    import pyarrow.csv as pacsv

    delimiter = file.delimiter or ("\t" if file.resolved_format == "tsv" else ",")
    try:
        with pacsv.open_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter)) as r:
            return r.schema
    except Exception as err:  # pyarrow raises several types for unreadable files
        message = " ".join(str(err).split())
        raise JointrecError(
            f"{file.role} file {str(file.path)!r} cannot be read as csv: {message}"
        ) from None


def read_feature_table(
    path: str | os.PathLike[str],
    *,
    id_col: str,
    specs: Sequence[FeatureSpec] | None = None,
    format: str = "auto",
    delimiter: str | None = None,
    role: str = "features",
    id_option: str = "id_col",
) -> FeatureTable:
    """Reads a feature table; ``specs`` declare the features (``None``: infer all columns).

    Args:
        path: CSV or Parquet file with one row per id.
        id_col: Column of user or item ids (must match the interactions' ids).
        specs: The features to read and their kinds; ``None`` infers them.
        format: ``"auto"`` (from the extension), ``"csv"``, ``"tsv"`` or ``"parquet"``.
        delimiter: CSV separator.
        role: What the table is (``"user features"``), for messages.
        id_option: Setting that names ``id_col``, quoted when the column is missing.

    Raises:
        JointrecError: for a missing column, duplicate or empty ids, or a value whose type
            does not fit its declared kind.
    """
    file = TableFile(path, format=format, delimiter=delimiter, role=role)
    specs = list(infer_specs(file, id_col) if specs is None else specs)
    wanted = {id_col: id_option}
    for spec in specs:
        wanted.setdefault(spec.column_name, f"feature {spec.name!r}")
    text = tuple(s.column_name for s in specs if s.kind in TEXT_KINDS)
    data = read_columns(file, wanted, strings=(id_col, *text))
    ids = id_column(file, id_col, data[id_col])
    columns = {}
    for spec in specs:
        if spec.column_name not in columns:
            columns[spec.column_name] = _feature_column(file, spec, data[spec.column_name])
    return FeatureTable(
        ids=ids,
        columns=columns,
        source=str(path),
        metadata={"feature_specs": [spec.to_dict() for spec in specs]},
    )


def _feature_column(file: TableFile, spec: FeatureSpec, array: Any) -> np.ndarray:
    import pyarrow as pa

    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    dtype = array.type
    if spec.kind in TEXT_KINDS:
        if pa.types.is_list(dtype) or pa.types.is_large_list(dtype):
            if spec.kind != "multi_categorical":
                wrong_type(file, spec.column_name, array, f"text for the {spec.kind} feature")
            values = array.to_pylist()
            out = np.empty(len(values), dtype=object)
            out[:] = [None if v is None else [str(t) for t in v if t is not None] for v in values]
            return out
        values = array.to_pylist()
        return np.array([None if v is None else str(v) for v in values], dtype=object)
    if pa.types.is_timestamp(dtype) or pa.types.is_date(dtype):
        if spec.kind != "timestamp":
            wrong_type(file, spec.column_name, array, f"numbers for the {spec.kind} feature")
        seconds = array.cast(pa.timestamp("s"), safe=False) if pa.types.is_date(dtype) else array
        seconds = seconds.cast(pa.timestamp("s"), safe=False).cast(pa.int64())
        return _with_nan(seconds)
    if (
        pa.types.is_integer(dtype)
        or pa.types.is_floating(dtype)
        or pa.types.is_decimal(dtype)
        or pa.types.is_boolean(dtype)
    ):
        return _with_nan(array.cast(pa.float64()))
    what = "seconds or date-times" if spec.kind == "timestamp" else "numbers"
    return wrong_type(
        file,
        spec.column_name,
        array,
        f"{what} for the {spec.kind} feature {spec.name!r} (or declare it categorical)",
    )


def _with_nan(array: Any) -> np.ndarray:
    import pyarrow as pa

    return np.asarray(array.cast(pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
