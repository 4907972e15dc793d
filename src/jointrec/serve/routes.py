"""The API's routes: thin handlers over `jointrec.inference.recommender.Recommender`.

Handlers are ``async`` and compute inline: each answer takes well under a millisecond of
NumPy, less than a hop to a thread pool would cost. Responses are serialised by orjson
directly (the schemas document them in OpenAPI without re-validating every response).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import orjson
from fastapi import APIRouter, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import Response

from jointrec.errors import JointrecError
from jointrec.inference.recommender import RANK_BY, Recommendations, Recommender
from jointrec.serve import schemas as s
from jointrec.serve.params import recommend_for_user
from jointrec.serve.report import model_report, plot_files

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


def _item_index(rec: Recommender, item_id: str) -> int:
    try:
        return rec.item_index(item_id)
    except JointrecError as err:
        raise NotFoundError(str(err)) from None


def _page(items: list[Any]) -> list[dict[str, Any]]:
    return [r.to_dict() for r in items]


def recommendations_payload(user_id: str | None, result: Recommendations) -> dict[str, Any]:
    """The JSON of a recommendation route (``s.Recommendations``); ``user_id`` is ``None``
    for an anonymous visitor."""
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
    "/v1/users/{user_id}/recommendations",
    response_model=None,
    responses={200: {"model": s.Recommendations}, 422: {"model": s.Error}},
    summary="Recommendations for a user (popularity fallback when the user is unknown)",
    openapi_extra={"parameters": USER_RECOMMENDATION_PARAMETERS},
)
async def user_recommendations(request: Request) -> Response:
    # Served by jointrec.serve.fastpath unless create_app(fast_path=False); this handler is
    # the reference the fast path is tested against (and answers HEAD).
    user_id = request.path_params["user_id"]
    result = recommend_for_user(_recommender(request), user_id, request.query_params)
    return json_response(recommendations_payload(user_id, result))


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
    return json_response(
        {
            "predictions": [
                {"user_id": p.user_id, "item_id": p.item_id, "predicted_rating": float(v)}
                for p, v in zip(body.pairs, stars, strict=True)
            ]
        }
    )


@router.get(
    "/v1/items/{item_id}/similar",
    response_model=None,
    responses={200: {"model": s.Similar}, 404: {"model": s.Error}},
    summary="The items closest to an item by retrieval vector",
)
async def similar_items(
    request: Request, item_id: IdPath, k: Annotated[int, Query(ge=1, le=s.MAX_K)] = 10
) -> Response:
    rec = _recommender(request)
    j = _item_index(rec, item_id)
    k = min(k, rec.model.num_items - 2) or 1
    return json_response({"item": rec.item_info(j), "items": _page(rec.similar_items(item_id, k))})


@router.get(
    "/v1/users/{user_id}/history",
    response_model=None,
    responses={200: {"model": s.History}, 404: {"model": s.Error}},
    summary="A user's top-rated training items",
)
async def history(
    request: Request, user_id: IdPath, n: Annotated[int, Query(ge=1, le=s.MAX_K)] = 10
) -> Response:
    rec = _recommender(request)
    if not rec.knows_user(user_id):
        raise NotFoundError(f"unknown user id {user_id!r}: expected a user of the training data")
    rows = rec.history(user_id, n)
    items = [{**rec.item_info(rec.item_index(h.item_id)), "rating": h.rating} for h in rows]
    return json_response({"user_id": user_id, "items": items})


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
