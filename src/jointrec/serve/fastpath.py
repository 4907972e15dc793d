"""`FastPath`: ``GET /v1/users/{user_id}/recommendations`` as plain ASGI, ahead of FastAPI.

The hot route costs a fraction of what FastAPI's routing, dependency solving and
middleware stack add to every request, so `jointrec.serve.app.create_app` answers it here
first. It keeps the route's contract: the same parameter rules and error messages
(`jointrec.serve.params`), the same JSON bytes and headers, the same statuses (422 for bad
input, 500 without a stack trace for bugs) and the same ``/metrics`` counts. Everything
else, including ``HEAD``, a ``root_path`` and any path that is not exactly
``/v1/users/{id}/recommendations``, goes to FastAPI, which also keeps the route itself (and
its OpenAPI entry) as the reference the tests compare against. The id is read as the route
reads it (`jointrec.serve.params.path_id`): an encoded slash (``a%2Fb``) belongs to it.

Example:
    >>> fast = FastPath(Metrics())
    >>> fast.match({"type": "http", "method": "GET", "path": "/v1/users/5/recommendations"})
    '5'
    >>> fast.match({"type": "http", "method": "GET", "path": "/v1/users/5/history"}) is None
    True
    >>> fast.match({"type": "http", "method": "GET", "path": "/v1/users/a/b/recommendations",
    ...             "raw_path": b"/v1/users/a%2Fb/recommendations"})
    'a/b'
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import MutableMapping
from concurrent.futures import Executor
from typing import Any

import orjson

from jointrec.errors import JointrecError
from jointrec.inference.recommender import Recommendations, Recommender
from jointrec.serve.metrics import Metrics
from jointrec.serve.params import (
    USER_PREFIX,
    USER_SUFFIX,
    path_id,
    query_params,
    recommend_for_user,
    typed_id,
)
from jointrec.serve.routes import NotFoundError, recommendations_payload

log = logging.getLogger("jointrec.serve")

ROUTE = USER_PREFIX + "{user_id}" + USER_SUFFIX
INTERNAL_ERROR = orjson.dumps({"error": "internal server error (logged on the server)"})
_JSON = b"application/json"


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)


class FastPath:
    """Answers user recommendation requests without going through FastAPI.

    Args:
        metrics: Where each answered request is counted (as `MetricsMiddleware` would).
        executor: Threads that compute the answers (``None``: on the event loop). Worth it
            when the search itself is long and releases the GIL (HNSW over a large
            catalogue) and a second core is free; each hop costs tens of microseconds.
    """

    def __init__(self, metrics: Metrics, executor: Executor | None = None) -> None:
        self.metrics = metrics
        self.executor = executor

    def match(self, scope: MutableMapping[str, Any]) -> str | None:
        """The user id of a request this path answers; ``None`` leaves it to FastAPI."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope.get("root_path"):
            return None
        return path_id(scope, USER_PREFIX, USER_SUFFIX)

    async def respond(
        self, scope: MutableMapping[str, Any], send: Any, user_id: str, recommender: Recommender
    ) -> None:
        """Sends the answer for ``user_id`` and counts it on ``/metrics``."""
        start = time.perf_counter()
        status = 500
        try:
            if self.executor is None:
                status, body = self.answer(recommender, user_id, scope["query_string"])
            else:
                status, body = await asyncio.get_running_loop().run_in_executor(
                    self.executor, self.answer, recommender, user_id, scope["query_string"]
                )
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-length", str(len(body)).encode()),
                        (b"content-type", _JSON),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
        finally:
            self.metrics.observe("GET", ROUTE, status, time.perf_counter() - start)

    def answer(self, recommender: Recommender, user_id: str, query: bytes) -> tuple[int, bytes]:
        """Status and JSON body for one request (never raises)."""
        try:
            result = recommend_for_user(recommender, user_id, query_params(query))
            return 200, self.body(recommender, user_id, result)
        except JointrecError as err:
            status = 404 if isinstance(err, NotFoundError) else 422
            return status, _dumps({"error": str(err)})
        except Exception:
            log.exception("unhandled error on GET %s%s%s", USER_PREFIX, user_id, USER_SUFFIX)
            return 500, INTERNAL_ERROR

    def body(self, recommender: Recommender, user_id: str, result: Recommendations) -> bytes:
        """The route's JSON (the FastAPI route's payload, serialised the same way)."""
        kind = recommender.artifact.users.ids.dtype.kind
        return _dumps(recommendations_payload(typed_id(kind, user_id), result))
