"""`load_data`: reads the data a `jointrec.settings.DataConfig` names (a MovieLens release or
your own files) and returns it with the settings as resolved (absolute paths, the rating scale
and the feature kinds), so that a manifest can reproduce the run.

Example:
    >>> from jointrec.settings import DataConfig
    >>> dataset, resolved = load_data(DataConfig(path=ZIP))  # doctest: +SKIP
    >>> dataset.name  # doctest: +SKIP
    'movielens-100k'
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.data.feature_spec import FeatureSpec
from jointrec.data.feature_tables import read_feature_table
from jointrec.data.interactions import Dataset, FeatureTable, Interactions
from jointrec.data.movielens import load_movielens
from jointrec.data.tables import read_interactions
from jointrec.errors import JointrecError
from jointrec.settings.data import DataConfig, FeatureTableConfig


def feature_specs(table: FeatureTableConfig) -> list[FeatureSpec] | None:
    """The `FeatureSpec` list a feature table declares, or ``None`` to infer every column."""
    if not table.features:
        return None
    specs = []
    for name, value in table.features.items():
        options = {"kind": value} if isinstance(value, str) else dict(value)
        if not isinstance(options, dict) or "kind" not in options:
            raise JointrecError(
                f"feature {name!r} = {value!r} is invalid: expected a kind such as "
                "'numeric' or a table with 'kind' (and options such as 'separator')"
            )
        options = {k: v for k, v in options.items() if k != "name"}
        specs.append(FeatureSpec.from_dict({"name": name, **options}))
    return specs


def load_data(config: DataConfig, *, progress: bool = True) -> tuple[Dataset, DataConfig]:
    """Reads the data ``config`` names; returns it and the config as resolved.

    The resolved config has absolute paths, the rating scale in use and every feature's
    declared or inferred kind, so that reading it again gives the same dataset.

    Raises:
        JointrecError: for unreadable files, missing columns, wrong types, and feature
            tables whose ids do not match the interactions'.
    """
    if not config.own_data:
        variant = config.dataset.removeprefix("movielens-").removeprefix("ml-")
        path = None if config.path is None else str(Path(config.path).expanduser().resolve())
        return load_movielens(variant, path=path, progress=progress), config.replace(path=path)
    assert config.interactions is not None
    notes: list[str] = []
    interactions = read_interactions(
        _absolute(config.interactions),
        user_col=config.user_col,
        item_col=config.item_col,
        rating_col=config.rating_col,
        time_col=config.time_col,
        rating_scale=config.rating_scale,
        format=config.format,
        delimiter=config.delimiter,
        duplicates=config.duplicates,
        notes=notes,
    )
    resolved = config.replace(
        interactions=_absolute(config.interactions),
        rating_scale=interactions.rating_scale if interactions.has_ratings else None,
    )
    tables: dict[str, FeatureTable | None] = {"user": None, "item": None}
    for side in ("user", "item"):
        table_config: FeatureTableConfig | None = getattr(config, f"{side}_features")
        if table_config is None:
            continue
        table, table_config = _read_table(config, side, table_config)
        tables[side] = table
        resolved = resolved.replace(**{f"{side}_features": table_config})
    interactions, tables = _match_ids(interactions, tables)
    name = Path(resolved.interactions or "data").name
    dataset = Dataset(
        name, interactions, users=tables["user"], items=tables["item"], notes=tuple(notes)
    )
    return dataset, resolved


def _absolute(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def _read_table(
    config: DataConfig, side: str, table: FeatureTableConfig
) -> tuple[FeatureTable, FeatureTableConfig]:
    id_col = table.id_col or getattr(config, f"{side}_col")
    result = read_feature_table(
        _absolute(table.path),
        id_col=id_col,
        specs=feature_specs(table),
        format=table.format,
        delimiter=table.delimiter,
        role=f"{side} features",
        id_option=f"data.{side}_features.id_col",
    )
    declared = {spec["name"]: _short(spec) for spec in result.metadata["feature_specs"]}
    resolved = dataclasses.replace(
        table, path=_absolute(table.path), id_col=id_col, features=declared
    )
    return result, resolved


def _short(spec: dict[str, Any]) -> Any:
    """A spec without its name and default options; just the kind when nothing else is set."""
    defaults = {f.name: f.default for f in dataclasses.fields(FeatureSpec)}
    options = {
        k: v
        for k, v in spec.items()
        if k != "name" and v is not None and (k == "kind" or v != defaults.get(k))
    }
    return options["kind"] if list(options) == ["kind"] else options


def _match_ids(
    x: Interactions, tables: dict[str, FeatureTable | None]
) -> tuple[Interactions, dict[str, FeatureTable | None]]:
    """Gives the ids of the interactions and each table one type, and checks they overlap."""
    out: dict[str, FeatureTable | None] = {}
    for side, table in tables.items():
        if table is None:
            out[side] = None
            continue
        ids: np.ndarray = getattr(x, side)
        if (ids.dtype.kind == "i") != (table.ids.dtype.kind == "i"):
            # "42" in one file and 42 in the other are the same id: compare them as text.
            changes: dict[str, Any] = {side: ids.astype(str)}
            x = dataclasses.replace(x, **changes)
            table = dataclasses.replace(table, ids=table.ids.astype(str))
            ids = getattr(x, side)
        known = np.isin(ids, table.ids)
        if not known.any():
            raise JointrecError(
                f"{side} features {table.source!r} match none of the interactions' {side} ids: "
                f"the table has ids such as {_sample(table.ids)} but the interactions have "
                f"{_sample(ids)}; check the id column (data.{side}_features.id_col) and that "
                "both files use the same ids"
            )
        out[side] = table
    return x, out


def _sample(ids: np.ndarray) -> str:
    return ", ".join(repr(v.item() if isinstance(v, np.generic) else v) for v in ids[:3])


def coverage(x: Interactions, table: FeatureTable, side: str) -> float:
    """Share of the interactions' distinct ``side`` ids that have a row in ``table``.

    Example:
        >>> x = Interactions(np.array([1, 2, 3]), np.array([1, 1, 1]))
        >>> coverage(x, FeatureTable(np.array([1, 2, 9])), "user")
        0.6666666666666666
    """
    ids = np.unique(getattr(x, side))
    return float(np.isin(ids, table.ids).mean())
