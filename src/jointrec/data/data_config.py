"""`DataConfig`: which data a run trains on (a MovieLens release or your own files), and
`load_data`, which reads it and returns the settings as resolved (absolute paths, the rating
scale and the feature kinds), so that a manifest can reproduce the run.

Example:
    >>> cfg = DataConfig(interactions="events.csv", user_col="u", item_col="i")
    >>> cfg.own_data, cfg.replace(rating_col="r").rating_col
    (True, 'r')
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.data.interactions import Dataset, FeatureTable, Interactions
from jointrec.errors import JointrecError


@dataclass(frozen=True)
class FeatureTableConfig:
    """A user or item feature table.

    Args:
        path: CSV or Parquet file, one row per id.
        id_col: Column of ids; ``None`` uses the interactions' user (or item) column name.
        features: Feature name -> kind (``"numeric"``) or a mapping of `FeatureSpec` fields
            (``{"kind": "multi_categorical", "separator": ";"}``); empty: infer every column.
        format: ``"auto"``, ``"csv"``, ``"tsv"`` or ``"parquet"``.
        delimiter: CSV separator.
    """

    path: str
    id_col: str | None = None
    features: dict[str, Any] = field(default_factory=dict)
    format: str = "auto"
    delimiter: str | None = None

    def specs(self) -> list[Any] | None:
        """The declared `FeatureSpec` list, or ``None`` to infer."""
        from jointrec.data.feature_spec import FeatureSpec

        if not self.features:
            return None
        specs = []
        for name, value in self.features.items():
            options = {"kind": value} if isinstance(value, str) else dict(value)
            if not isinstance(options, dict) or "kind" not in options:
                raise JointrecError(
                    f"feature {name!r} = {value!r} is invalid: expected a kind such as "
                    "'numeric' or a table with 'kind' (and options such as 'separator')"
                )
            options = {k: v for k, v in options.items() if k != "name"}
            specs.append(FeatureSpec.from_dict({"name": name, **options}))
        return specs


@dataclass(frozen=True)
class DataConfig:
    """The data of a run.

    Args:
        interactions: Your interaction log (CSV or Parquet); ``None`` uses MovieLens.
        user_col: Column of user ids.
        item_col: Column of item ids.
        rating_col: Column of ratings; ``None`` trains retrieval only.
        time_col: Column of times (for temporal splits).
        rating_scale: ``(low, high)``; ``None`` infers it from the ratings.
        format: Format of ``interactions``: ``"auto"``, ``"csv"``, ``"tsv"``, ``"parquet"``.
        delimiter: CSV separator of ``interactions``.
        user_features: User feature table, or ``None``.
        item_features: Item feature table, or ``None``.
        dataset: MovieLens release when ``interactions`` is ``None`` (``100k``, ``1m``...).
        path: Local zip or folder of that release (``None``: cache, then download).
    """

    interactions: str | None = None
    user_col: str = "user"
    item_col: str = "item"
    rating_col: str | None = None
    time_col: str | None = None
    rating_scale: tuple[float, float] | None = None
    format: str = "auto"
    delimiter: str | None = None
    user_features: FeatureTableConfig | None = None
    item_features: FeatureTableConfig | None = None
    dataset: str = "100k"
    path: str | None = None

    def __post_init__(self) -> None:
        if self.rating_scale is not None:
            object.__setattr__(self, "rating_scale", tuple(float(v) for v in self.rating_scale))
        for name in ("user_features", "item_features"):
            value = getattr(self, name)
            if isinstance(value, dict):
                object.__setattr__(self, name, _table_config(name, value))
            elif isinstance(value, str):
                object.__setattr__(self, name, FeatureTableConfig(path=value))
        if self.interactions is None and (self.user_features or self.item_features):
            raise JointrecError(
                "feature tables (user_features / item_features) need your own interactions: "
                "set data.interactions (--interactions) too"
            )
        if self.interactions is not None and self.path is not None:
            raise JointrecError(
                f"both an interactions file ({self.interactions!r}) and a MovieLens path "
                f"({self.path!r}, --data) are set: keep one of them"
            )

    @property
    def own_data(self) -> bool:
        """Whether the run reads your files rather than MovieLens."""
        return self.interactions is not None

    def replace(self, **changes: Any) -> DataConfig:
        """A copy with some fields replaced."""
        return dataclasses.replace(self, **changes)

    def files(self) -> list[str]:
        """The data files this config reads (for hashing)."""
        if not self.own_data:
            return [] if self.path is None else [self.path]
        paths = [self.interactions]
        paths += [t.path for t in (self.user_features, self.item_features) if t is not None]
        return [str(p) for p in paths]

    def to_dict(self) -> dict[str, Any]:
        """Plain data without unset (``None``) or unused settings; `from_dict` restores it."""
        out = dataclasses.asdict(self)
        if self.rating_scale is not None:
            out["rating_scale"] = list(self.rating_scale)
        for key in ("user_features", "item_features"):
            if out[key] is not None:
                out[key] = {k: v for k, v in out[key].items() if v is not None}
        unused = ("dataset", "path") if self.own_data else ("interactions", *_OWN_FIELDS)
        return {k: v for k, v in out.items() if v is not None and k not in unused}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DataConfig:
        """Rebuilds a config (unknown keys are an error)."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise JointrecError(
                f"unknown data settings {sorted(unknown)}: expected some of {sorted(names)}"
            )
        return cls(**data)


