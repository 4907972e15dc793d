"""The API's routes: thin handlers over `jointrec.inference.recommender.Recommender`.

Handlers are ``async`` and compute inline: each answer takes well under a millisecond of
NumPy, less than a hop to a thread pool would cost. Responses are serialised by orjson
directly (the schemas document them in OpenAPI without re-validating every response).
"""

from __future__ import annotations

import functools
import struct
import zlib
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException as StarletteHTTPException

from jointrec.errors import JointrecError
from jointrec.inference.recommender import RANK_BY, Recommendations, Recommender
from jointrec.serve import schemas as s
from jointrec.serve.params import USER_PREFIX, USER_SUFFIX, path_id, recommend_for_user, typed_id
from jointrec.serve.report import model_report, plot_files


class _AnyText(Convertor[str]):
    """``{name:jointrec_id}``: one or more characters of any kind, slashes and newlines
    included (Starlette's ``path`` convertor stops at a newline). Starlette matches routes
    on the decoded path, where ``a%2Fb`` is ``a/b``; `_path_id` then reads the id from the
    raw path, so only an encoded slash belongs to it."""

    regex = "[\\s\\S]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("jointrec_id", _AnyText())

router = APIRouter()
IdPath = Annotated[str, PathParam(min_length=1, max_length=s.MAX_ID_LENGTH)]


class NotFoundError(JointrecError):
    """An id in the URL path that the model does not know (answered with 404)."""


def json_response(payload: Any, status: int = 200) -> Response:
    """An ``application/json`` response serialised by orjson (NaN and infinity as null)."""
    return Response(
        orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status,
        media_type="application/json",
    )


def _recommender(request: Request) -> Recommender:
    return request.app.state.recommender


def _user_kind(rec: Recommender) -> str:
    """NumPy dtype kind of the model's user ids (``"i"``: integers), for `typed_id`."""
    return rec.artifact.users.ids.dtype.kind


def _path_id(request: Request, name: str) -> str:
    """Path parameter ``name`` as `path_id` reads it from the undecoded path, so ``a%2Fb`` is
    the id ``a/b`` (the route declares it ``{name:jointrec_id}``, `_AnyText`); a literal
    slash in it means no route (404, as for any unknown path)."""
    prefix, _, suffix = request.scope["route"].path_format.partition("{" + name + "}")
    found = path_id(request.scope, prefix, suffix)
    if found is None:
        raise StarletteHTTPException(404)
    return found


def _item_index(rec: Recommender, item_id: str) -> int:
    try:
        return rec.item_index(item_id)
    except JointrecError as err:
        raise NotFoundError(str(err)) from None


def _page(items: list[Any]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in items]


def recommendations_payload(user_id: int | str | None, result: Recommendations) -> dict[str, Any]:
    """The JSON of a recommendation route (``s.Recommendations``); ``user_id`` (typed as the
    model's user ids, `typed_id`) is ``None`` for an anonymous visitor."""
    return {
        "user_id": user_id,
        "source": result.source,
        "fallback": result.fallback,
        "items": _page(result.items),
    }


def _parameter(name: str, where: str, schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema,
        "description": text,
    }


# The hot route reads its parameters itself (FastAPI's per-parameter validation costs more
# than the recommendation); they are documented in OpenAPI by hand.
USER_RECOMMENDATION_PARAMETERS = [
    _parameter(
        "user_id",
        "path",
        {"type": "string", "minLength": 1, "maxLength": s.MAX_ID_LENGTH},
        "Raw user id; an unknown id gets the popularity fallback.",
    ),
    _parameter(
        "k",
        "query",
        {"type": "integer", "minimum": 1, "maximum": s.MAX_K, "default": 10},
        "Items to return.",
    ),
    _parameter(
        "candidates",
        "query",
        {"type": "integer", "minimum": 1, "maximum": s.MAX_CANDIDATES, "default": 100},
        "Items retrieved before ranking (at least k are used).",
    ),
    _parameter(
        "exclude_seen",
        "query",
        {"type": "boolean", "default": True},
        "Leave out items the user rated in the training data.",
    ),
    _parameter(
        "rank_by",
        "query",
        {"type": "string", "enum": list(RANK_BY), "default": RANK_BY[0]},
        "Order of the items: retrieval score, or the rating head's predicted stars.",
    ),
]


