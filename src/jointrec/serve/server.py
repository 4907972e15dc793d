"""`run_server`: uvicorn on one artifact, bound to 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import os
from typing import Any

LOOPBACK = "127.0.0.1"


def head_timeout_protocol() -> Any:
    """uvicorn's httptools protocol, closing connections that send no complete request head
    within the keep-alive timeout.

    uvicorn only times out connections that are idle *after* a response, so a client that
    connects and sends nothing (or half a head) would hold its connection for ever. Returns
    ``"auto"`` when httptools is not installed.
    """
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools ships with the serve extra
        return "auto"

    class HeadTimeoutProtocol(HttpToolsProtocol):
        _head_timer: Any = None

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler
            )

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and not self.pipeline:
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeadTimeoutProtocol


def run_server(
    artifact: str | os.PathLike[str],
    *,
    host: str = LOOPBACK,
    port: int = 8000,
    index: str = "auto",
    ef_search: int | None = None,
    max_body_bytes: int = 65536,
    read_timeout: float = 10.0,
    keep_alive_timeout: float = 5.0,
    limit_concurrency: int = 1024,
    access_log: bool = False,
    log_level: str = "info",
    threads: int = 0,
) -> None:
    """Serves ``artifact`` over HTTP with one uvicorn worker until interrupted.

    uvicorn picks uvloop and httptools when installed (the ``serve`` extra brings them);
    access logging is off by default because it costs more than answering a request.

    Args:
        artifact: Artifact directory.
        host: Interface to bind; the default accepts connections from this machine only.
        port: TCP port (0 picks a free one).
        index: ``"auto"``, ``"exact"`` or ``"hnsw"``.
        ef_search: HNSW search breadth override.
        max_body_bytes: Largest accepted request body.
        read_timeout: Seconds a client may take to send a body.
        keep_alive_timeout: Seconds an idle keep-alive connection stays open.
        limit_concurrency: Connections plus in-flight requests before answering 503.
        access_log: Log every request.
        log_level: uvicorn's log level.
        threads: Threads computing user recommendations (0: on the event loop); see
            `jointrec.serve.app.create_app`.
    """
    import uvicorn

    from jointrec.serve.app import create_app

    app = create_app(
        artifact,
        index=index,
        ef_search=ef_search,
        max_body_bytes=max_body_bytes,
        read_timeout=read_timeout,
        threads=threads,
    )
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "workers": 1,
        "access_log": access_log,
        "log_level": log_level,
        "timeout_keep_alive": keep_alive_timeout,
        "limit_concurrency": limit_concurrency,
        "server_header": False,
        "http": head_timeout_protocol(),
    }
    uvicorn.run(app, **options)
