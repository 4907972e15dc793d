"""`DataConfig`: which data a run trains on, a MovieLens release or your own files.

Reading the data is `jointrec.data.load_data`'s job; these are only the settings, so that an
experiment file, a manifest and the command line all describe the data the same way.

Example:
    >>> cfg = DataConfig(interactions="events.csv", user_col="u", item_col="i")
    >>> cfg.own_data, cfg.replace(rating_col="r").rating_col
    (True, 'r')
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from jointrec.errors import JointrecError
from jointrec.settings.fields import check_fields

TableFormat = Literal["auto", "csv", "tsv", "parquet"]
Duplicates = Literal["error", "keep_last", "keep_first"]


@dataclass(frozen=True)
class FeatureTableConfig:
    """A user or item feature table.

    Args:
        path: CSV or Parquet file, one row per id.
        id_col: Column of ids; ``None`` uses the interactions' user (or item) column name.
        features: Feature name -> kind (``"numeric"``) or a mapping of
            `jointrec.data.FeatureSpec` fields (``{"kind": "multi_categorical", "separator":
            ";"}``); empty: infer every column.
        format: ``"auto"``, ``"csv"``, ``"tsv"`` or ``"parquet"``.
        delimiter: CSV separator.
    """

    path: str
    id_col: str | None = None
    features: dict[str, Any] = field(default_factory=dict)
    format: TableFormat = "auto"
    delimiter: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)


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
        duplicates: A (user, item) pair on several rows of ``interactions`` is an
            ``"error"``, or ``"keep_last"`` / ``"keep_first"`` keeps one row of each.
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
    format: TableFormat = "auto"
    delimiter: str | None = None
    duplicates: Duplicates = "error"
    user_features: FeatureTableConfig | None = None
    item_features: FeatureTableConfig | None = None
    dataset: str = "100k"
    path: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)
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
    "duplicates",
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
