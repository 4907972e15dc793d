"""Where dataset files come from: a zip or folder, the cache, or a verified download.

Resolution order for a release: an explicit path (zip or folder) -> the cache dir
(``$JOINTREC_DATA_DIR``, default ``~/.cache/jointrec``) -> download from the official source,
checked against the published MD5 and extracted atomically into the cache.

Example:
    >>> import os
    >>> str(cache_dir()).endswith("jointrec") or "JOINTREC_DATA_DIR" in os.environ
    True
"""

from __future__ import annotations

import hashlib
import os
import shutil
import struct
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from jointrec.data.registry import MovieLensSpec
from jointrec.errors import JointrecError

if TYPE_CHECKING:
    from rich.progress import Progress

CHUNK = 1 << 20


def cache_dir() -> Path:
    """The dataset cache: ``$JOINTREC_DATA_DIR`` or ``~/.cache/jointrec``."""
    return Path(os.environ.get("JOINTREC_DATA_DIR", "~/.cache/jointrec")).expanduser()


class FileSource:
    """Reads a release's files by name from a folder or a zip (read in place, never extracted).

    Args:
        path: A folder holding the files (directly or in one sub-folder), or a zip.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._zip_names: dict[str, str] | None = None
        if self.path.is_file():
            self._zip_names = _zip_members(self.path)
        elif not self.path.is_dir():
            raise JointrecError(
                f"data path {str(self.path)!r} does not exist: expected a zip "
                "or a folder of the dataset's files"
            )

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r})"

    def describe(self, name: str) -> str:
        """Human-readable location of ``name``, for error messages."""
        return f"{self.path}:{name}" if self._zip_names is not None else str(self._find(name))

    def has(self, name: str) -> bool:
        """Whether the file ``name`` is present."""
        if self._zip_names is not None:
            return name in self._zip_names
        return self._find(name).is_file()

    def read_bytes(self, name: str) -> bytes:
        """Returns the content of file ``name``."""
        if self._zip_names is not None:
            member = self._zip_names.get(name)
            if member is _AMBIGUOUS:
                raise JointrecError(
                    f"{self.path} holds several files named {name!r} in different folders: "
                    "expected one; pass the folder of the release you mean"
                )
            if member is None:
                raise JointrecError(
                    f"{self.path} has no file {name!r}: expected the "
                    f"dataset's files, found {sorted(self._zip_names)}"
                )
            try:
                with zipfile.ZipFile(self.path) as zf:
                    return zf.read(member)
            except _ZIP_ERRORS as err:
                raise JointrecError(
                    f"{self.path} is corrupt or truncated (reading {member!r}: {err}): "
                    "download it again"
                ) from None
        path = self._find(name)
        if not path.is_file():
            raise JointrecError(
                f"{self.path} has no file {name!r}: expected the dataset's "
                "files in this folder or one sub-folder"
            )
        try:
            return path.read_bytes()
        except OSError as err:
            raise JointrecError(f"{path} cannot be read ({err}): check its permissions") from None

    def _find(self, name: str) -> Path:
        direct = self.path / name
        if direct.exists():
            return direct
        for child in sorted(self.path.iterdir()):
            if child.is_dir() and (child / name).exists():
                return child / name
        return direct


def _zip_members(path: Path) -> dict[str, str]:
    """Maps base names to member names, refusing unsafe or corrupt archives."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except PermissionError as err:
        raise JointrecError(f"{path} cannot be read: {err}") from None
    except _ZIP_ERRORS:
        raise JointrecError(
            f"{path} is not a valid zip (corrupt or truncated): "
            "download it again or pass the extracted folder"
        ) from None
    names: dict[str, str] = {}
    for info in infos:
        check_member_name(path, info.filename)
        if info.is_dir() or info.filename.startswith("__MACOSX/"):
            continue
        base = PurePosixPath(info.filename.replace("\\", "/")).name
        if base in names and names[base] != info.filename:
            names[base] = _AMBIGUOUS
        else:
            names[base] = info.filename
    return names


# A base name that several members share: reading it is refused rather than guessed.
_AMBIGUOUS = "\0ambiguous"
# What zipfile raises on damaged archives, besides BadZipFile.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
    struct.error,
)


