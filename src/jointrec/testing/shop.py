"""A small planted "shop" in CSV or Parquet files: the kind of data users bring.

Users (``u000``...) fall in two taste groups: group 0 likes books, group 1 likes games. Each
user has ``per_user`` interactions, all but one in eight with items of the liked category
(rated 4 or 5 stars), the rest with the other category (rated 1 or 2), at increasing times. So
retrieval can learn which items a user will pick, and the rating task how they will like them.
The feature tables hold each declared feature kind, with the taste group visible in
``interests`` (users) and ``category`` (items).

Example:
    >>> import tempfile
    >>> files = write_shop(tempfile.mkdtemp(), users=4, items=8, per_user=4)
    >>> sorted(files)
    ['events', 'items', 'users']
    >>> files["events"].read_text().splitlines()[0]
    'user,item,stars,time'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

CATEGORIES = ("books", "games")
START = 1_700_000_000


def shop_group(user: str) -> int:
    """Taste group of a user id written by `write_shop` (0 likes books, 1 games)."""
    return int(user[1:]) % 2


def write_shop(
    folder: str | os.PathLike[str],
    *,
    users: int = 100,
    items: int = 40,
    per_user: int = 8,
    ratings: bool = True,
    fmt: str = "csv",
    seed: int = 0,
    cold_items: int = 0,
) -> dict[str, Path]:
    """Writes ``events``, ``users`` and ``items`` tables; returns their paths.

    Args:
        folder: Where to write (created if needed).
        users: Number of users, ids ``u000``, ``u001``, ...
        items: Number of items, ids ``b00``... (books, even) and ``g01``... (games, odd).
        per_user: Interactions per user (at most half the catalogue).
        ratings: Write the ``stars`` column (else implicit feedback).
        fmt: ``"csv"`` or ``"parquet"``.
        seed: Seed of the random choices.
        cold_items: Extra items (ids ``b90``, ``g91``...) in the item table only: nobody
            interacted with them, so only their features can place them.
    """
    rng = np.random.default_rng(seed)
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    item_ids = [f"{'bg'[j % 2]}{j:02d}" for j in range(items)]
    by_category = [[j for j in range(items) if j % 2 == c] for c in (0, 1)]
    liked = max(1, per_user - max(1, per_user // 8))
    events: dict[str, list[Any]] = {"user": [], "item": [], "stars": [], "time": []}
    for u in range(users):
        group = u % 2
        chosen = [
            *((j, True) for j in rng.choice(by_category[group], liked, replace=False)),
            *((j, False) for j in rng.choice(by_category[1 - group], per_user - liked, False)),
        ]
        for t, k in enumerate(rng.permutation(len(chosen))):
            j, likes = chosen[k]
            events["user"].append(f"u{u:03d}")
            events["item"].append(item_ids[j])
            events["stars"].append(int(rng.integers(4, 6) if likes else rng.integers(1, 3)))
            events["time"].append(START + 3600 * (t * users + u))
    if not ratings:
        del events["stars"]
    interests = [
        "|".join(
            sorted({CATEGORIES[u % 2], *rng.choice(["music", "sport", "travel"], 2, replace=False)})
        )
        for u in range(users)
    ]
    user_table: dict[str, list[Any]] = {
        "user": [f"u{u:03d}" for u in range(users)],
        "age": [int(rng.integers(18, 70)) for _ in range(users)],
        "country": [str(rng.choice(["de", "fr", "jp", "us"])) for _ in range(users)],
        "interests": interests,
        "signup": [
            np.datetime_as_string(np.datetime64(START - int(rng.integers(0, 10**8)), "s"))
            for _ in range(users)
        ],
    }
    item_ids += [f"{'bg'[j % 2]}{90 + j}" for j in range(cold_items)]
    categories = [CATEGORIES[j % 2] for j in range(items)]
    categories += [CATEGORIES[j % 2] for j in range(cold_items)]
    item_table: dict[str, list[Any]] = {
        "item": item_ids,
        "category": categories,
        "price": [round(float(rng.uniform(5, 60)), 2) for _ in item_ids],
        "tags": [
            "|".join(rng.choice(["new", "sale", "classic", "gift"], 2, replace=False))
            for _ in item_ids
        ],
        "title": [
            f"{rng.choice(['The', 'A', 'Our'])} {rng.choice(['Red', 'Last', 'Big'])} "
            f"{['Story', 'Quest'][c == 'games']}"
            for c in categories
        ],
        "released": [START - 86400 * int(rng.integers(0, 3000)) for _ in item_ids],
    }
    return {
        name: _write(root / name, table, fmt)
        for name, table in (("events", events), ("users", user_table), ("items", item_table))
    }


def _write(stem: Path, table: dict[str, list[Any]], fmt: str) -> Path:
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = stem.with_suffix(".parquet")
        pq.write_table(pa.table(table), path)
        return path
    path = stem.with_suffix(".csv")
    names = list(table)
    lines = [",".join(names)]
    lines += [",".join(str(table[n][r]) for n in names) for r in range(len(table[names[0]]))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
