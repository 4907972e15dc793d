"""Which features a dataset offers: declared specs, or the MovieLens defaults.

A `FeatureTable` declares its features in ``metadata["feature_specs"]`` (a list of
`FeatureSpec.to_dict` mappings); tables without that get the MovieLens specs for the
columns they have (the MovieLens loaders produce exactly those columns).

Example:
    >>> sorted(MOVIELENS_USER_FEATURES), sorted(MOVIELENS_ITEM_FEATURES)
    (['age', 'gender', 'occupation', 'zip'], ['genres', 'title', 'year'])
"""

from __future__ import annotations

from collections.abc import Sequence

from jointrec.data.feature_spec import FeatureSpec
from jointrec.data.interactions import FeatureTable
from jointrec.errors import JointrecError

#: Feature selection meaning "every feature the table offers".
AUTO = "auto"

#: MovieLens users: age in the ML-1M age groups, gender, occupation, zip-code region.
MOVIELENS_USER_FEATURES: dict[str, FeatureSpec] = {
    "age": FeatureSpec("age", "bucketized", boundaries=(18, 25, 35, 45, 50, 56)),
    "gender": FeatureSpec("gender", "categorical"),
    "occupation": FeatureSpec("occupation", "categorical"),
    "zip": FeatureSpec("zip", "categorical", prefix=2, min_count=2),
}
#: MovieLens movies: genres (multi-hot), release year (decile buckets), title words.
MOVIELENS_ITEM_FEATURES: dict[str, FeatureSpec] = {
    "genres": FeatureSpec("genres", "multi_categorical", max_values=6),
    "year": FeatureSpec("year", "bucketized", num_buckets=10, missing_value=0),
    "title": FeatureSpec("title", "text", min_count=2, max_values=8),
}


def available_features(table: FeatureTable | None) -> dict[str, FeatureSpec]:
    """Specs of the features ``table`` offers, by name."""
    if table is None:
        return {}
    declared = table.metadata.get("feature_specs")
    if declared is not None:
        specs = [s if isinstance(s, FeatureSpec) else FeatureSpec.from_dict(s) for s in declared]
        return {s.name: s for s in specs}
    known = {**MOVIELENS_USER_FEATURES, **MOVIELENS_ITEM_FEATURES}
    return {name: spec for name, spec in known.items() if spec.column_name in table.columns}


def select_features(
    table: FeatureTable | None, names: Sequence[str], side: str
) -> list[FeatureSpec]:
    """The specs called ``names`` among ``table``'s features, with a clear error otherwise.

    ``names == ("auto",)`` selects every feature the table offers (none without a table).

    Example:
        >>> select_features(None, ["auto"], "user")
        []
    """
    if not names:
        return []
    offered = available_features(table)
    if tuple(names) == (AUTO,):
        return list(offered.values())
    missing = [n for n in names if n not in offered]
    if missing:
        raise JointrecError(
            f"{side} features {missing} are not available: this dataset's {side} table offers "
            f"{sorted(offered) or 'none'}; drop them from the {side}_features setting"
        )
    return [offered[n] for n in names]
