"""A bounded HTTP/1.1 load generator for servers on this machine (loopback only).

Each of ``connections`` keep-alive connections sends one request at a time, waits for the
whole response and sends the next, until ``requests`` have been sent or ``duration``
seconds have passed. Latency is measured per request from the first byte sent to the last
byte received. Only loopback addresses are accepted: this is for testing our own server.

Example:
    >>> result = run_load("127.0.0.1", 8000, ["/health"], requests=1000)  # doctest: +SKIP
    >>> result.summary()["errors"]  # doctest: +SKIP
    0
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jointrec.errors import JointrecError


@dataclass
class LoadResult:
    """Raw outcome of a load run: per-request latencies (seconds) and status counts."""

    latencies: np.ndarray
    statuses: Counter[int]
    seconds: float
    connections: int
    errors: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Requests/s, latency percentiles (ms) and error counts."""
        ms = self.latencies * 1000.0
        done = len(self.latencies)
        pct = (lambda q: float(np.percentile(ms, q))) if done else (lambda q: float("nan"))
        return {
            "requests": done,
            "seconds": self.seconds,
            "requests_per_s": done / self.seconds if self.seconds > 0 else 0.0,
            "connections": self.connections,
            "p50_ms": pct(50),
            "p90_ms": pct(90),
            "p99_ms": pct(99),
            "max_ms": float(ms.max()) if done else float("nan"),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "non_2xx": sum(v for k, v in self.statuses.items() if not 200 <= k < 300),
            "errors": len(self.errors),
        }


def check_loopback(host: str) -> str:
    """Resolves ``host`` and refuses anything but a loopback address."""
    try:
        address = socket.gethostbyname(host)
    except OSError as err:
        raise JointrecError(f"host {host!r} does not resolve ({err})") from None
    if not ipaddress.ip_address(address).is_loopback:
        raise JointrecError(
            f"host {host!r} ({address}) is not a loopback address: the load generator only "
            "targets servers on this machine (127.0.0.0/8)"
        )
    return address


def _request_bytes(host: str, port: int, path: str, method: str, body: bytes | None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


async def _worker(
    address: str,
    port: int,
    payloads: Sequence[bytes],
    offset: int,
    budget: list[int],
    deadline: float,
    latencies: list[float],
    statuses: Counter[int],
    errors: list[str],
) -> None:
    reader, writer = await asyncio.open_connection(address, port)
    i = offset
    try:
        while budget[0] > 0 and time.perf_counter() < deadline:
            budget[0] -= 1
            payload = payloads[i % len(payloads)]
            i += 1
            start = time.perf_counter()
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            close = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                lowered = name.strip().lower()
                if lowered == b"content-length":
                    length = int(value)
                elif lowered == b"connection" and value.strip().lower() == b"close":
                    close = True
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - start)
            statuses[status] += 1
            if close:
                writer.close()
                reader, writer = await asyncio.open_connection(address, port)
    except (OSError, asyncio.IncompleteReadError, ValueError) as err:
        errors.append(f"{type(err).__name__}: {err}")
    finally:
        writer.close()


async def _run(
    address: str,
    port: int,
    payloads: Sequence[bytes],
    connections: int,
    requests: int,
    duration: float,
) -> LoadResult:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    errors: list[str] = []
    budget = [requests]
    start = time.perf_counter()
    deadline = start + duration
    await asyncio.gather(
        *(
            _worker(
                address, port, payloads, c * 7919, budget, deadline, latencies, statuses, errors
            )
            for c in range(connections)
        )
    )
    return LoadResult(
        np.asarray(latencies), statuses, time.perf_counter() - start, connections, errors
    )


def run_load(
    host: str,
    port: int,
    paths: Sequence[str],
    *,
    connections: int = 16,
    requests: int = 10_000,
    duration: float = 60.0,
    method: str = "GET",
    bodies: Sequence[bytes] | None = None,
) -> LoadResult:
    """Sends at most ``requests`` requests within ``duration`` seconds to a local server.

    Args:
        host: Loopback host name or address.
        port: Server port.
        paths: Request paths, used round-robin (each connection starts elsewhere).
        connections: Concurrent keep-alive connections.
        requests: Upper bound on requests sent.
        duration: Upper bound on seconds.
        method: HTTP method.
        bodies: JSON bodies paired with ``paths`` (for POST).
    """
    if not 1 <= connections <= 1024 or requests < 1 or not 0 < duration <= 3600:
        raise JointrecError(
            f"connections={connections}, requests={requests}, duration={duration} are out of "
            "range: expected 1..1024 connections, >= 1 request and 0 < duration <= 3600 s"
        )
    address = check_loopback(host)
    if bodies is not None and len(bodies) != len(paths):
        raise JointrecError("expected one body per path")
    payloads = [
        _request_bytes(host, port, p, method, None if bodies is None else bodies[j])
        for j, p in enumerate(paths)
    ]
    try:
        import uvloop

        runner: Any = uvloop.run
    except ImportError:
        runner = asyncio.run
    return runner(_run(address, port, payloads, connections, requests, duration))