@router.get(
    USER_PREFIX + "{user_id:jointrec_id}" + USER_SUFFIX,
    response_model=None,
    responses={200: {"model": s.Recommendations}, 422: {"model": s.Error}},
    summary="Recommendations for a user (popularity fallback when the user is unknown)",
    openapi_extra={"parameters": USER_RECOMMENDATION_PARAMETERS},
)
async def user_recommendations(request: Request) -> Response:
    # Served by jointrec.serve.fastpath unless create_app(fast_path=False); this handler is
    # the reference the fast path is tested against (and answers HEAD).
    rec = _recommender(request)
    user_id = _path_id(request, "user_id")
    result = recommend_for_user(rec, user_id, request.query_params)
    return json_response(recommendations_payload(typed_id(_user_kind(rec), user_id), result))


@router.post(
    "/v1/recommendations",
    response_model=None,
    responses={200: {"model": s.Recommendations}},
    summary="Recommendations for an anonymous visitor, folded in from their ratings",
)
async def anonymous_recommendations(request: Request, body: s.AnonymousRequest) -> Response:
    rec = _recommender(request)
    result = rec.recommend(
        ratings=[(r.item_id, r.rating) for r in body.ratings],
        k=body.k,
        exclude_seen=body.exclude_rated,
        candidates=max(body.candidates, body.k),
        rank_by=body.rank_by,
    )
    return json_response(recommendations_payload(None, result))


@router.post(
    "/v1/predictions",
    response_model=None,
    responses={200: {"model": s.Predictions}},
    summary="Predicted stars for (user, item) pairs",
)
async def predictions(request: Request, body: s.PredictionRequest) -> Response:
    rec = _recommender(request)
    users = np.array([rec.user_index(p.user_id) for p in body.pairs], dtype=np.int64)
    items = np.array([rec.item_index(p.item_id) for p in body.pairs], dtype=np.int64)
    stars = rec.model.predict_ratings(users, items)
    kind, item_ids = _user_kind(rec), rec.catalogue.ids
    return json_response(
        {
            "predictions": [
                {
                    "user_id": typed_id(kind, p.user_id),
                    "item_id": item_ids[j],
                    "predicted_rating": float(v),
                }
                for p, j, v in zip(body.pairs, items.tolist(), stars, strict=True)
            ]
        }
    )


@router.get(
    "/v1/items/{item_id:jointrec_id}/similar",
    response_model=None,
    responses={200: {"model": s.Similar}, 404: {"model": s.Error}},
    summary="The items closest to an item by retrieval vector",
)
async def similar_items(
    request: Request, item_id: IdPath, k: Annotated[int, Query(ge=1, le=s.MAX_K)] = 10
) -> Response:
    rec = _recommender(request)
    item_id = _path_id(request, "item_id")
    j = _item_index(rec, item_id)
    k = min(k, rec.model.num_items - 2) or 1
    return json_response({"item": rec.item_info(j), "items": _page(rec.similar_items(item_id, k))})


@router.get(
    "/v1/users/{user_id:jointrec_id}/history",
    response_model=None,
    responses={200: {"model": s.History}, 404: {"model": s.Error}},
    summary="A user's top-rated training items",
)
async def history(
    request: Request, user_id: IdPath, n: Annotated[int, Query(ge=1, le=s.MAX_K)] = 10
) -> Response:
    rec = _recommender(request)
    user_id = _path_id(request, "user_id")
    if not rec.knows_user(user_id):
        raise NotFoundError(f"unknown user id {user_id!r}: expected a user of the training data")
    rows = rec.history(user_id, n)
    items = [{**rec.item_info(rec.item_index(h.item_id)), "rating": h.rating} for h in rows]
    return json_response({"user_id": typed_id(_user_kind(rec), user_id), "items": items})


