"""Prometheus metrics for the HTTP API (prometheus_client), written on ``/metrics``.

Labels use the route *template* (``/v1/users/{user_id}/recommendations``), never the raw
path, so their number stays bounded whatever clients send. Each app has its own registry,
so several apps in one process (tests) count apart.

Example:
    >>> m = Metrics()
    >>> m.observe("GET", "/health", 200, 0.002)
    >>> 'jointrec_requests_total{method="GET",route="/health",status="200"} 1.0' in m.render()
    True
"""

from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
Scope = dict[str, Any]


class Metrics:
    """Request counters and latency histograms per (method, route), process metrics, and the
    catalogue size, in one registry of their own."""

    def __init__(self) -> None:
        disable_created_metrics()  # no *_created series: they only say when a label appeared
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "jointrec_requests",
            "HTTP requests by method, route and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.duration = Histogram(
            "jointrec_request_duration_seconds",
            "Time to answer, by method and route.",
            ("method", "route"),
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.catalogue_items = Gauge(
            "jointrec_catalogue_items",
            "Items the served model can recommend.",
            registry=self.registry,
        )
        ProcessCollector(registry=self.registry)  # memory, CPU seconds, start time, fds
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Counts one finished request."""
        children = self._children.get((method, route, status))
        if children is None:  # label lookups once per (method, route, status)
            children = (
                self.requests.labels(method, route, str(status)),
                self.duration.labels(method, route),
            )
            self._children[(method, route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        return generate_latest(self.registry).decode("utf-8")


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
            # The template without convertors ({user_id}, not {user_id:jointrec_id}); the web
            # page's mount at "/" (path "") counts as unmatched.
            path = getattr(route, "path", None)
            template = getattr(route, "path_format", path) if path else "unmatched"
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - start)
