"""Shared parts of the baselines: the `Scorer` fields, sparse matrices, validation carving
and tuning."""

from __future__ import annotations

from collections.abc import Callable, Sequence, Sized
from dataclasses import dataclass
from typing import Protocol, TypeVar

import numpy as np
import scipy.sparse as sp

from jointrec.data.encoded import EncodedInteractions
from jointrec.data.splits import temporal_split_rows
from jointrec.evaluation.metrics import rmse

M = TypeVar("M", bound="BaselineScorer")


class FitData(Protocol):
    """What fitting a baseline needs: the encoded training interactions and the user and
    item vocabularies (`jointrec.experiments.pipeline.PreparedData` has them)."""

    @property
    def train(self) -> EncodedInteractions:
        """Training interactions as indices."""
        ...

    @property
    def users(self) -> Sized:
        """The user vocabulary (its length counts the unknown index 0)."""
        ...

    @property
    def items(self) -> Sized:
        """The item vocabulary."""
        ...


@dataclass
class BaselineScorer:
    """Base of the baselines: a named `jointrec.scoring.scorer.Scorer` over ``num_items`` indices.

    Subclasses override `score_users` (retrieval) and/or `predict_ratings` (rating).
    """

    name: str = "baseline"
    num_items: int = 0
    can_retrieve: bool = True
    can_rate: bool = False

    def score_users(self, users: np.ndarray) -> np.ndarray:
        """``[len(users), num_items]`` scores; subclasses that retrieve override this."""
        raise NotImplementedError(f"{self.name} does not retrieve")

    def predict_ratings(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Predicted stars; subclasses that rate override this."""
        raise NotImplementedError(f"{self.name} does not predict ratings")


def interaction_matrix(
    x: EncodedInteractions, num_users: int, num_items: int, values: np.ndarray | None = None
) -> sp.csr_matrix:
    """``[num_users, num_items]`` CSR matrix with 1 (or ``values``) at each pair (deduplicated).

    Example:
        >>> x = EncodedInteractions(np.array([1, 1]), np.array([2, 2]), None)
        >>> interaction_matrix(x, 2, 3).toarray().tolist()
        [[0.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    data = np.ones(len(x), dtype=np.float64) if values is None else np.asarray(values, float)
    m = sp.coo_matrix((data, (x.user, x.item)), shape=(num_users, num_items)).tocsr()
    if values is None:
        m.data[:] = 1.0
    m.sum_duplicates()
    return m


def carve_validation(
    x: EncodedInteractions, fraction: float = 0.1, seed: int = 43
) -> tuple[EncodedInteractions, EncodedInteractions]:
    """Splits training interactions into (fit, validation) for tuning: at random, or by time
    when the split was by time (``x.time`` set): the latest ``fraction`` is validation.

    Example:
        >>> x = EncodedInteractions(np.arange(10), np.arange(10), None)
        >>> fit, val = carve_validation(x, 0.2)
        >>> len(fit), len(val)
        (8, 2)
        >>> times = np.array([4, 1, 3, 2])
        >>> timed = EncodedInteractions(np.arange(4), np.arange(4), None, time=times)
        >>> carve_validation(timed, 0.25)[1].item.tolist()
        [0]
    """
    if x.time is not None:
        fit_rows, validation_rows = temporal_split_rows(x.time, fraction)
        return x.take(fit_rows), x.take(validation_rows)
    perm = np.random.default_rng(seed).permutation(len(x))
    cut = round(len(x) * (1.0 - fraction))
    return x.take(perm[:cut]), x.take(perm[cut:])


def tune_on_validation(
    train: EncodedInteractions,
    values: Sequence[float],
    fit: Callable[[EncodedInteractions, float], M],
    score: Callable[[M, EncodedInteractions, EncodedInteractions], float],
    *,
    higher_is_better: bool,
) -> tuple[M, dict[float, float]]:
    """Picks a hyperparameter on a validation part carved from ``train`` (the test split is
    never read), then refits on all of ``train``.

    Args:
        train: The training interactions.
        values: The hyperparameter's candidate values.
        fit: ``fit(interactions, value)``, the model fitted with that value.
        score: ``score(model, fit_part, validation)``, the model's validation score.
        higher_is_better: Whether the best value has the highest score (else the lowest).

    Returns:
        The model refitted on ``train`` with the best value, and each value's score.

    Example:
        >>> x = EncodedInteractions(np.arange(10), np.arange(10), None)
        >>> fit = lambda x, v: BaselineScorer(name=f"v={v:g}")
        >>> score = lambda model, fit_part, validation: abs(float(model.name[2:]) - 2)
        >>> model, scores = tune_on_validation(x, [1, 2, 3], fit, score, higher_is_better=False)
        >>> model.name, scores
        ('v=2', {1: 1.0, 2: 0.0, 3: 1.0})
    """
    fit_part, validation = carve_validation(train)
    scores = {value: score(fit(fit_part, value), fit_part, validation) for value in values}
    best = (max if higher_is_better else min)(scores, key=lambda k: scores[k])
    return fit(train, best), scores


def validation_rmse(
    model: BaselineScorer, fit_part: EncodedInteractions, validation: EncodedInteractions
) -> float:
    """RMSE of ``model``'s predicted stars on the validation ratings (the ``score`` of
    `tune_on_validation` for the rating baselines)."""
    assert validation.rating is not None
    return rmse(model.predict_ratings(validation.user, validation.item), validation.rating)
