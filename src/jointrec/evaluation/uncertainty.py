"""Results over seeds: each model's mean and spread, and paired differences with a 95%
confidence interval (Student's t over the seeds: each seed is one split and one training).

Example:
    >>> summary([0.90, 0.92, 0.88]).mean
    0.9
    >>> d = paired([0.88, 0.89, 0.87], [0.90, 0.92, 0.88], higher_is_better=False)
    >>> round(d.mean, 4), d.wins
    (-0.02, 3)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy import stats

#: Metrics where lower is better; every other metric is higher-is-better.
LOWER_IS_BETTER = frozenset({"rmse", "mae"})


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and the values of one metric over seeds."""

    mean: float
    std: float
    values: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True)
class PairedDifference:
    """``a - b`` per seed (the same split and seed for both), its mean, a 95% t-interval,
    and the seeds on which ``a`` is better (``wins``) out of ``n``."""

    mean: float
    low: float
    high: float
    wins: int
    n: int
    values: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def summary(values: Sequence[float]) -> Summary:
    """`Summary` of ``values`` (std 0 for a single value)."""
    x = np.asarray(values, dtype=np.float64)
    std = float(x.std(ddof=1)) if len(x) > 1 else 0.0
    return Summary(round(float(x.mean()), 12), std, tuple(float(v) for v in x))


def paired(
    a: Sequence[float], b: Sequence[float], higher_is_better: bool, level: float = 0.95
) -> PairedDifference:
    """The paired difference ``a - b`` over seeds with a two-sided ``level`` t-interval.

    Args:
        a: One model's metric per seed.
        b: The other model's metric on the same seeds, in the same order.
        higher_is_better: Whether a positive difference favours ``a``.
        level: Confidence level of the interval.

    Example (hand-worked: differences 1, 2, 3; mean 2, sd 1, t(0.975, 2) = 4.303):
        >>> d = paired([2, 4, 6], [1, 2, 3], higher_is_better=True)
        >>> round(d.low, 3), round(d.high, 3)
        (-0.484, 4.484)
    """
    if len(a) != len(b) or len(a) == 0:
        raise ValueError(f"paired() needs two equal, non-empty lists, got {len(a)} and {len(b)}")
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    mean = float(d.mean())
    if len(d) > 1:
        half = float(stats.t.ppf(0.5 + level / 2, len(d) - 1)) * float(d.std(ddof=1))
        half /= math.sqrt(len(d))
    else:
        half = float("nan")
    better = d > 0 if higher_is_better else d < 0
    return PairedDifference(
        round(mean, 12),
        mean - half,
        mean + half,
        int(better.sum()),
        len(d),
        tuple(float(v) for v in d),
    )
