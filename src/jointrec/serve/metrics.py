"""Prometheus metrics for the HTTP API, kept in process and written as text on ``/metrics``.

Labels use the route *template* (``/v1/users/{user_id}/recommendations``), never the raw
path, so their number stays bounded whatever clients send.

Example:
    >>> m = Metrics()
    >>> m.observe("GET", "/health", 200, 0.002)
    >>> 'jointrec_requests_total{method="GET",route="/health",status="200"} 1' in m.render()
    True
"""

from __future__ import annotations

import bisect
import os
import time
from collections import defaultdict
from typing import Any

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
Scope = dict[str, Any]


class Metrics:
    """Request counters and latency histograms per (method, route)."""

    def __init__(self) -> None:
        self.started = time.time()
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.buckets: dict[tuple[str, str], list[int]] = {}
        self.sums: dict[tuple[str, str], float] = defaultdict(float)
        self.gauges: dict[str, float] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Counts one finished request."""
        self.requests[(method, route, status)] += 1
        key = (method, route)
        counts = self.buckets.get(key)
        if counts is None:
            counts = self.buckets[key] = [0] * (len(BUCKETS) + 1)
        counts[bisect.bisect_left(BUCKETS, seconds)] += 1
        self.sums[key] += seconds

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        lines = [
            "# HELP jointrec_requests_total HTTP requests by method, route and status.",
            "# TYPE jointrec_requests_total counter",
        ]
        for (method, route, status), n in sorted(self.requests.items()):
            labels = f'method="{method}",route="{route}",status="{status}"'
            lines.append(f"jointrec_requests_total{{{labels}}} {n}")
        lines += [
            "# HELP jointrec_request_duration_seconds Time to answer, by method and route.",
            "# TYPE jointrec_request_duration_seconds histogram",
        ]
        for (method, route), counts in sorted(self.buckets.items()):
            labels = f'method="{method}",route="{route}"'
            total = 0
            for bound, n in zip((*BUCKETS, float("inf")), counts, strict=True):
                total += n
                le = "+Inf" if bound == float("inf") else f"{bound:g}"
                lines.append(
                    f'jointrec_request_duration_seconds_bucket{{{labels},le="{le}"}} {total}'
                )
            seconds = self.sums[(method, route)]
            lines.append(f"jointrec_request_duration_seconds_sum{{{labels}}} {seconds:.6f}")
            lines.append(f"jointrec_request_duration_seconds_count{{{labels}}} {total}")
        gauges = {
            "process_resident_memory_bytes": resident_memory_bytes(),
            "process_cpu_seconds_total": cpu_seconds(),
            "process_uptime_seconds": time.time() - self.started,
            **self.gauges,
        }
        for name, value in gauges.items():
            lines += [f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"


def resident_memory_bytes(pid: int | None = None) -> float:
    """Resident set size of a process from ``/proc`` (0 where unavailable)."""
    try:
        with open(f"/proc/{pid or 'self'}/statm", encoding="ascii") as f:
            return float(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
    except (OSError, ValueError, IndexError):
        return 0.0


def cpu_seconds(pid: int | None = None) -> float:
    """User plus system CPU time of a process from ``/proc`` (0 where unavailable)."""
    try:
        with open(f"/proc/{pid or 'self'}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


class MetricsMiddleware:
    """ASGI middleware that times every HTTP request into a `Metrics`.

    Args:
        app: The wrapped ASGI app.
        metrics: Where to count.
    """

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - start)
