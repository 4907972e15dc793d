"""Where dataset files come from: a zip or folder, the cache, or a verified download.

Resolution order for a release: an explicit path (zip or folder) -> the cache dir
(``$JOINTREC_DATA_DIR``, default ``~/.cache/jointrec``) -> a download from the official
source (pooch: streamed to a temporary file, checked against the published MD5, renamed
into the cache), extracted atomically next to it.

Example:
    >>> import os
    >>> str(cache_dir()).endswith("jointrec") or "JOINTREC_DATA_DIR" in os.environ
    True
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from jointrec.data.registry import MovieLensSpec
from jointrec.errors import JointrecError

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


def download(
    url: str, dest: Path, md5: str | None, *, progress: bool = True, timeout: float = 60.0
) -> Path:
    """Downloads ``url`` to ``dest`` with pooch and checks its MD5.

    pooch streams the file into a temporary sibling of ``dest``, checks the hash, and only
    then renames it into place, so ``dest`` is either complete and verified or absent.

    Args:
        url: Address to fetch (http or https).
        dest: Final path.
        md5: Expected MD5, or ``None`` to fetch ``url + ".md5"`` and use that.
        progress: Show a rich progress bar.
        timeout: Seconds to wait for the server.
    """
    import pooch
    import requests

    pooch.get_logger().setLevel("WARNING")  # it announces every download on stderr
    expected = md5 or _published_md5(url, timeout)
    bar = _RichBar(f"downloading {url.rsplit('/', 1)[-1]}") if progress else None
    downloader = pooch.HTTPDownloader(
        progressbar=bar if bar is not None else False, chunk_size=CHUNK, timeout=timeout
    )
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        found = pooch.retrieve(
            url,
            known_hash=f"md5:{expected}",
            fname=dest.name,
            path=dest.parent,
            downloader=downloader,
        )
    except ValueError as err:  # pooch: the hash differs (the temporary file is gone)
        got = re.search(r"but got ([0-9a-f]{32})", str(err))
        raise JointrecError(
            f"{url} downloaded with MD5 {got.group(1) if got else '(other)'}, expected "
            f"{expected}: the download is corrupt; try again"
        ) from None
    except (requests.RequestException, OSError) as err:
        raise JointrecError(
            f"could not download {url} ({err}): check the network, or pass a "
            "local copy with --data PATH"
        ) from None
    finally:
        if bar is not None:
            bar.close()
    return Path(found)


def _published_md5(url: str, timeout: float) -> str:
    import requests

    try:
        response = requests.get(url + ".md5", timeout=timeout)
        response.raise_for_status()
        text = response.text
    except requests.RequestException as err:
        raise JointrecError(
            f"could not fetch the checksum {url}.md5 ({err}): check the "
            "network, or pass a local copy with --data PATH"
        ) from None
    token = next((t for t in text.split() if len(t) == 32), None)
    if token is None:
        raise JointrecError(f"{url}.md5 holds no MD5 checksum: got {text[:80]!r}")
    return token.lower()


class _RichBar:
    """The progress bar pooch drives (tqdm's ``total``, ``update``, ``reset``, ``close``),
    drawn by rich on stderr."""

    def __init__(self, label: str) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TransferSpeedColumn,
        )

        self._progress: Progress | None = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(label, total=None)

    @property
    def total(self) -> float | None:
        return None if self._progress is None else self._progress.tasks[0].total

    @total.setter
    def total(self, value: float) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=value or None)

    def update(self, n: float) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def reset(self) -> None:
        if self._progress is not None:
            self._progress.reset(self._task)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


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