@router.get(
    "/v1/items",
    response_model=None,
    responses={200: {"model": s.ItemSearch}},
    summary="Search the catalogue by title (case-insensitive substring)",
)
async def search_items(
    request: Request,
    query: Annotated[str, Query(max_length=100)] = "",
    limit: Annotated[int, Query(ge=1, le=s.MAX_K)] = 20,
) -> Response:
    rec = _recommender(request)
    found = rec.search_titles(query, limit)
    return json_response({"query": query, "items": [rec.item_info(j) for j in found]})


@router.get(
    "/v1/model",
    response_model=None,
    responses={200: {"model": s.ModelReport}},
    summary="The served model: facts, test metrics, comparison and plots",
)
async def model(request: Request) -> Response:
    rec = _recommender(request)
    cached = getattr(request.app.state, "report", None)
    if cached is None:
        cached = request.app.state.report = model_report(rec)
    return json_response(cached)


@router.get(
    "/v1/model/plots/{name}",
    response_model=None,
    responses={200: {"content": {"image/png": {}}}, 404: {"model": s.Error}},
    summary="A plot of the served artifact (PNG)",
)
async def model_plot(request: Request, name: IdPath) -> Response:
    path = plot_files(Path(_recommender(request).artifact.path)).get(name)
    if path is None:
        raise NotFoundError(f"no plot {name!r} in this artifact: see /v1/model for the list")
    return Response(path.read_bytes(), media_type="image/png")


@router.get(
    "/health",
    response_model=None,
    responses={200: {"model": s.Health}},
    summary="Liveness and what is loaded",
)
async def health(request: Request) -> Response:
    rec = _recommender(request)
    return json_response(
        {
            "status": "ok",
            "artifact": str(rec.artifact.path),
            "users": rec.model.num_users - 1,
            "items": rec.model.num_items - 1,
            "index": rec.index.kind,
        }
    )


@router.get(
    "/metrics",
    response_model=None,
    responses={200: {"content": {"text/plain": {}}}},
    summary="Prometheus metrics",
)
async def metrics(request: Request) -> Response:
    return Response(
        request.app.state.metrics.render(),
        media_type="text/plain; version=0.0.4; charset=utf-8",
    )


@router.api_route("/favicon.ico", methods=["GET", "HEAD"], include_in_schema=False)
async def favicon() -> Response:
    # Browsers ask for it on their own: a small PNG drawn here, so the page loads no file
    # from elsewhere and its console shows no 404.
    return Response(
        favicon_png(),
        media_type="image/png",
        headers={"cache-control": "public, max-age=86400"},
    )


@functools.cache
def favicon_png() -> bytes:
    """The page's icon, 32 x 32: the three bars of a ranked list on the page's blue (PNG).

    Example:
        >>> favicon_png()[:8]
        b'\\x89PNG\\r\\n\\x1a\\n'
    """
    size, radius = 32, 6
    blue, white, clear = b"\x0b\x5c\xad\xff", b"\xff\xff\xff\xff", b"\x00\x00\x00\x00"
    bars = [(7, 26), (14, 21), (21, 16)]  # (top row, end column); 4 rows high from column 6

    def pixel(x: int, y: int) -> bytes:
        dx = max(radius - x, x - (size - 1 - radius), 0)
        dy = max(radius - y, y - (size - 1 - radius), 0)
        if dx * dx + dy * dy > radius * radius:
            return clear  # outside the rounded corners
        return white if any(t <= y < t + 4 and 6 <= x < end for t, end in bars) else blue

    # Each row starts with its filter type, 0 (none).
    pixels = b"".join(b"\x00" + b"".join(pixel(x, y) for x in range(size)) for y in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels, 9))
        + chunk(b"IEND", b"")
    )
