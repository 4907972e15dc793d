"""`wrk_load`: drive a loopback server with wrk (C, epoll) and return the same summary as
`loadgen.LoadResult.summary`, plus wrk's own CPU time.

wrk spends ~10-20 us of CPU per request where the asyncio load generator spends ~100 us;
on a 2-core machine that the server shares with its load generator, that difference is
CPU the server gets. Paths rotate per request (a Lua script); latency percentiles come
from wrk's histogram (microsecond resolution). Only 127.0.0.0/8 is accepted.

Example:
    >>> wrk_load(8000, ["/health"], connections=16, duration=5)  # doctest: +SKIP
    {'requests': 41000, 'requests_per_s': 8200.0, 'p50_ms': 1.9, ...}
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

SCRIPT = """
local paths = {%s}
local bodies = {%s}
local method = %s
local headers = {}
if #bodies > 0 then headers["Content-Type"] = "application/json" end
local n = #paths
local counter = 0
local threads = {}

function setup(thread)
  thread:set("offset", #threads * 7919)
  table.insert(threads, thread)
end

function init(args)
  counter = tonumber(offset) or 0
end

function request()
  counter = counter + 1
  local j = (counter %% n) + 1
  if #bodies > 0 then return wrk.format(method, paths[j], headers, bodies[j]) end
  return wrk.format(method, paths[j])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write("WRK_JSON ")
  io.write(string.format(
    '{"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect_errors": %%d, ' ..
    '"read_errors": %%d, "write_errors": %%d, "non_2xx_3xx": %%d, "timeouts": %%d, ' ..
    '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "p999_us": %%d, "max_us": %%d, ' ..
    '"mean_us": %%f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9), latency.max, latency.mean))
end
"""


def available() -> bool:
    """Whether the ``wrk`` binary is on the PATH."""
    return shutil.which("wrk") is not None


def wrk_load(
    port: int,
    paths: Sequence[str],
    *,
    connections: int = 16,
    duration: float = 30.0,
    threads: int = 1,
    timeout_s: float = 10.0,
    method: str = "GET",
    bodies: Sequence[bytes] | None = None,
) -> dict[str, Any]:
    """Runs ``wrk`` against ``http://127.0.0.1:port`` for ``duration`` seconds.

    Args:
        port: Server port on 127.0.0.1.
        paths: Request paths, used in turn.
        connections: Concurrent keep-alive connections.
        duration: Seconds of load (wrk's ``-d``; bounded to 1..600).
        threads: wrk threads (one is plenty for 16 connections and leaves a core free).
        timeout_s: Requests slower than this count as timeouts.
        method: HTTP method.
        bodies: JSON bodies paired with ``paths`` (for POST).

    Returns:
        ``requests``, ``seconds``, ``requests_per_s``, ``p50_ms``/``p90_ms``/``p99_ms``/
        ``max_ms``, ``non_2xx``, ``errors`` and ``client_cpu_ms_per_request``.
    """
    if not 1 <= duration <= 600 or not 1 <= connections <= 1024:
        raise ValueError(f"duration={duration}, connections={connections} out of range")
    if bodies is not None and len(bodies) != len(paths):
        raise ValueError("expected one body per path")
    quoted = ", ".join(json.dumps(p) for p in paths)
    quoted_bodies = ", ".join(json.dumps(b.decode()) for b in bodies or ())
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "rotate.lua"
        script.write_text(SCRIPT % (quoted, quoted_bodies, json.dumps(method)))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [
                "wrk",
                f"-t{threads}",
                f"-c{connections}",
                f"-d{int(duration)}s",
                f"--timeout={int(timeout_s)}s",
                "-s",
                str(script),
                f"http://127.0.0.1:{port}",
            ],
            capture_output=True,
            text=True,
            timeout=duration + 60,
            check=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK_JSON "))
    raw = json.loads(line[len("WRK_JSON ") :])
    n = max(raw["requests"], 1)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    seconds = raw["duration_us"] / 1e6
    return {
        "client": "wrk",
        "requests": raw["requests"],
        "seconds": seconds,
        "requests_per_s": raw["requests"] / seconds if seconds > 0 else 0.0,
        "connections": connections,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "p999_ms": raw["p999_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "mean_ms": raw["mean_us"] / 1000,
        "non_2xx": raw["non_2xx_3xx"],
        "errors": raw["connect_errors"]
        + raw["read_errors"]
        + raw["write_errors"]
        + raw["timeouts"],
        "client_cpu_ms_per_request": 1000 * cpu / n,
    }
