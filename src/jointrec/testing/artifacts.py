"""A small artifact with planted vectors, written in milliseconds without training.

Serving, indexes and the web page are tested on it: its numbers are arbitrary but fixed
by the seed, so every answer can be recomputed by an independent NumPy reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from jointrec.data.vocabulary import Vocabulary
from jointrec.scoring.exported import ExportedModel
from jointrec.scoring.seen import SeenItems
from jointrec.settings import preset

GENRES = ("Action", "Comedy", "Drama", "Sci-Fi")


def planted_artifact(
    path: str | Path,
    *,
    users: int = 30,
    items: int = 60,
    dim: int = 8,
    seen_per_user: int = 6,
    seed: int = 0,
    overwrite: bool = False,
    newcomers: int = 0,
    newcomer_popularity: float = 0.5,
    shrinkage: float = 0.0,
) -> Path:
    """Writes an artifact with random unit vectors, a small random rating head and seen items.

    User ids are ``1..users`` and item ids ``101..100+items`` (so user and item ids never
    coincide); item ``101 + j`` is titled ``"Movie j (19xx)"``. Item popularity decreases
    with the id: user ``u`` rated items drawn with probability proportional to ``1/rank``.
    With ``newcomers``, the last that many users have rated nothing and the model carries
    the popularity prior for them (`jointrec.artifact.export.popularity_prior`). With
    ``shrinkage``, each user's ratings are shrunk towards the average user's
    (`jointrec.artifact.export.add_rating_shrinkage`, ``rating.shrinkage``).

    Example:
        >>> import tempfile
        >>> art = planted_artifact(Path(tempfile.mkdtemp()) / "art")
        >>> (art / "exported.npz").is_file()
        True
    """
    from jointrec.artifact.directory import save_artifact

    rng = np.random.default_rng(seed)

    def unit(n: int) -> np.ndarray:
        x = rng.normal(size=(n, dim)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    hidden = 16
    mlp = [
        (
            rng.normal(scale=0.3, size=(2 * dim, hidden)).astype(np.float32),
            np.asarray(rng.normal(scale=0.1, size=hidden), dtype=np.float32),
        ),
        (
            rng.normal(scale=0.3, size=(hidden, 1)).astype(np.float32),
            np.array([0.5], dtype=np.float32),
        ),
    ]
    exported = ExportedModel(
        user_embeddings=unit(users + 1),
        item_embeddings=unit(items + 1),
        mlp=mlp,
        user_bias=rng.normal(scale=0.05, size=users + 1).astype(np.float32),
        item_bias=rng.normal(scale=0.05, size=items + 1).astype(np.float32),
        offset=0.1,
        l2_normalize=True,
        name="planted",
    )
    weights = 1.0 / np.arange(1, items + 1)
    weights /= weights.sum()
    rows_u, rows_i, rows_r = [], [], []
    for u in range(1, users + 1 - newcomers):
        chosen = rng.choice(np.arange(1, items + 1), size=seen_per_user, replace=False, p=weights)
        rows_u += [u] * seen_per_user
        rows_i += chosen.tolist()
        rows_r += rng.integers(1, 6, size=seen_per_user).astype(float).tolist()
    if newcomers:
        from jointrec.artifact.export import popularity_prior

        prior = popularity_prior((np.array(rows_u), np.array(rows_i)), users + 1, items + 1,
                               newcomer_popularity)  # fmt: skip
        exported.user_prior, exported.item_prior = prior["user_prior"], prior["item_prior"]
    if shrinkage:
        from jointrec.artifact.export import add_rating_shrinkage

        add_rating_shrinkage(exported, np.array(rows_u), shrinkage)
    item_ids = np.arange(101, 101 + items)
    table = [
        {
            "id": int(i),
            "title": f"Movie {j} ({1950 + j % 50})",
            "year": 1950 + j % 50,
            "genres": [GENRES[j % len(GENRES)], GENRES[(j // 4) % len(GENRES)]][: 1 + j % 2],
        }
        for j, i in enumerate(item_ids)
    ]
    return save_artifact(
        path,
        config=preset("default"),
        exported=exported,
        users=Vocabulary(np.arange(1, users + 1), name="user"),
        items=Vocabulary(item_ids, name="item"),
        item_table=table,
        seen=SeenItems(
            np.array(rows_u), np.array(rows_i), users + 1, values=np.array(rows_r, dtype=np.float32)
        ),
        metrics={"rmse": 0.95, "recall@10": 0.2, "ndcg@10": 0.25},
        data_info={"dataset": "planted", "train": len(rows_u)},
        overwrite=overwrite,
    )
