"""Crash-safe file writing: a directory or file appears complete or not at all.

Everything is written to a temporary sibling, flushed with ``fsync``, renamed into place with
`os.replace` (atomic on POSIX), and the parent directory is synced so the rename survives a
power cut. A killed writer leaves at most a ``.NAME.tmp-*`` sibling, which readers ignore.

Example:
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> with atomic_directory(root / "out") as tmp:
    ...     write_json(tmp / "a.json", {"x": 1})
    >>> read_json(root / "out" / "a.json")
    {'x': 1}
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.errors import JointrecError

TMP_MARK = ".tmp-"


def fsync_path(path: Path) -> None:
    """Flushes one file or directory to disk (directories: where the OS allows it)."""
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if path.is_dir() else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def fsync_tree(root: Path) -> None:
    """Flushes every file under ``root``, then the directories themselves."""
    for path in sorted(root.rglob("*"), reverse=True):
        fsync_path(path)
    fsync_path(root)


@contextlib.contextmanager
def atomic_directory(target: Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yields an empty temporary directory that replaces ``target`` when the block succeeds.

    Args:
        target: Final directory.
        overwrite: Replace an existing ``target`` (only once the new one is complete).

    Raises:
        JointrecError: ``target`` exists and ``overwrite`` is false.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise JointrecError(f"{target} already exists: remove it or choose another path")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}{TMP_MARK}", dir=target.parent))
    try:
        tmp.chmod(0o777 & ~_umask())  # mkdtemp makes 0700; give the usual permissions
        yield tmp
        fsync_tree(tmp)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
            os.replace(target, old / target.name)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
        fsync_path(target.parent)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Writes one file atomically (temporary sibling, fsync, rename, fsync the folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}{TMP_MARK}", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(name, path)
        fsync_path(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def write_json(path: Path, data: Any) -> None:
    """Writes JSON (UTF-8, flushed to disk). NumPy scalars are converted."""
    text = json.dumps(data, indent=1, default=_to_json, allow_nan=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def read_json(path: Path, what: str = "file") -> Any:
    """Reads JSON, raising `JointrecError` naming the file when it is unreadable or corrupt."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JointrecError(f"{path} is missing: the {what} is incomplete") from None
    except (json.JSONDecodeError, UnicodeDecodeError, OSError, RecursionError) as err:
        raise JointrecError(
            f"{path} is corrupt ({_short(err)}): the {what} cannot be read"
        ) from None


def load_npz(path: Path, what: str = "file") -> dict[str, np.ndarray]:
    """Reads every array of an ``.npz`` without pickles (object arrays are refused).

    Raises:
        JointrecError: naming the file when it is missing, truncated, corrupt or holds
            pickled objects.
    """
    import zipfile
    import zlib

    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single .npy array, not an .npz archive")
        with data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise JointrecError(f"{path} is missing: the {what} is incomplete") from None
    except (
        OSError,
        ValueError,
        EOFError,
        KeyError,
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,
    ) as err:
        raise JointrecError(
            f"{path} is corrupt or unsafe ({_short(err)}): expected a NumPy .npz without "
            f"pickled objects; the {what} cannot be read"
        ) from None


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` would, racing threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _short(err: BaseException) -> str:
    text = str(err).replace("\n", " ")
    return text if len(text) <= 160 else text[:157] + "..."


def _to_json(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def sha256_hex(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks (`file_sha256` without the prefix)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """``"sha256:<hex>"`` of a file, read in 1 MiB blocks.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x"
        >>> _ = p.write_bytes(b"abc")
        >>> file_sha256(p)[:15]
        'sha256:ba7816bf'
    """
    return f"sha256:{sha256_hex(path)}"
