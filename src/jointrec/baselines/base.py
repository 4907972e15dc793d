"""Shared parts of the baselines: the `Scorer` fields, sparse matrices, validation carving."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from jointrec.data.encoded import EncodedInteractions


@dataclass
class BaselineScorer:
    """Base of the baselines: a named `jointrec.scoring.Scorer` over ``num_items`` indices.

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
    """Splits training interactions into (fit, validation) at random, for tuning.

    Example:
        >>> x = EncodedInteractions(np.arange(10), np.arange(10), None)
        >>> fit, val = carve_validation(x, 0.2)
        >>> len(fit), len(val)
        (8, 2)
    """
    perm = np.random.default_rng(seed).permutation(len(x))
    cut = round(len(x) * (1.0 - fraction))
    return x.take(perm[:cut]), x.take(perm[cut:])
