"""The backend: everything that only one Keras backend can do, behind one small interface.

The rest of jointrec is backend-neutral (Keras ops and NumPy). What needs a specific
backend lives in one subpackage per backend (today `jointrec.backend.jax`), reached only
through the functions here, which pick the implementation for the backend in force and
fall back to plain Keras elsewhere:

- `step_runner`: compiled training steps, many per call (training's fast path); ``None``
  where the backend has none, and `jointrec.training.loop` then uses Keras ``fit``;
- `tower_outputs`: a tower's vectors for every index (exporting a model);
- `catalogue_ranker`: full-catalogue top-k for chunks of users (evaluation);
- `enable_compilation_cache`: a persistent cache of compiled programs;
- `ClusterSpec`, `join_cluster`, `using_cluster`, `active_cluster`: data-parallel training
  over several processes and devices.

Importing this module selects the JAX Keras backend unless ``KERAS_BACKEND`` says otherwise,
and imports nothing heavy (``import jointrec`` runs it).

Example:
    >>> ensure_backend() in {"jax", "tensorflow", "torch", "numpy"}
    True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from jointrec.backend.jax.cluster import Cluster, ClusterSpec

if TYPE_CHECKING:
    import keras

    from jointrec.model.joint_model import JointModel
    from jointrec.settings import TrainConfig

DEFAULT_BACKEND = "jax"

__all__ = [
    "Cluster",
    "ClusterSpec",
    "Ranker",
    "StepRunner",
    "active_cluster",
    "catalogue_ranker",
    "enable_compilation_cache",
    "ensure_backend",
    "join_cluster",
    "name",
    "step_runner",
    "tower_outputs",
    "using_cluster",
]


def ensure_backend() -> str:
    """Sets ``KERAS_BACKEND`` to JAX when unset and returns the backend in force."""
    return os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)


def name() -> str:
    """The Keras backend in force (``"jax"``, ``"tensorflow"``, ``"torch"``...)."""
    import keras

    return str(keras.backend.backend())


class StepRunner(Protocol):
    """Model and optimizer state held by the backend while training, and the compiled steps
    that update it; `jointrec.training.loop` drives it epoch by epoch.

    A runner may span several processes (data-parallel training): then each process feeds
    its own ``columns`` of every batch and every method is called by every process.
    """

    @property
    def is_chief(self) -> bool:
        """Whether this process reports progress and decides when to stop."""
        ...

    def columns(self, batch_size: int) -> tuple[int, int]:
        """The columns ``[lo, hi)`` of each ``[steps, batch_size]`` batch this process feeds."""
        ...

    def takes_distinct_ids(self, batch_size: int) -> bool:
        """Whether batches may carry each batch's distinct ids
        (`jointrec.training.batch_unique`)."""
        ...

    def run_overlapped(
        self, chunks: Iterable[dict[str, Any]], retrieval_weight: float, rating_weight: float
    ) -> Iterator[np.ndarray]:
        """Runs each chunk of batches, yielding each one's ``[steps, 3]`` losses (total,
        retrieval, rating); the next chunk is cut while the previous one runs."""
        ...

    def agree(self, flag: bool) -> bool:
        """The chief's ``flag`` on every process (e.g. whether to stop after this epoch)."""
        ...

    def write_back(self) -> None:
        """Copies the trained values into the model's variables."""
        ...

    def optimizer_values(self) -> list[np.ndarray]:
        """The optimizer's variables, e.g. for a checkpoint."""
        ...

    def set_optimizer_values(self, values: list[np.ndarray]) -> None:
        """Restores what `optimizer_values` returned."""
        ...


class Ranker(Protocol):
    """Full-catalogue ranking of chunks of users (`jointrec.evaluation.evaluate`)."""

    def rank(
        self,
        users: np.ndarray,
        seen: tuple[np.ndarray, np.ndarray],
        relevant: tuple[np.ndarray, np.ndarray],
        tutorial_k: int,
        chunk: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Top-k after masking ``seen``, whether each is finite, the unfiltered top
        ``tutorial_k``, and the rank of each row's best ``relevant`` item."""
        ...


def step_runner(
    model: JointModel,
    config: TrainConfig,
    make_optimizer: Callable[[], keras.optimizers.Optimizer],
    data: Any,
) -> StepRunner | None:
    """The compiled training steps for ``model``, or ``None`` where the backend has none.

    On JAX: one process's `jointrec.backend.jax.training.JaxTrainingState`, or, inside a
    joined cluster, the `jointrec.backend.jax.distributed.ShardedTrainingState` spread over
    its devices (which checks that every process holds the same ``data`` and settings).

    Args:
        model: A built model; its variables are read now.
        config: The training settings.
        make_optimizer: Builds a fresh optimizer from ``config``.
        data: The training examples (``user``, ``item``, ``label``, ``log_q`` columns).
    """
    if name() != "jax":
        return None
    cluster = active_cluster()
    if cluster is None:
        import keras

        from jointrec.backend.jax.training import JaxTrainingState

        optimizer_config = keras.optimizers.serialize(make_optimizer())
        return JaxTrainingState(model, optimizer_config, make_optimizer, config.embedding_updates)
    from jointrec.backend.jax.distributed import ShardedTrainingState

    return ShardedTrainingState.start(model, data, config, make_optimizer, cluster)


def tower_outputs(layer: keras.layers.Layer, n: int) -> np.ndarray:
    """``[n, dim]`` float32 outputs of a built tower for indices ``0..n-1`` (one compiled call
    per chunk on JAX; the layer called eagerly elsewhere)."""
    if name() == "jax":
        from jointrec.backend.jax.forward import tower_outputs as jax_outputs

        return jax_outputs(layer, n)
    import keras

    chunk = 65536
    return np.concatenate(
        [
            keras.ops.convert_to_numpy(layer(np.arange(lo, min(lo + chunk, n))))
            for lo in range(0, n, chunk)
        ]
    ).astype(np.float32)


def catalogue_ranker(user_vectors: np.ndarray, item_vectors: np.ndarray, k: int) -> Ranker | None:
    """A compiled full-catalogue ranker for dot-product scores, or ``None`` where the backend
    has none (evaluation then ranks with NumPy)."""
    if name() != "jax":
        return None
    from jointrec.backend.jax.ranker import JaxRanker

    return JaxRanker(user_vectors, item_vectors, k)


def enable_compilation_cache() -> Path | None:
    """Turns on the backend's persistent cache of compiled programs (once); returns its
    folder, or ``None`` where there is none. Call it before building a model: even the
    variables' initializers compile programs."""
    if name() != "jax":
        return None
    from jointrec.backend.jax.compilation_cache import enable_compilation_cache as enable

    return enable()


def active_cluster() -> Cluster | None:
    """The cluster training runs on, or ``None`` for ordinary single-device training."""
    from jointrec.backend.jax.cluster import active

    return active()


def join_cluster(spec: ClusterSpec) -> Cluster:
    """Joins the cluster ``spec`` describes (JAX distributed); every process calls it."""
    from jointrec.backend.jax.cluster import join

    return join(spec)


def using_cluster(spec: ClusterSpec) -> AbstractContextManager[Cluster]:
    """Joins for the duration of a block, then restores single-device training."""
    from jointrec.backend.jax.cluster import using

    return using(spec)


ensure_backend()
