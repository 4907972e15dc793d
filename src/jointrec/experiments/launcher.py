"""Runs ``jointrec train`` as N cooperating processes on this machine, and watches them.

Worker ``i`` runs ``python -m jointrec train ... --num-processes N --process-id i
--coordinator 127.0.0.1:PORT``. Worker 0 writes to this terminal; the others write to log
files. The first worker to fail stops all of them (SIGKILL) and `launch`
raises `JointrecError` naming it, so a crash never leaves the others waiting; an optional
overall timeout bounds a run that hangs.

Example:
    >>> launch(["train", "--data", "ml-100k.zip"], num_processes=2)  # doctest: +SKIP
    0
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO

from jointrec.errors import JointrecError

COMMANDS = ("train",)
"""Sub-commands that take the cluster flags."""
RESERVED = ("--num-processes", "--process-id", "--coordinator")
STOP_WAIT = 10.0
"""Seconds to wait for a killed worker to be reaped."""
LOG_TAIL = 15


@dataclass
class Worker:
    """One launched process."""

    rank: int
    process: subprocess.Popen[bytes]
    log: Path | None

    @property
    def pid(self) -> int:
        return self.process.pid

    def describe_exit(self) -> str:
        """``exited with code 3`` or ``was killed by SIGKILL``."""
        code = self.process.returncode
        if code is not None and code < 0:
            try:
                return f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"was killed by signal {-code}"
        return f"exited with code {code}"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_command(args: Sequence[str], rank: int, num_processes: int, port: int) -> list[str]:
    """The command line of worker ``rank``.

    Example:
        >>> " ".join(worker_command(["train", "-q"], 1, 2, 8476)[3:])
        'train -q --num-processes 2 --process-id 1 --coordinator 127.0.0.1:8476'
    """
    return [
        sys.executable,
        "-m",
        "jointrec",
        *args,
        "--num-processes",
        str(num_processes),
        "--process-id",
        str(rank),
        "--coordinator",
        f"127.0.0.1:{port}",
    ]


def check_args(args: Sequence[str], num_processes: int) -> None:
    """Raises `JointrecError` for a command `launch` cannot run."""
    if num_processes < 1:
        raise JointrecError(f"-n {num_processes} is invalid: expected at least 1 process")
    if not args:
        raise JointrecError(
            "nothing to launch: give the command after --, e.g. jointrec launch -n 2 -- train "
            "--data ml-100k.zip"
        )
    if args[0] not in COMMANDS:
        raise JointrecError(
            f"cannot launch {args[0]!r}: expected one of {list(COMMANDS)} after --, e.g. "
            "jointrec launch -n 2 -- train --data ml-100k.zip"
        )
    given = [a.split("=", 1)[0] for a in args if a.split("=", 1)[0] in RESERVED]
    if given:
        raise JointrecError(
            f"{given[0]} is set by launch for each worker: remove it from the command"
        )


def launch(
    args: Sequence[str],
    num_processes: int,
    *,
    port: int | None = None,
    timeout: float | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    echo: Callable[[str], None] | None = None,
    poll_seconds: float = 0.1,
) -> int:
    """Starts ``num_processes`` workers of ``jointrec <args>`` and waits for all of them.

    Args:
        args: The jointrec command and its flags, e.g. ``["train", "--data", "x.zip"]``.
        num_processes: Workers to start.
        port: Coordinator port on 127.0.0.1 (default: a free one).
        timeout: Stop everything and fail after this many seconds (default: no limit).
        log_dir: Where workers 1.. write their output (default: a temporary folder, removed
            when all succeed).
        echo: Receives progress lines (default: stderr).
        poll_seconds: How often the workers are checked.

    Returns:
        0 when every worker succeeded.

    Raises:
        JointrecError: A worker failed or the timeout passed; every worker is stopped.
    """
    check_args(args, num_processes)
    say = echo or (lambda line: print(line, file=sys.stderr, flush=True))
    port = free_port() if port is None else port
    own_logs = log_dir is None
    logs = Path(tempfile.mkdtemp(prefix="jointrec-launch-") if log_dir is None else log_dir)
    logs.mkdir(parents=True, exist_ok=True)
    workers: list[Worker] = []
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        for rank in range(num_processes):
            workers.append(_start(args, rank, num_processes, port, logs))
            say(f"launched worker {rank} of {num_processes} (pid {workers[-1].pid})")
        _wait(workers, timeout, poll_seconds)
    finally:
        _stop(workers)
        signal.signal(signal.SIGTERM, previous)
    if own_logs:
        shutil.rmtree(logs, ignore_errors=True)
    return 0


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


def _start(args: Sequence[str], rank: int, num_processes: int, port: int, logs: Path) -> Worker:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = None if rank == 0 else logs / f"worker-{rank}.log"
    sink: IO[bytes] | None = None if log is None else open(log, "wb")  # noqa: SIM115
    try:
        process = subprocess.Popen(
            worker_command(args, rank, num_processes, port),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT if sink is not None else None,
            env=env,
            start_new_session=True,  # its own process group: stopping it stops its children
        )
    finally:
        if sink is not None:
            sink.close()
    return Worker(rank, process, log)


def _wait(workers: list[Worker], timeout: float | None, poll_seconds: float) -> None:
    start = time.monotonic()
    while True:
        codes = [w.process.poll() for w in workers]
        failed = [w for w, code in zip(workers, codes, strict=True) if code not in (None, 0)]
        if failed:
            raise JointrecError(_failure(workers, failed))
        if all(code == 0 for code in codes):
            return
        if timeout is not None and time.monotonic() - start > timeout:
            running = [str(w.rank) for w, code in zip(workers, codes, strict=True) if code is None]
            raise JointrecError(
                f"worker(s) {', '.join(running)} still running after --timeout {timeout:g} s: "
                "stopped every worker; raise --timeout if the run needs longer"
            )
        time.sleep(poll_seconds)


def _failure(workers: list[Worker], failed: list[Worker]) -> str:
    # A worker killed by a signal is the likelier cause: the others then fail on its
    # closed connections.
    failed = sorted(failed, key=lambda w: (w.process.returncode or 0) >= 0)
    for worker in failed:
        if worker.log is not None:
            _print_tail(worker)
    running = sum(1 for w in workers if w.process.poll() is None)
    first = failed[0]
    text = f"worker {first.rank} of {len(workers)} (pid {first.pid}) {first.describe_exit()}"
    for other in failed[1:]:
        text += f", worker {other.rank} {other.describe_exit()}"
    text += f"; stopped the {running} other running worker(s)"
    if first.log is not None:
        text += f"; its output: {first.log}"
    return text


def _print_tail(worker: Worker) -> None:
    assert worker.log is not None
    try:
        lines = worker.log.read_text(errors="replace").splitlines()[-LOG_TAIL:]
    except OSError:
        return
    if lines:
        print(f"--- last lines of worker {worker.rank} ({worker.log}) ---", file=sys.stderr)
        print("\n".join(lines), file=sys.stderr, flush=True)


def _stop(workers: list[Worker]) -> None:
    """Kills every running worker's process group (SIGKILL: JAX catches SIGTERM to note a
    preemption and keeps running) and reaps it."""
    running = [w for w in workers if w.process.poll() is None]
    for worker in running:
        _signal_group(worker, signal.SIGKILL)
    for worker in running:
        with contextlib.suppress(subprocess.TimeoutExpired):  # e.g. stuck in kernel I/O
            worker.process.wait(timeout=STOP_WAIT)


def _signal_group(worker: Worker, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # already gone
        os.killpg(worker.pid, sig)