def check_member_name(archive: Path, name: str) -> None:
    """Raises `JointrecError` for absolute or ``..`` member names (path traversal)."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if (
        pure.is_absolute()
        or ".." in pure.parts
        or (len(name) > 1 and name[1] == ":")
        or "\0" in name
    ):
        raise JointrecError(
            f"{archive} holds an unsafe entry {name!r} (absolute path or '..'): "
            "refusing to read this archive"
        )


def md5_of(path: Path) -> str:
    """MD5 hex digest of a file."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def extract_atomically(archive: Path, target: Path) -> Path:
    """Extracts ``archive`` so that ``target`` appears complete or not at all.

    Member names are checked for traversal; the archive's CRCs are verified first.
    """
    members = _zip_members(archive)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        with zipfile.ZipFile(archive) as zf:
            bad = zf.testzip()
            if bad is not None:
                raise JointrecError(
                    f"{archive}: entry {bad!r} fails its CRC check "
                    "(corrupt download): download it again"
                )
            for base, member in members.items():
                if member is _AMBIGUOUS:
                    raise JointrecError(
                        f"{archive} holds several files named {base!r}: expected one"
                    )
                with zf.open(member) as src, open(tmp / base, "wb") as dst:
                    shutil.copyfileobj(src, dst, CHUNK)
                    dst.flush()
                    os.fsync(dst.fileno())
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except _ZIP_ERRORS as err:
        raise JointrecError(
            f"{archive} could not be extracted ({err}): download it again"
        ) from None
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


ProgressHook = Callable[[int, int | None], None]


def download(
    url: str, dest: Path, md5: str | None, *, progress: bool = True, timeout: float = 60.0
) -> Path:
    """Downloads ``url`` to ``dest`` atomically and checks its MD5.

    Args:
        url: Address to fetch.
        dest: Final path; a ``.part`` file is used until the checksum passes.
        md5: Expected MD5, or ``None`` to fetch ``url + ".md5"`` and use that.
        progress: Show a rich progress bar.
        timeout: Seconds to wait for the server.
    """
    expected = md5 or _published_md5(url, timeout)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(part, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with _progress_bar(progress, f"downloading {url.rsplit('/', 1)[-1]}", total) as hook:
                done = 0
                for block in iter(lambda: response.read(CHUNK), b""):
                    out.write(block)
                    digest.update(block)
                    done += len(block)
                    hook(done, total)
            out.flush()
            os.fsync(out.fileno())
    except OSError as err:
        part.unlink(missing_ok=True)
        raise JointrecError(
            f"could not download {url} ({err}): check the network, or pass a "
            "local copy with --data PATH"
        ) from None
    if digest.hexdigest() != expected:
        part.unlink(missing_ok=True)
        raise JointrecError(
            f"{url} downloaded with MD5 {digest.hexdigest()}, expected "
            f"{expected}: the download is corrupt; try again"
        )
    os.replace(part, dest)
    return dest


def _published_md5(url: str, timeout: float) -> str:
    try:
        with urllib.request.urlopen(url + ".md5", timeout=timeout) as response:
            text = response.read().decode("ascii", "replace")
    except OSError as err:
        raise JointrecError(
            f"could not fetch the checksum {url}.md5 ({err}): check the "
            "network, or pass a local copy with --data PATH"
        ) from None
    token = next((t for t in text.split() if len(t) == 32), None)
    if token is None:
        raise JointrecError(f"{url}.md5 holds no MD5 checksum: got {text[:80]!r}")
    return token.lower()


class _progress_bar:  # noqa: N801 - used as a context manager, reads like a function
    def __init__(self, enabled: bool, label: str, total: int | None) -> None:
        self.enabled, self.label, self.total = enabled, label, total
        self._progress: Progress | None = None

    def __enter__(self) -> ProgressHook:
        if not self.enabled:
            return lambda done, total: None
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            transient=True,
        )
        self._progress.start()
        task = self._progress.add_task(self.label, total=self.total)
        progress = self._progress
        return lambda done, total: progress.update(task, completed=done)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def resolve(
    spec: MovieLensSpec,
    path: str | os.PathLike[str] | None = None,
    *,
    allow_download: bool = True,
    progress: bool = True,
) -> FileSource:
    """Finds a release's files: explicit ``path`` -> cache -> verified download.

    Args:
        spec: The release.
        path: A zip or folder to read instead of the cache.
        allow_download: Download when the cache lacks the release.
        progress: Show a progress bar while downloading.
    """
    if path is not None:
        return FileSource(Path(path).expanduser())
    cached = cache_dir() / spec.folder
    if cached.is_dir() and all((cached / f.name).is_file() for f in spec.files):
        return FileSource(cached)
    archive = cache_dir() / f"{spec.folder}.zip"
    if not archive.is_file():
        if not allow_download:
            raise JointrecError(
                f"MovieLens {spec.name} is not in the cache {cache_dir()} and "
                "downloads are off: pass --data PATH to a local zip or folder"
            )
        download(spec.url, archive, spec.md5, progress=progress)
    return FileSource(extract_atomically(archive, cached))
