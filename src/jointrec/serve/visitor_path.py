"""`VisitorPath`: ``POST /v1/recommendations`` (an anonymous visitor's fold-in) as plain
ASGI, ahead of FastAPI.

With the fold-in a closed-form solve (`jointrec.inference.foldin`), FastAPI's body
parsing, pydantic validation and middleware cost more CPU than the answer itself, so
`jointrec.serve.app.create_app` answers this route here first, the way
`jointrec.serve.fastpath` answers the known-user route. It claims only requests it can
answer exactly as the FastAPI route does: a JSON ``Content-Type`` and a declared
``Content-Length`` within the body limit, and, once read, a body that `parse` accepts (the
plain well-formed case of `jointrec.serve.schemas.AnonymousRequest`). Everything else, every
error of the request's shape included, is handed to FastAPI with the body replayed, so its
messages stay the reference. The same JSON bytes, statuses and ``/metrics`` counts come
out; the body is read within the same deadline (408 after it, as `BodyLimit` answers).

Example:
    >>> parse(b'{"ratings": [{"item_id": 50, "rating": 5}], "k": 3}')
    ([(50, 5.0)], 3, 100, True, 'retrieval')
    >>> parse(b'{"ratings": [{"item_id": true, "rating": 5}]}') is None  # FastAPI's words
    True
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import MutableMapping
from typing import Any

import orjson

from jointrec.errors import JointrecError
from jointrec.inference.recommender import RANK_BY, Recommender
from jointrec.serve.limits import send_error
from jointrec.serve.metrics import Metrics
from jointrec.serve.routes import recommendations_payload
from jointrec.serve.schemas import MAX_CANDIDATES, MAX_K, MAX_RATINGS

log = logging.getLogger("jointrec.serve")

ROUTE = "/v1/recommendations"
INTERNAL_ERROR = orjson.dumps({"error": "internal server error (logged on the server)"})
_FIELDS = frozenset(("ratings", "k", "candidates", "exclude_rated", "rank_by"))
_PAIR = frozenset(("item_id", "rating"))
#: A visitor's request: ``(ratings as (item id, stars) pairs, k, candidates, exclude_rated,
#: rank_by)``.
Parsed = tuple[list[tuple[Any, float]], int, int, bool, str]


def parse(body: bytes) -> Parsed | None:
    """The request a well-formed body asks for; ``None`` for anything else (FastAPI then
    answers, with its own message for what is wrong)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict or not _FIELDS.issuperset(data):
        return None
    ratings = data.get("ratings", [])
    k = data.get("k", 10)
    candidates = data.get("candidates", 100)
    exclude = data.get("exclude_rated", True)
    rank_by = data.get("rank_by", "retrieval")
    if type(ratings) is not list or len(ratings) > MAX_RATINGS:
        return None
    if type(k) is not int or not 1 <= k <= MAX_K:
        return None
    if type(candidates) is not int or not 1 <= candidates <= MAX_CANDIDATES:
        return None
    if type(exclude) is not bool or type(rank_by) is not str or rank_by not in RANK_BY:
        return None
    pairs: list[tuple[Any, float]] = []
    for pair in ratings:
        if type(pair) is not dict or pair.keys() != _PAIR:
            return None
        item, rating = pair["item_id"], pair["rating"]
        if type(item) not in (int, str) or type(rating) not in (int, float):
            return None
        stars = float(rating)
        if not math.isfinite(stars):
            return None
        pairs.append((item, stars))
    return pairs, k, candidates, exclude, rank_by


class VisitorPath:
    """Answers anonymous visitors' recommendation requests without going through FastAPI.

    Args:
        metrics: Where each answered request is counted (as `MetricsMiddleware` would).
        max_bytes: The app's body limit; larger declared bodies are left to FastAPI.
        read_timeout: Seconds the body may take to arrive (then 408).
    """

    def __init__(self, metrics: Metrics, max_bytes: int = 65536, read_timeout: float = 10.0):
        self.metrics = metrics
        self.max_bytes = max_bytes
        self.read_timeout = read_timeout

    def match(self, scope: MutableMapping[str, Any]) -> bool:
        """Whether this path may answer the request (before reading its body)."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope.get("root_path"):
            return False
        if scope["path"] != ROUTE:
            return False
        json_type = declared = False
        for name, value in scope["headers"]:
            if name == b"content-type":
                json_type = value.split(b";")[0].strip().lower() == b"application/json"
            elif name == b"content-length":
                declared = value.isdigit() and int(value) <= self.max_bytes
            elif name == b"transfer-encoding":
                return False
        return json_type and declared

    async def read(self, receive: Any, send: Any) -> bytes | None:
        """The whole body, or ``None`` after answering 408 / when the client went away."""
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
                self.metrics.observe("POST", "unmatched", 408, 0.0)
                return None
            if message["type"] != "http.request":
                return None
            body += message.get("body", b"")
            more = message.get("more_body", False)
        return bytes(body)

    def answer(self, recommender: Recommender, request: Parsed) -> tuple[int, bytes]:
        """Status and JSON body for one parsed request (never raises)."""
        ratings, k, candidates, exclude, rank_by = request
        try:
            result = recommender.recommend(
                ratings=ratings,
                k=k,
                exclude_seen=exclude,
                candidates=max(candidates, k),
                rank_by=rank_by,  # type: ignore[arg-type]  # checked by parse
            )
            payload = recommendations_payload(None, result)
            return 200, orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY)
        except JointrecError as err:
            return 422, orjson.dumps({"error": str(err)})
        except Exception:
            log.exception("unhandled error on POST %s", ROUTE)
            return 500, INTERNAL_ERROR

    async def respond(
        self, start: float, send: Any, recommender: Recommender, request: Parsed
    ) -> None:
        """Sends the answer and counts it on ``/metrics`` (timed from ``start``)."""
        status = 500
        try:
            status, body = self.answer(recommender, request)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-length", str(len(body)).encode()),
                        (b"content-type", b"application/json"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            self.metrics.observe("POST", ROUTE, status, time.perf_counter() - start)


def replay(body: bytes, receive: Any) -> Any:
    """A ``receive`` that hands ``body`` on first (the request FastAPI then reads)."""
    sent = False

    async def again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return again
