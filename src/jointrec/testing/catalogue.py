"""Synthetic item catalogues of any size, shaped like a trained model's item vectors."""

from __future__ import annotations

import numpy as np


def synthetic_catalogue(
    base: np.ndarray,
    size: int,
    *,
    noise: float = 0.5,
    normalize: bool = True,
    seed: int = 0,
    chunk: int = 262_144,
) -> np.ndarray:
    """``[size, d]`` float32 vectors: trained item vectors, each copied with Gaussian noise.

    Item ``j`` is ``base[c_j] + noise * s * z_j`` with ``c_j`` drawn uniformly, ``z_j``
    standard normal and ``s`` the per-dimension spread of ``base``: a catalogue with the
    clustered geometry of real learned embeddings (random isotropic vectors would be
    unrealistically hard for graph indexes), scaled to any size.

    Args:
        base: ``[m, d]`` trained item vectors (e.g. an artifact's ``item_vectors[1:]``).
        size: Items to generate.
        noise: Noise scale relative to the spread of ``base``.
        normalize: Scale rows to unit length (as an L2-normalised model does).
        seed: Random seed.
        chunk: Rows generated at once (bounds temporary memory).

    Example:
        >>> base = np.eye(4, dtype=np.float32)
        >>> synthetic_catalogue(base, 10, seed=1).shape
        (10, 4)
    """
    base = np.asarray(base, dtype=np.float32)
    rng = np.random.default_rng(seed)
    spread = base.std(axis=0, keepdims=True).astype(np.float32)
    out = np.empty((size, base.shape[1]), dtype=np.float32)
    for lo in range(0, size, chunk):
        n = min(chunk, size - lo)
        block = base[rng.integers(0, len(base), n)]
        block += noise * spread * rng.standard_normal((n, base.shape[1]), dtype=np.float32)
        if normalize:
            block /= np.maximum(np.linalg.norm(block, axis=1, keepdims=True), 1e-12)
        out[lo : lo + n] = block
    return out
