"""Which processes and devices train together: `ClusterSpec`, and joining the cluster.

A cluster is N processes (one per host, or several on one host through ``jointrec launch``)
that each see some accelerators. Process 0 hosts the coordinator. Joining goes through
``jax.distributed.initialize`` (what ``keras.distribution.initialize`` calls), with bounded
timeouts so a missing or dead process ends the run with an error instead of a hang.

Nothing here imports JAX until `join` is called, so the CLI stays fast.

Example:
    >>> spec = ClusterSpec(num_processes=2, process_id=1, coordinator="10.0.0.1:1234")
    >>> spec.is_chief, spec.distributed
    (False, True)
    >>> ClusterSpec().distributed
    False
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from jointrec.errors import JointrecError

DEFAULT_TIMEOUT = 120
SHUTDOWN_TIMEOUT = 300
JAX_GRACE = 5
"""Extra seconds JAX's own join deadline gets, so the readable watchdog fires first."""

_ADDRESS = re.compile(r"^(?P<host>\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.\-]+):(?P<port>[0-9]{1,5})$")


@dataclass(frozen=True)
class ClusterSpec:
    """How this process takes part in data-parallel training.

    Args:
        num_processes: Processes in the run (1 = this process alone).
        process_id: This process's rank in ``[0, num_processes)``; 0 is the chief, which hosts
            the coordinator and alone writes the artifact and logs.
        coordinator: ``HOST:PORT`` of process 0, reachable from every process; needed when
            ``num_processes > 1``.
        shard_embeddings: Row-shard embedding tables (and their optimizer slots) over all
            devices instead of copying them to each device.
        all_devices: Train data-parallel over every device JAX sees even with one process
            (e.g. the GPUs of one host). Implied by ``num_processes > 1`` and
            ``shard_embeddings``.
        timeout: Seconds to wait for all processes to join, and of silence after which a
            process is considered dead (JAX's heartbeat). Finished processes wait up to
            ``max(timeout, 300)`` s at exit for the others.
    """

    num_processes: int = 1
    process_id: int = 0
    coordinator: str | None = None
    shard_embeddings: bool = False
    all_devices: bool = False
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if isinstance(self.num_processes, bool) or self.num_processes < 1:
            raise JointrecError(
                f"num_processes={self.num_processes!r} is invalid: expected an integer >= 1"
            )
        if not 0 <= self.process_id < self.num_processes:
            raise JointrecError(
                f"process_id={self.process_id!r} is out of range: expected 0 <= process_id < "
                f"num_processes={self.num_processes}; number the processes 0, 1, ..."
            )
        if self.num_processes > 1:
            if not self.coordinator:
                raise JointrecError(
                    f"num_processes={self.num_processes} needs a coordinator: pass --coordinator "
                    "HOST:PORT of process 0 (the same on every process), or use `jointrec launch`"
                )
            parse_address(self.coordinator)
        if not self.timeout > 0:
            raise JointrecError(f"timeout={self.timeout!r} is invalid: expected seconds > 0")

    @property
    def distributed(self) -> bool:
        """Whether training goes through the multi-device path."""
        return self.num_processes > 1 or self.shard_embeddings or self.all_devices

    @property
    def is_chief(self) -> bool:
        """Process 0 writes the artifact, prints reports and draws progress bars."""
        return self.process_id == 0


def parse_address(address: str) -> tuple[str, int]:
    """Splits ``HOST:PORT`` (``[v6]:PORT`` for IPv6), checking the port.

    Example:
        >>> parse_address("127.0.0.1:8476")
        ('127.0.0.1', 8476)
    """
    match = _ADDRESS.match(address.strip())
    port = int(match["port"]) if match else 0
    if match is None or not 1 <= port <= 65535:
        raise JointrecError(
            f"coordinator address {address!r} is invalid: expected HOST:PORT with a port in "
            "1..65535, e.g. 10.0.0.1:8476"
        )
    return match["host"], port


