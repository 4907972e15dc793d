"""`serving`: ``jointrec serve`` as a real process on a free loopback port (tests, benchmarks).

Example:
    >>> with serving("runs/joint") as (port, process):  # doctest: +SKIP
    ...     urllib.request.urlopen(f"http://127.0.0.1:{port}/health").status
    200
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(
    artifact: str | os.PathLike[str], *extra: str, timeout: float = 120.0
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """Yields ``(port, process)`` once ``/health`` answers; stops the server afterwards.

    Args:
        artifact: Artifact directory.
        extra: More ``jointrec serve`` options.
        timeout: Seconds to wait for the server to answer.
    """
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "jointrec", "serve", str(artifact), "--port", str(port), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{proc.stdout.read().decode()}")  # type: ignore[union-attr]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield port, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
