"""Planted-structure data every model variant must recover."""

from __future__ import annotations

import numpy as np

from jointrec.data.interactions import Dataset, FeatureTable, Interactions


def checkerboard(n: int = 24, repeats: int = 1) -> Dataset:
    """Even users like even items and odd users odd items; the diagonal is held out.

    User ``u`` (ids ``1..n``) rated every item of its parity except item ``u`` with 5 stars.
    With already-rated items excluded, the only unseen item of the user's parity is ``u``,
    so a model that learned the structure ranks item ``u`` first for user ``u``.

    Args:
        n: Users and items (ids ``1..n``).
        repeats: Copies of each rating (more gradient steps per epoch on tiny data).

    Example:
        >>> ds = checkerboard(4)
        >>> sorted(zip(ds.interactions.user.tolist(), ds.interactions.item.tolist()))
        [(1, 3), (2, 4), (3, 1), (4, 2)]
    """
    users, items = np.meshgrid(np.arange(1, n + 1), np.arange(1, n + 1), indexing="ij")
    keep = ((users % 2) == (items % 2)) & (users != items)
    u = np.tile(users[keep], repeats)
    i = np.tile(items[keep], repeats)
    x = Interactions(
        user=u,
        item=i,
        rating=np.full(len(u), 5.0, dtype=np.float32),
        timestamp=np.arange(len(u)),
        source="checkerboard",
    )
    titles = np.array([f"item {j}" for j in range(1, n + 1)])
    items_table = FeatureTable(
        ids=np.arange(1, n + 1), columns={"title": titles}, source="checkerboard items"
    )
    return Dataset(name="checkerboard", interactions=x, items=items_table)
