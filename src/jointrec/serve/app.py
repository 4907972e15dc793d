"""`create_app`: the FastAPI application serving one artifact.

The artifact is loaded once, in the lifespan hook (never at import), into
``app.state.recommender``. Every error is a JSON ``{"error": "..."}`` with a 4xx status
(5xx only for bugs, without a stack trace); bodies are size- and time-limited
(`jointrec.serve.limits`) and every request is counted on ``/metrics``. The web page
(``static/``: plain HTML, CSS and JavaScript, nothing fetched from elsewhere) is served at
``/``, its icon at ``/favicon.ico``. ``GET /v1/users/{user_id}/recommendations`` and a
well-formed ``POST /v1/recommendations`` are answered by ASGI fast paths ahead of FastAPI
(`jointrec.serve.fastpath`, `jointrec.serve.visitor_path`), with the same results, errors
and metrics. Ids in paths may hold encoded slashes (``a%2Fb``); ids in answers have
the model's types (integers for MovieLens), and request bodies are strict JSON (``true`` is
no integer; a body that is not JSON says where it stops being JSON).

Example:
    >>> from fastapi.testclient import TestClient  # doctest: +SKIP
    >>> with TestClient(create_app("runs/joint")) as client:  # doctest: +SKIP
    ...     client.get("/v1/users/5/recommendations?k=3").json()["items"]
"""

from __future__ import annotations

import gc
import logging
import os
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from jointrec.errors import JointrecError
from jointrec.serve.fastpath import FastPath
from jointrec.serve.limits import BodyLimit
from jointrec.serve.metrics import Metrics, MetricsMiddleware
from jointrec.serve.routes import NotFoundError, json_response, router
from jointrec.serve.visitor_path import VisitorPath, parse, replay

log = logging.getLogger("jointrec.serve")
STATIC = Path(__file__).parent / "static"
#: FastAPI's 400 detail for a body it could not read as JSON for another reason than syntax.
UNPARSED_BODY = "There was an error parsing the body"


def create_app(
    artifact: str | os.PathLike[str],
    *,
    index: str = "auto",
    ef_search: int | None = None,
    max_body_bytes: int = 65536,
    read_timeout: float = 10.0,
    blas_threads: int | None = 1,
    fast_path: bool = True,
    threads: int = 0,
) -> JointrecApp:
    """The HTTP API for the artifact at ``artifact`` (loaded when the app starts).

    Args:
        artifact: Artifact directory written by ``jointrec train``.
        index: ``"auto"``, ``"exact"`` or ``"hnsw"`` (see `Recommender.load`).
        ef_search: HNSW search breadth override.
        max_body_bytes: Largest accepted request body (413 above).
        read_timeout: Seconds a client may take to send a body (408 after).
        blas_threads: BLAS threads while serving; one is fastest for single small queries
            and keeps a shared machine responsive. ``None`` leaves the default.
        fast_path: Answer ``GET /v1/users/{user_id}/recommendations`` and ``POST
            /v1/recommendations`` ahead of FastAPI (`jointrec.serve.fastpath`,
            `jointrec.serve.visitor_path`); ``False`` leaves them to the FastAPI routes.
        threads: Threads computing the fast path's recommendations, so a long HNSW search
            (which releases the GIL) can use a second core; 0 computes them on the event
            loop (best when a request takes well under a millisecond).
    """
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise JointrecError(f"threads={threads!r} is invalid: expected an integer >= 0")
    path = Path(artifact)
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(app: JointrecApp) -> AsyncIterator[None]:
        from jointrec.inference.recommender import Recommender

        app.state.recommender = Recommender.load(path, index=index, ef_search=ef_search)
        limiter = _limit_threads(blas_threads)  # after loading: faiss brings its own BLAS
        app.state.metrics = metrics
        metrics.catalogue_items.set(app.state.recommender.model.num_items - 1)
        # What was just loaded lives as long as the server: moved out of the cyclic
        # collector's view, a full collection no longer walks a large catalogue's objects
        # (a pause of tenths of a second with a million items) in the middle of a request.
        gc.collect()
        gc.freeze()
        executor = None
        threaded = app.fast_path if threads else None
        if threaded is not None:
            executor = ThreadPoolExecutor(threads, thread_name_prefix="jointrec-recommend")
            threaded.executor = executor
        try:
            yield
        finally:
            if threaded is not None and executor is not None:
                threaded.executor = None
                executor.shutdown(wait=True)
            gc.unfreeze()
            if limiter is not None:
                limiter.restore_original_limits()

    app = JointrecApp(
        title="jointrec",
        summary="Retrieve, rank and filter with one jointly trained model.",
        version=_version(),
        lifespan=lifespan,
    )
    app.include_router(router)
    app.mount("/", StaticFiles(directory=STATIC, html=True), name="web")
    _add_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes, read_timeout=read_timeout)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.fast_path = FastPath(metrics) if fast_path else None
    app.visitor_path = VisitorPath(metrics, max_body_bytes, read_timeout) if fast_path else None
    return app


