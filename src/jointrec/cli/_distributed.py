"""Options of multi-process training, shared by ``train`` and ``launch`` (not a command)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from jointrec.backend import Cluster

PANEL = "Distributed training"

NumProcesses = Annotated[
    int,
    typer.Option(
        "--num-processes",
        min=1,
        help="Processes training together (one per host); `jointrec launch` sets it locally.",
        rich_help_panel=PANEL,
    ),
]
ProcessId = Annotated[
    int,
    typer.Option(
        "--process-id",
        min=0,
        help="This process's rank, 0..num-processes-1; 0 writes the artifact.",
        rich_help_panel=PANEL,
    ),
]
Coordinator = Annotated[
    str | None,
    typer.Option(
        "--coordinator",
        help="HOST:PORT of process 0, the same on every process.",
        rich_help_panel=PANEL,
    ),
]
ShardEmbeddings = Annotated[
    bool,
    typer.Option(
        "--shard-embeddings",
        help="Row-shard embedding tables over all devices instead of copying them to each.",
        rich_help_panel=PANEL,
    ),
]
AllDevices = Annotated[
    bool,
    typer.Option(
        "--all-devices",
        help="Data-parallel over every device JAX sees, even with one process (e.g. one "
        "host's GPUs).",
        rich_help_panel=PANEL,
    ),
]
ClusterTimeout = Annotated[
    float,
    typer.Option(
        "--cluster-timeout",
        min=1.0,
        help="Seconds to wait for every process to join, and of silence before a process is "
        "declared dead.",
        rich_help_panel=PANEL,
    ),
]


def join_cluster(
    num_processes: int,
    process_id: int,
    coordinator: str | None,
    shard_embeddings: bool,
    all_devices: bool,
    timeout: float,
) -> Cluster | None:
    """Validates the flags and joins the cluster; ``None`` for plain single-device training.

    Each process prints one ``joined: ...`` line to stderr once it has joined.
    """
    from jointrec.backend import ClusterSpec, join_cluster

    spec = ClusterSpec(
        num_processes=num_processes,
        process_id=process_id,
        coordinator=coordinator,
        shard_embeddings=shard_embeddings,
        all_devices=all_devices,
        timeout=timeout,
    )
    if not spec.distributed:
        return None
    cluster = join_cluster(spec)
    typer.echo(f"joined: {cluster.describe()}", err=True)
    return cluster


@contextmanager
def fail_fast(cluster: Cluster | None) -> Iterator[None]:
    """Ends a process of a multi-process run at once on any error, printing one line.

    A normal exit would wait in JAX's shutdown barrier for processes that are themselves
    stuck waiting for this one; exiting at once lets them see the closed connections and
    fail too, so no process outlives a failure by more than the cluster timeout.
    """
    if cluster is None or cluster.num_processes == 1:
        yield
        return
    try:
        yield
    except BaseException as err:  # every failure must end the process
        from jointrec.errors import JointrecError

        where = f"process {cluster.spec.process_id} of {cluster.num_processes}"
        if isinstance(err, JointrecError):
            text = str(err)
        elif isinstance(err, KeyboardInterrupt):
            text = "interrupted"
        else:
            lines = str(err).strip().splitlines()
            text = f"{type(err).__name__}: {lines[0] if lines else 'no details'}"
            if "Gloo" in text or "heartbeat" in text or "connection" in text.lower():
                text += " (another process of the run has probably stopped; see its output)"
        sys.stdout.flush()
        sys.stderr.write(f"error: {where}: {text}\n")
        sys.stderr.flush()
        os._exit(130 if isinstance(err, KeyboardInterrupt) else 1)


@contextmanager
def quiet_stdout(cluster: Cluster | None) -> Iterator[None]:
    """Sends what native code prints to stdout (gloo's connection notices) to stderr while
    the cluster trains, so stdout carries only the command's own output (e.g. ``--json``)."""
    if cluster is None or cluster.num_processes == 1:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)
