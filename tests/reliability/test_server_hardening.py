"""Server hardening: loopback by default, body limits, timeouts, no stack traces, and a
bounded concurrent load with zero errors and no memory growth."""

from __future__ import annotations

import inspect
import socket
import sys
import time
from pathlib import Path

import pytest

from jointrec.testing.server import serving


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from jointrec.testing.artifacts import planted_artifact

    return planted_artifact(tmp_path_factory.mktemp("hardening") / "artifact")


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on ``port``, from /proc/net/tcp{,6}."""
    found = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(name).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            local, state = row.split()[1], row.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if int(hex_port, 16) == port and state == "0A":  # 0A = LISTEN
                found.add(address)
    return found


def raw_exchange(port: int, data: bytes, *, pause: float = 0.0, rest: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(data)
        if pause:
            time.sleep(pause)
        if rest:
            s.sendall(rest)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b"content-length" in b"".join(chunks).lower():
                head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
        return b"".join(chunks)


def test_defaults_bind_loopback_only():
    from jointrec.cli.serve import command
    from jointrec.serve.server import run_server

    assert inspect.signature(run_server).parameters["host"].default == "127.0.0.1"
    assert inspect.signature(command).parameters["host"].default == "127.0.0.1"


@pytest.mark.e2e
@pytest.mark.slow
def test_live_server_limits_and_timeouts(planted):
    with serving(planted, "--read-timeout", "1", "--keep-alive", "1", "--max-body", "2048") as (
        port,
        _,
    ):
        # listening on 127.0.0.1 only (0100007F in /proc's little-endian hex)
        assert listening_addresses(port) == {"0100007F"}

        head = b"POST /v1/recommendations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        declared = raw_exchange(port, head + b"Content-Length: 100000\r\n\r\n")
        assert declared.startswith(b"HTTP/1.1 413") and b"too large" in declared

        chunk = b"x" * 1500
        chunked = raw_exchange(
            port,
            head
            + b"Transfer-Encoding: chunked\r\n\r\n"
            + (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") * 2
            + b"0\r\n\r\n",
        )
        assert chunked.startswith(b"HTTP/1.1 413")

        start = time.monotonic()
        slow = raw_exchange(port, head + b'Content-Length: 50\r\n\r\n{"ratings"')
        assert slow.startswith(b"HTTP/1.1 408") and b"not received within 1 s" in slow
        assert time.monotonic() - start < 10

        # an idle keep-alive connection is closed by the server after --keep-alive seconds
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            start = time.monotonic()
            assert s.recv(1) == b""
            assert time.monotonic() - start < 5
        # so is one that sends half a request head and stalls (slowloris)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")
            start = time.monotonic()
            assert s.recv(1) == b""
            assert time.monotonic() - start < 5


def test_internal_errors_have_no_stack_trace(planted):
    from fastapi.testclient import TestClient

    from jointrec.serve import create_app

    with TestClient(create_app(planted), raise_server_exceptions=False) as client:

        def broken(*args, **kwargs):
            raise RuntimeError("secret internals at /some/path.py line 3")

        client.app.state.recommender.recommend = broken  # type: ignore[attr-defined]
        response = client.get("/v1/users/1/recommendations")
    assert response.status_code == 500
    assert response.json() == {"error": "internal server error (logged on the server)"}
    assert "secret" not in response.text and "Traceback" not in response.text


@pytest.mark.e2e
@pytest.mark.slow
def test_concurrent_load_zero_errors_no_memory_growth(planted):
    """100,000 requests on 16 loopback connections: all 2xx, no errors, RSS stable."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from loadgen import run_load

    from jointrec.serve.metrics import resident_memory_bytes

    paths = [f"/v1/users/{u}/recommendations?k=10" for u in range(1, 31)]
    paths += [
        "/v1/users/new-visitor/recommendations?k=5",
        "/v1/items/101/similar?k=5",
        "/v1/users/3/history",
        "/health",
    ]
    with serving(planted) as (port, proc):
        warm = run_load("127.0.0.1", port, paths, connections=16, requests=10_000, duration=120)
        before = resident_memory_bytes(proc.pid)
        result = run_load("127.0.0.1", port, paths, connections=16, requests=90_000, duration=480)
        after = resident_memory_bytes(proc.pid)
    summary = result.summary()
    total = len(warm.latencies) + summary["requests"]
    assert total == 100_000, f"bounded run ended early: {summary}"
    assert summary["errors"] == 0 and warm.summary()["errors"] == 0
    assert summary["non_2xx"] == 0 and warm.summary()["non_2xx"] == 0, summary["statuses"]
    growth_mb = (after - before) / 2**20
    assert before > 0 and growth_mb < 8, f"RSS grew by {growth_mb:.1f} MiB over 90k requests"