class JointrecApp(FastAPI):
    """FastAPI with the hot route answered before the framework sees it (`FastPath`).

    Everything `FastPath.match` does not claim, and every request before the lifespan has
    loaded the recommender, goes through FastAPI unchanged.
    """

    fast_path: FastPath | None = None
    visitor_path: VisitorPath | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fast = self.fast_path
        if fast is not None:
            user_id = fast.match(scope)
            if user_id is not None:
                recommender = getattr(self.state, "recommender", None)
                if recommender is not None:
                    await fast.respond(scope, send, user_id, recommender)
                    return
        visitor = self.visitor_path
        if visitor is not None and visitor.match(scope):
            recommender = getattr(self.state, "recommender", None)
            if recommender is not None:
                start = time.perf_counter()
                body = await visitor.read(receive, send)
                if body is None:
                    return
                request = parse(body)
                if request is not None:
                    await visitor.respond(start, send, recommender, request)
                    return
                receive = replay(body, receive)
        await super().__call__(scope, receive, send)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    async def not_found(request: Request, exc: NotFoundError) -> Response:
        return json_response({"error": str(exc)}, 404)

    @app.exception_handler(JointrecError)
    async def bad_input(request: Request, exc: JointrecError) -> Response:
        return json_response({"error": str(exc)}, 422)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        return json_response({"error": validation_message(exc.errors(), exc.body)}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.url.path!r}: see /docs for the API"
        elif exc.status_code == 400 and message == UNPARSED_BODY:
            # FastAPI's answer to a body json.loads refuses other than with a syntax error
            # (not UTF-8 text, nested too deeply).
            message = "request body is not valid JSON: expected UTF-8 JSON text"
        return json_response({"error": message}, exc.status_code)

    @app.exception_handler(Exception)
    async def crashed(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return json_response({"error": "internal server error (logged on the server)"}, 500)


def validation_message(errors: Any, body: Any = None) -> str:
    """One readable line from pydantic's validation errors (FastAPI's for a body that is not
    JSON, located in ``body``, the text it could not parse).

    Example:
        >>> validation_message([{"loc": ("query", "k"), "msg": "Input should be less than "
        ...     "or equal to 100", "input": "500"}])
        "query parameter 'k'='500' is invalid: Input should be less than or equal to 100"
        >>> validation_message([{"type": "json_invalid", "loc": ("body", 13),
        ...     "ctx": {"error": "Expecting ',' delimiter"}}], '{"ratings": [] "k": 3}')
        "request body is not valid JSON: Expecting ',' delimiter at line 1 column 14"
    """
    errors = list(errors)
    for error in errors:
        if error.get("type") == "json_invalid":
            return _json_message(error, body)
        if error.get("type") == "missing" and tuple(error.get("loc", ())) == ("body",):
            return "request body is missing: expected a JSON object"
    parts = []
    for error in errors[:3]:
        loc = [str(x) for x in error.get("loc", ())]
        where = {"query": "query parameter", "path": "path parameter", "body": "body field"}.get(
            loc[0] if loc else "", "value"
        )
        name = ".".join(loc[1:]) or "body"
        received = error.get("input")
        shown = repr(received) if isinstance(received, str | int | float | bool) else None
        value = f"{name!r}={shown}" if shown is not None and len(shown) <= 40 else repr(name)
        parts.append(f"{where} {value} is invalid: {error.get('msg', 'bad value')}")
    more = len(errors) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _json_message(error: dict[str, Any], body: Any) -> str:
    """Where and why JSON decoding failed, as `json.JSONDecodeError` words it."""
    reason = str(error.get("ctx", {}).get("error", "JSON decode error"))
    loc = tuple(error.get("loc", ()))
    pos = loc[1] if len(loc) > 1 and isinstance(loc[1], int) else None
    if pos is None:
        return f"request body is not valid JSON: {reason}"
    if not isinstance(body, str):
        return f"request body is not valid JSON: {reason} at character {pos + 1}"
    line = body.count("\n", 0, pos) + 1
    column = pos - body.rfind("\n", 0, pos)
    return f"request body is not valid JSON: {reason} at line {line} column {column}"


def _limit_threads(threads: int | None) -> Any:
    if threads is None:
        return None
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with the serve extra
        return None
    return threadpool_limits(limits=threads)


def _version() -> str:
    from jointrec import __version__

    return __version__