_OWN_FIELDS = (
    "user_col",
    "item_col",
    "rating_col",
    "time_col",
    "rating_scale",
    "format",
    "delimiter",
    "user_features",
    "item_features",
)


def _table_config(name: str, value: dict[str, Any]) -> FeatureTableConfig:
    names = {f.name for f in dataclasses.fields(FeatureTableConfig)}
    unknown = set(value) - names
    if unknown or "path" not in value:
        raise JointrecError(
            f"data.{name} = {value!r} is invalid: expected 'path' and optionally "
            f"{sorted(names - {'path'})}"
        )
    return FeatureTableConfig(**value)


def load_data(config: DataConfig, *, progress: bool = True) -> tuple[Dataset, DataConfig]:
    """Reads the data ``config`` names; returns it and the config as resolved.

    The resolved config has absolute paths, the rating scale in use and every feature's
    declared or inferred kind, so that reading it again gives the same dataset.

    Raises:
        JointrecError: for unreadable files, missing columns, wrong types, and feature
            tables whose ids do not match the interactions'.
    """
    if not config.own_data:
        from jointrec.data.movielens import load_movielens

        variant = config.dataset.removeprefix("movielens-").removeprefix("ml-")
        path = None if config.path is None else str(Path(config.path).expanduser().resolve())
        return load_movielens(variant, path=path, progress=progress), config.replace(path=path)
    from jointrec.data.tables import read_interactions

    assert config.interactions is not None
    interactions = read_interactions(
        _absolute(config.interactions),
        user_col=config.user_col,
        item_col=config.item_col,
        rating_col=config.rating_col,
        time_col=config.time_col,
        rating_scale=config.rating_scale,
        format=config.format,
        delimiter=config.delimiter,
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
    dataset = Dataset(name, interactions, users=tables["user"], items=tables["item"])
    return dataset, resolved


def _absolute(path: str) -> str:
    return str(Path(path).expanduser().resolve())


def _read_table(
    config: DataConfig, side: str, table: FeatureTableConfig
) -> tuple[FeatureTable, FeatureTableConfig]:
    from jointrec.data.feature_tables import read_feature_table

    id_col = table.id_col or getattr(config, f"{side}_col")
    result = read_feature_table(
        _absolute(table.path),
        id_col=id_col,
        specs=table.specs(),
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
    from jointrec.data.feature_spec import FeatureSpec

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