@dataclass(frozen=True)
class Cluster:
    """The joined cluster as JAX sees it.

    Args:
        spec: What was asked for.
        devices: Every device of every process, in JAX's global order.
        local_devices: This process's devices.
    """

    spec: ClusterSpec
    devices: tuple[Any, ...]
    local_devices: tuple[Any, ...]

    @property
    def is_chief(self) -> bool:
        """Whether this is process 0."""
        return self.spec.is_chief

    @property
    def num_processes(self) -> int:
        """Processes in the run."""
        return self.spec.num_processes

    def describe(self) -> str:
        """One line for logs: processes, devices and their kind."""
        kinds = sorted({d.platform for d in self.devices})
        return (
            f"process {self.spec.process_id} of {self.num_processes}: "
            f"{len(self.local_devices)} local / {len(self.devices)} global "
            f"{'+'.join(kinds)} device(s)"
        )


_ACTIVE: Cluster | None = None


def active() -> Cluster | None:
    """The cluster `fit` trains on, or ``None`` for ordinary single-device training."""
    return _ACTIVE


def join(spec: ClusterSpec) -> Cluster:
    """Joins the cluster (``jax.distributed.initialize`` when there are several processes)
    and, when ``spec.distributed``, makes it the one `jointrec.training.loop` trains on.

    Must run before any JAX computation in this process. Raises `JointrecError` when the
    other processes do not show up within ``spec.timeout`` seconds.
    """
    global _ACTIVE
    import jax

    if spec.num_processes > 1:
        _initialize_jax(spec)
        if jax.process_count() != spec.num_processes:
            raise JointrecError(
                f"joined a cluster of {jax.process_count()} processes but num_processes="
                f"{spec.num_processes}: pass the same --num-processes to every process"
            )
    cluster = Cluster(spec, tuple(jax.devices()), tuple(jax.local_devices()))
    _ACTIVE = cluster if spec.distributed else None
    return cluster


@contextmanager
def using(spec: ClusterSpec) -> Iterator[Cluster]:
    """Joins for the duration of a block, then restores single-device training (for one
    process; a multi-process runtime stays up until the process exits).

    Example:
        >>> with using(ClusterSpec(all_devices=True)) as cluster:  # doctest: +SKIP
        ...     fit(model, data, config)  # data-parallel over every local device
    """
    global _ACTIVE
    previous = _ACTIVE
    try:
        yield join(spec)
    finally:
        _ACTIVE = previous


def _initialize_jax(spec: ClusterSpec) -> None:
    import jax

    seconds = max(1, round(spec.timeout))
    where = f"process {spec.process_id} of {spec.num_processes}"
    fix = (
        "start every process with the same --coordinator and --num-processes (process 0 "
        "listens there) and check that the port is free on its host and reachable"
    )
    # JAX ends the process with a C++ stack dump when joining times out; this watchdog ends
    # it first, with one readable line.
    watchdog = threading.Timer(
        seconds,
        _give_up,
        [f"{where} could not join the cluster at {spec.coordinator} within {seconds} s: {fix}"],
    )
    watchdog.daemon = True
    watchdog.start()
    try:
        jax.distributed.initialize(
            coordinator_address=spec.coordinator,
            num_processes=spec.num_processes,
            process_id=spec.process_id,
            initialization_timeout=seconds + JAX_GRACE,
            heartbeat_timeout_seconds=seconds,
            # Process 0 still evaluates and writes the artifact when the others are done.
            shutdown_timeout_seconds=max(seconds, SHUTDOWN_TIMEOUT),
        )
    except RuntimeError as err:
        text = str(err)
        if "should only be called once" in text:
            raise JointrecError(
                "this process has already joined a cluster: join once per process"
            ) from None
        if "before any JAX" in text:
            raise JointrecError(
                "cannot join the cluster: JAX is already running in this process; join "
                "before building or training any model"
            ) from None
        raise JointrecError(
            f"{where} could not join the cluster ({_first_line(text)}): {fix}"
        ) from None
    finally:
        watchdog.cancel()


def _give_up(message: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"error: {message}\n")
    sys.stderr.flush()
    os._exit(1)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no details"
    return line[:200]
