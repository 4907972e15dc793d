"""Datasets, vocabularies and splits.

Example:
    >>> from jointrec.data import Vocabulary, random_split
"""

from jointrec.data.interactions import Dataset, FeatureTable, Interactions
from jointrec.data.movielens import load_movielens
from jointrec.data.registry import MOVIELENS, MovieLensSpec, ReleaseFile
from jointrec.data.sources import cache_dir
from jointrec.data.splits import (
    Split,
    leave_last_n,
    random_split,
    split,
    split_rows,
    temporal_split,
)
from jointrec.data.vocabulary import Vocabulary

__all__ = [
    "MOVIELENS",
    "Dataset",
    "FeatureTable",
    "Interactions",
    "MovieLensSpec",
    "ReleaseFile",
    "Split",
    "Vocabulary",
    "cache_dir",
    "leave_last_n",
    "load_movielens",
    "random_split",
    "split",
    "split_rows",
    "temporal_split",
]
