"""Side features of users and items: declared specs, encoders fitted on training ids, and
a Keras tower that adds feature embeddings to the id embedding.

Example:
    >>> from jointrec.features import FeatureSpec, FeatureEncoder
    >>> spec = FeatureSpec("occupation", "categorical")
"""

from jointrec.data.feature_spec import KINDS, FeatureSpec
from jointrec.features.catalog import (
    MOVIELENS_ITEM_FEATURES,
    MOVIELENS_USER_FEATURES,
    available_features,
    select_features,
)
from jointrec.features.encoder import EncodedFeatures, FeatureEncoder

__all__ = [
    "KINDS",
    "MOVIELENS_ITEM_FEATURES",
    "MOVIELENS_USER_FEATURES",
    "EncodedFeatures",
    "FeatureEncoder",
    "FeatureSpec",
    "available_features",
    "select_features",
]
