"""Baselines in the box: the yardsticks a joint model must beat, NumPy/SciPy only.

Each is a `jointrec.scoring.scorer.Scorer`, so `jointrec.evaluation.evaluate` and
`jointrec.experiments.compare.compare` treat them like the joint model.
Hyperparameters are tuned on a validation part carved from the training split; the test
split is never read.

Example:
    >>> from jointrec.baselines import BASELINES
    >>> sorted(BASELINES)
    ['biased-mf', 'ease', 'ease-positive', 'i-autorec', 'popularity', 'recent-popularity']
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jointrec.baselines.autorec import IAutoRec
from jointrec.baselines.base import BaselineScorer, FitData, carve_validation, interaction_matrix
from jointrec.baselines.biased_mf import BiasedMF
from jointrec.baselines.ease import EASE
from jointrec.baselines.popularity import Popularity

if TYPE_CHECKING:
    from jointrec.scoring.scorer import Scorer


def popularity(data: FitData) -> Scorer:
    """Most-rated items first."""
    return Popularity.fit(data.train, len(data.items))


#: Share of the latest training rows recent popularity counts.
RECENT_WINDOW = 0.1


def recent_popularity(data: FitData) -> Scorer | None:
    """Most-rated items among the latest 10% of training rows, on splits by time; ``None``
    (not applicable) on a random split, whose training rows have no order in time."""
    if data.train.time is None:
        return None
    return Popularity.fit_recent(data.train, len(data.items), RECENT_WINDOW)


def biased_mf(data: FitData) -> Scorer:
    """Biased MF (ALS), penalty tuned on validation."""
    return BiasedMF.tuned(data.train, len(data.users), len(data.items))


def ease(data: FitData) -> Scorer:
    """EASE, lambda tuned on validation."""
    return EASE.tuned(data.train, len(data.users), len(data.items))


def ease_positive(data: FitData) -> Scorer:
    """EASE fitted on the positives: the cut and lambda tuned together on validation."""
    return EASE.tuned_positive(data.train, len(data.users), len(data.items))


def i_autorec(data: FitData) -> Scorer:
    """Item-based AutoRec (500 sigmoid units, Adam), its L2 penalty tuned on validation."""
    return IAutoRec.tuned(data.train, len(data.users), len(data.items))


#: Name -> factory, as `jointrec.experiments.compare.compare(baselines=...)` takes them.
BASELINES = {
    "popularity": popularity,
    "recent-popularity": recent_popularity,
    "biased-mf": biased_mf,
    "ease": ease,
    "ease-positive": ease_positive,
    "i-autorec": i_autorec,
}

__all__ = [
    "BASELINES",
    "EASE",
    "BaselineScorer",
    "BiasedMF",
    "FitData",
    "IAutoRec",
    "Popularity",
    "biased_mf",
    "carve_validation",
    "ease",
    "ease_positive",
    "i_autorec",
    "interaction_matrix",
    "popularity",
    "recent_popularity",
]
