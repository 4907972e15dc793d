"""Helpers of the reliability suite: tiny ML-100k archives, a CLI runner, a small config."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENRES = 19

# One small architecture for every in-process training test, so JAX compiles it once.
SMALL = {
    "model": {"embedding_dim": 8, "layer_sizes": [16]},
    "train": {"batch_size": 64, "epochs": 3},
}


def item_line(item: int, flags: list[str] | None = None, title: str | None = None) -> str:
    """One ``u.item`` line (19 genre flags)."""
    flags = flags or ["0"] * GENRES
    title = title if title is not None else f"Movie {item} (1995)"
    return f"{item}|{title}|01-Jan-1995||http://x|" + "|".join(flags)


def write_ml100k_zip(
    path: Path,
    ratings: bytes | str,
    items: bytes | str | None = None,
    users: bytes | str | None = None,
    *,
    num_items: int = 9,
    num_users: int = 9,
) -> Path:
    """A zip in the ML-100k layout with the given file contents (defaults: valid tables)."""
    if items is None:
        items = "\n".join(item_line(i) for i in range(1, num_items + 1)) + "\n"
    if users is None:
        users = "\n".join(
            f"{u}|{18 + u % 60}|M|writer|{10000 + u}" for u in range(1, num_users + 1)
        )
        users += "\n"

    def as_bytes(x: bytes | str, encoding: str) -> bytes:
        return x if isinstance(x, bytes) else x.encode(encoding)

    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ml-100k/u.data", as_bytes(ratings, "utf-8"))
        zf.writestr("ml-100k/u.item", as_bytes(items, "latin-1"))
        zf.writestr("ml-100k/u.user", as_bytes(users, "utf-8"))
    return path


def run_cli(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Runs ``python -m jointrec ARGS`` in a fresh process (this checkout's code)."""
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "KERAS_BACKEND": "jax"}
    return subprocess.run(
        [sys.executable, "-m", "jointrec", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
