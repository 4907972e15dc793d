"""Writes small archives in the GroupLens ML-100k layout, for loader tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

GENRES = 19


def write_tiny_ml100k(
    path: Path,
    *,
    users: int = 6,
    items: int = 8,
    seed: int = 0,
    ratings_text: str | None = None,
    folder: str = "ml-100k",
) -> Path:
    """Writes a zip with ``u.data``, ``u.item``, ``u.user`` like the real release.

    Args:
        path: Zip file to write.
        users: Number of users (ids ``1..users``).
        items: Number of movies (ids ``1..items``).
        seed: Seed of the random ratings.
        ratings_text: Replaces the generated ``u.data`` content (for malformed-input tests).
        folder: Folder inside the zip.

    Example:
        >>> import tempfile
        >>> p = write_tiny_ml100k(Path(tempfile.mkdtemp()) / "t.zip")
        >>> p.name
        't.zip'
    """
    rng = np.random.default_rng(seed)
    lines: list[str] = []
    for u in range(1, users + 1):
        for i in rng.choice(np.arange(1, items + 1), size=max(2, items // 2), replace=False):
            lines.append(f"{u}\t{i}\t{rng.integers(1, 6)}\t{880000000 + len(lines)}")
    data = ratings_text if ratings_text is not None else "\n".join(lines) + "\n"
    movie_lines = []
    for i in range(1, items + 1):
        flags = ["0"] * GENRES
        flags[1 + i % (GENRES - 1)] = "1"
        title = f"Movie {i} ({1990 + i})" if i != items else "Caf\xe9 Society (1996)"
        movie_lines.append(f"{i}|{title}|01-Jan-{1990 + i}||http://x|" + "|".join(flags))
    ages = [20 + u % 50 for u in range(1, users + 1)]  # plausible ages (checked on load)
    user_lines = [
        f"{u}|{ages[u - 1]}|{'MF'[u % 2]}|engineer|{10000 + u}" for u in range(1, users + 1)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{folder}/u.data", data)
        zf.writestr(f"{folder}/u.item", ("\n".join(movie_lines) + "\n").encode("latin-1"))
        zf.writestr(f"{folder}/u.user", "\n".join(user_lines) + "\n")
    return path
