"""The run directory a run writes (``--out``): which folders ``--overwrite`` may replace, and
the lock that keeps two runs off one directory.

- ``--overwrite`` replaces only a run directory, one jointrec wrote (it holds an
  ``artifact.json``, or jointrec 0.1's ``manifest.json``, describing a jointrec artifact).
  Anything else that exists at ``--out`` (a file, a folder of yours, the current folder or
  one above it) is refused, and the message does not suggest overwriting it; an empty
  folder is simply used.
- `RunLock` holds an exclusive lock (filelock: ``flock`` on POSIX) on ``.<name>.lock`` beside
  the run directory for the whole run, and writes who holds it (pid, host, time, command)
  next to it. A second run on the same ``--out`` fails at once and names the holder. The
  operating system releases the lock when its process dies, so the file a killed run leaves
  is a stale lock, taken over by the next run; a run that ends removes it.

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "runs" / "joint"
    >>> check_out(out, overwrite=False)  # nothing there yet: fine
    >>> with RunLock(out):
    ...     pass
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout

from jointrec.errors import JointrecError

#: Files that mark a directory as a run directory jointrec wrote.
RUN_MARKERS = ("artifact.json", "manifest.json")
ARTIFACT_FORMAT = "jointrec-artifact"


def is_run_dir(path: Path) -> bool:
    """Whether ``path`` is a directory that jointrec wrote as a run (artifact) directory."""
    if not path.is_dir() or path.is_symlink():
        return False
    for marker in RUN_MARKERS:
        try:
            data = json.loads((path / marker).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and data.get("format") == ARTIFACT_FORMAT:
            return True
    return False


def check_out(out: Path, overwrite: bool) -> None:
    """Raises `JointrecError` unless a run may write ``out``.

    A missing path or an empty folder is fine; a run directory needs ``overwrite``; anything
    else is refused.
    """
    out = Path(out).expanduser()
    if not out.exists() and not out.is_symlink():
        return
    here = Path.cwd().resolve()
    resolved = out.resolve()
    if resolved == here or resolved in here.parents:
        raise JointrecError(
            f"--out {out} is the current folder{'' if resolved == here else ' or holds it'}, "
            "not a run directory: choose a new folder for the run, e.g. --out runs/joint"
        )
    if out.is_symlink() or not out.is_dir():
        raise JointrecError(
            f"--out {out} is a file, not a run directory: choose another --out (a new folder)"
        )
    if is_run_dir(out):
        if not overwrite:
            raise JointrecError(
                f"{out} already holds a run: pass --overwrite to replace it or choose another --out"
            )
        return
    contents = sorted(p.name for p in out.iterdir())
    if contents:
        shown = ", ".join(contents[:3]) + (", ..." if len(contents) > 3 else "")
        raise JointrecError(
            f"--out {out} is a folder jointrec did not write (it holds {shown}): choose "
            "another --out; --overwrite only replaces run directories"
        )


def lock_path(out: Path) -> Path:
    """The lock file of run directory ``out``: ``.<name>.lock`` beside it."""
    out = Path(out).expanduser().resolve()
    return out.with_name(f".{out.name}.lock")


class RunLock:
    """An exclusive lock on a run directory for as long as a run writes it.

    Args:
        out: The run directory (it need not exist; its parent is created).
        command: What holds the lock, shown to a run that finds it taken.
    """

    def __init__(self, out: Path, command: str | None = None) -> None:
        self.out = Path(out).expanduser()
        self.path = lock_path(self.out)
        self.holder = self.path.with_name(self.path.name + ".json")
        self.command = command
        self._lock: FileLock | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.path, timeout=0)
        try:
            lock.acquire()
        except Timeout:
            raise JointrecError(
                f"another run is writing {self.out} ({self._describe_holder()}): wait for it "
                "to finish, or choose another --out"
            ) from None
        self._lock = lock
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "command": self.command,
        }
        self.holder.write_text(json.dumps(info), encoding="utf-8")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._lock is not None:
            self.holder.unlink(missing_ok=True)
            # Removed so that a run leaves nothing behind. A newcomer that opened the file
            # in the microseconds before this could lock the removed file while a third run
            # locks a new one; runs start far apart in practice.
            self.path.unlink(missing_ok=True)
            self._lock.release()
            self._lock = None

    def _describe_holder(self) -> str:
        try:
            info: dict[str, Any] = json.loads(self.holder.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return "its holder did not say who it is yet"
        where = f"pid {info.get('pid')} on host {info.get('host')}"
        since = f", since {info.get('started')}" if info.get("started") else ""
        command = f": {info.get('command')}" if info.get("command") else ""
        return where + since + command
