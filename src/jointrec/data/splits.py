"""Seeded, deterministic train/validation/test splits.

Each function returns row indices, so the parts are disjoint and their union is the input.

Example:
    >>> import numpy as np
    >>> from jointrec.data.interactions import Interactions
    >>> x = Interactions(user=np.arange(10) % 3, item=np.arange(10), rating=np.full(10, 3.0))
    >>> train, test = random_split(x, test_fraction=0.2, seed=42)
    >>> len(train), len(test)
    (8, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jointrec.data.interactions import Interactions
from jointrec.errors import JointrecError
from jointrec.settings import SplitConfig


@dataclass(frozen=True)
class Split:
    """Train, validation (possibly empty) and test interactions of one dataset."""

    train: Interactions
    validation: Interactions
    test: Interactions


def random_split_rows(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffles ``range(n)`` with ``seed``; the first ``round((1 - f) n)`` rows are train.

    This is the tutorial's protocol (shuffle all ratings once, take the first 80% for train).
    """
    perm = np.random.default_rng(seed).permutation(n)
    cut = round(n * (1.0 - test_fraction))
    return perm[:cut], perm[cut:]


def temporal_split_rows(
    timestamp: np.ndarray, test_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Global time cut: the latest ``test_fraction`` of rows (ties kept in input order) is test."""
    order = np.argsort(timestamp, kind="stable")
    cut = round(len(order) * (1.0 - test_fraction))
    return np.sort(order[:cut]), np.sort(order[cut:])


def leave_last_n_rows(
    user: np.ndarray, timestamp: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each user's last ``n`` interactions by time go to test; users with ``<= n`` keep all."""
    order = np.lexsort((np.arange(len(user)), timestamp, user))  # by user, then time, then row
    sorted_users = user[order]
    starts = np.r_[0, np.flatnonzero(sorted_users[1:] != sorted_users[:-1]) + 1]
    sizes = np.diff(np.r_[starts, len(order)])
    group_end = np.repeat(starts + sizes, sizes)
    position_from_end = group_end - np.arange(len(order))  # 1 for the last of each user
    in_test = (position_from_end <= n) & (np.repeat(sizes, sizes) > n)
    return np.sort(order[~in_test]), np.sort(order[in_test])


def random_split(
    x: Interactions, test_fraction: float = 0.2, seed: int = 42
) -> tuple[Interactions, Interactions]:
    """The tutorial's split: shuffle with ``seed``, first ``1 - test_fraction`` is train."""
    train, test = random_split_rows(len(x), test_fraction, seed)
    return x.take(train), x.take(test)


def temporal_split(
    x: Interactions, test_fraction: float = 0.2
) -> tuple[Interactions, Interactions]:
    """Global time cut: the latest ``test_fraction`` of interactions is test."""
    train, test = temporal_split_rows(_timestamps(x, "temporal"), test_fraction)
    return x.take(train), x.take(test)


def leave_last_n(x: Interactions, n: int = 1) -> tuple[Interactions, Interactions]:
    """Each user's ``n`` most recent interactions are test."""
    train, test = leave_last_n_rows(x.user, _timestamps(x, "leave_last_n"), n)
    return x.take(train), x.take(test)


def split_rows(x: Interactions, config: SplitConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns (train, validation, test) row indices of ``x`` under ``config``.

    The validation part is carved from train by the same method (with ``seed + 1`` for
    ``random``), so tuning never sees test rows.
    """
    if len(x) < 2:
        raise JointrecError(f"{x.source}: {len(x)} interactions cannot be split: expected >= 2")
    train, test = _outer_split(x, config, config.test_fraction, config.seed)
    validation = np.empty(0, dtype=np.int64)
    if config.validation_fraction > 0:
        inner_train, inner_val = _outer_split(
            x.take(train), config, config.validation_fraction, config.seed + 1
        )
        train, validation = train[inner_train], train[inner_val]
    if len(train) == 0 or len(test) == 0:
        raise JointrecError(
            f"{x.source}: split {config.method!r} left an empty train or test "
            f"part ({len(train)} / {len(test)} rows); use more data or another "
            "test_fraction"
        )
    return train, validation, test


def split(x: Interactions, config: SplitConfig) -> Split:
    """Splits ``x`` into train, validation and test under ``config``."""
    train, validation, test = split_rows(x, config)
    return Split(train=x.take(train), validation=x.take(validation), test=x.take(test))


def _outer_split(
    x: Interactions, config: SplitConfig, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    if config.method == "random":
        return random_split_rows(len(x), fraction, seed)
    if config.method == "temporal":
        return temporal_split_rows(_timestamps(x, "temporal"), fraction)
    return leave_last_n_rows(x.user, _timestamps(x, "leave_last_n"), config.leave_n)


def _timestamps(x: Interactions, method: str) -> np.ndarray:
    if x.timestamp is None:
        raise JointrecError(
            f"{x.source}: split {method!r} needs a timestamp column; "
            "use method 'random' or provide timestamps"
        )
    return x.timestamp


def recent_rows(times: np.ndarray | None, window: float) -> np.ndarray | None:
    """Indices of the latest ``window`` share of rows by time (ties in row order), or
    ``None`` for every row (``window`` 1, or no times).

    Example:
        >>> recent_rows(np.array([5, 1, 9, 3]), 0.5).tolist()
        [0, 2]
    """
    if times is None or window >= 1.0:
        return None
    order = np.argsort(np.asarray(times), kind="stable")
    return np.sort(order[round(len(order) * (1.0 - window)) :])
