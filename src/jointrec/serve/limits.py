"""Request hardening as ASGI middleware: body size limit and a deadline for reading bodies.

Work per request is bounded by the schemas (k, candidates, ratings and pairs have maxima);
these layers bound what a client can make the server hold or wait for.

Example:
    >>> app = BodyLimit(lambda scope, receive, send: None, max_bytes=1024)
    >>> app.max_bytes
    1024
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

Scope = dict[str, Any]


async def send_error(send: Any, status: int, message: str) -> None:
    """Sends a JSON ``{"error": message}`` response."""
    body = orjson.dumps({"error": message})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Rejects request bodies over ``max_bytes`` with 413, and slow bodies with 408.

    A declared ``Content-Length`` over the limit is refused before anything is read; a
    chunked body is counted as it arrives. The (small) body is read here, within
    ``read_timeout`` seconds in all, and handed on whole.

    Args:
        app: The wrapped ASGI app.
        max_bytes: Largest accepted body.
        read_timeout: Seconds allowed for the whole body to arrive.
    """

    def __init__(self, app: Any, max_bytes: int = 65536, read_timeout: float = 10.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_error(send, 400, f"Content-Length {value!r} is not an integer")
                    return
                if declared > self.max_bytes:
                    await send_error(send, 413, self._too_large(declared))
                    return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.read_timeout
        body = bytearray()
        more = True
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
            except asyncio.TimeoutError:
                await send_error(
                    send, 408, f"request body not received within {self.read_timeout:g} s"
                )
                return
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                await send_error(send, 413, self._too_large(len(body)))
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return dict(await receive())

        await self.app(scope, replay, send)

    def _too_large(self, size: int) -> str:
        return (
            f"request body of {size} bytes is too large: expected at most {self.max_bytes} "
            "bytes; send fewer ratings or pairs per request"
        )
