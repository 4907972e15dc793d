"""`tower_outputs`: a tower's vectors for every index in one compiled JAX call.

Exporting a model runs both towers over the whole vocabulary. Called eagerly, every Keras
op of a feature tower compiles on its own the first time (dozens of small XLA programs,
seconds of CPU); one `jax.jit` of the whole forward pass compiles once, and is reused by
every later tower of the same architecture (the three models of ``jointrec compare``).
This is the JAX-specific part of exporting (`jointrec.backend.tower_outputs`).

Example:
    >>> import numpy as np
    >>> from jointrec.model import EmbeddingTower
    >>> tower = EmbeddingTower(vocabulary_size=4, embedding_dim=2)
    >>> tower.build((None,))
    >>> tower_outputs(tower, 4).shape
    (4, 2)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jax
import keras
import numpy as np

_FORWARDS: dict[str, Callable[..., Any]] = {}
CHUNK = 65536


def tower_outputs(layer: keras.layers.Layer, n: int) -> np.ndarray:
    """``[n, dim]`` float32 outputs of ``layer`` for indices ``0..n-1``.

    Args:
        layer: A built tower mapping integer ids to vectors.
        n: Number of indices (the vocabulary size).
    """
    forward = _forward(layer)
    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]
    parts = [
        np.asarray(forward(trainable, non_trainable, np.arange(lo, min(lo + CHUNK, n))))
        for lo in range(0, n, CHUNK)
    ]
    return np.concatenate(parts).astype(np.float32)


def _forward(layer: keras.layers.Layer) -> Callable[..., Any]:
    """The compiled stateless forward pass of ``layer``'s architecture (cached)."""

    key = json.dumps([type(layer).__name__, layer.get_config()], sort_keys=True, default=str)
    forward = _FORWARDS.get(key)
    if forward is None:
        template = layer

        def tower_forward(trainable: list[Any], non_trainable: list[Any], ids: Any) -> Any:
            return template.stateless_call(trainable, non_trainable, ids)[0]

        forward = _FORWARDS[key] = jax.jit(tower_forward)
    return forward
