"""Every route through FastAPI's TestClient, success and error cases."""

from __future__ import annotations

import json

import numpy as np
import pytest

from jointrec.inference.recommender import Recommender


@pytest.fixture(scope="module")
def rec(planted):
    return Recommender.load(planted)


def test_user_recommendations_match_library(client, rec):
    body = client.get("/v1/users/7/recommendations?k=4&candidates=20").json()
    expected = rec.recommend(7, k=4, candidates=20)
    assert body["source"] == "model" and body["fallback"] is False
    assert [i["item_id"] for i in body["items"]] == [r.item_id for r in expected.items]
    first = body["items"][0]
    assert set(first) == {
        "item_id",
        "title",
        "predicted_rating",
        "retrieval_score",
        "year",
        "genres",
    }
    assert first["title"].startswith("Movie ")


def test_user_recommendations_defaults_and_toggle(client, rec):
    body = client.get("/v1/users/3/recommendations").json()
    assert len(body["items"]) == 10
    seen_ids = {h.item_id for h in rec.history(3, n=100)}
    assert not seen_ids & {i["item_id"] for i in body["items"]}
    everything = client.get("/v1/users/3/recommendations?k=60&exclude_seen=false").json()
    assert seen_ids <= {i["item_id"] for i in everything["items"]}


def test_rank_by_orders_by_retrieval_score_or_predicted_stars(client, rec):
    by_score = client.get("/v1/users/7/recommendations?k=8&candidates=8").json()["items"]
    scores = [i["retrieval_score"] for i in by_score]
    assert scores == sorted(scores, reverse=True)
    url = "/v1/users/7/recommendations?k=8&candidates=8&rank_by=rating"
    by_stars = client.get(url).json()["items"]
    stars = [i["predicted_rating"] for i in by_stars]
    assert stars == sorted(stars, reverse=True)
    assert {i["item_id"] for i in by_score} == {i["item_id"] for i in by_stars}
    expected = rec.recommend(7, k=8, candidates=8, rank_by="rating")
    assert [i["item_id"] for i in by_stars] == [r.item_id for r in expected.items]
    body = {"ratings": [{"item_id": 101, "rating": 5}], "k": 5, "rank_by": "rating"}
    anonymous = client.post("/v1/recommendations", json=body).json()["items"]
    stars = [i["predicted_rating"] for i in anonymous]
    assert stars == sorted(stars, reverse=True)
    bad = client.post("/v1/recommendations", json={**body, "rank_by": "stars"})
    assert bad.status_code == 422 and "rank_by" in bad.text


def test_unknown_user_is_flagged_fallback(client):
    body = client.get("/v1/users/somebody-new/recommendations?k=3").json()
    assert body["fallback"] is True and body["source"] == "popularity"
    assert len(body["items"]) == 3 and body["items"][0]["retrieval_score"] is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("k=0", "query parameter 'k'='0' is invalid: expected an integer 1 <= k <= 100"),
        ("k=101", "1 <= k <= 100"),
        ("k=ten", "'k'='ten' is invalid"),
        ("candidates=5000", "1 <= candidates <= 1000"),
        ("exclude_seen=maybe", "expected true or false"),
        ("rank_by=stars", "'rank_by'='stars' is invalid: expected one of retrieval, rating"),
    ],
)
def test_user_recommendations_bad_query(client, query, message):
    response = client.get(f"/v1/users/3/recommendations?{query}")
    assert response.status_code == 422
    assert message in response.json()["error"]


def test_anonymous_recommendations(client, rec):
    ratings = [{"item_id": 101, "rating": 5}, {"item_id": 102, "rating": 4.5}]
    body = client.post("/v1/recommendations", json={"ratings": ratings, "k": 5}).json()
    expected = rec.recommend(ratings=[(101, 5.0), (102, 4.5)], k=5)
    assert body["source"] == "fold-in" and body["user_id"] is None
    assert [i["item_id"] for i in body["items"]] == [r.item_id for r in expected.items]
    empty = client.post("/v1/recommendations", json={"ratings": []}).json()
    assert empty["fallback"] is True


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"ratings": [{"item_id": 1, "rating": 5}]}, 422, "unknown item id 1"),
        ({"ratings": [{"item_id": 101, "rating": 7}]}, 422, "out of range"),
        ({"ratings": [], "k": 0}, 422, "body field 'k'=0 is invalid"),
        ({"ratings": [], "surprise": 1}, 422, "'surprise'"),
        ({"ratings": [{"item_id": 101 + j, "rating": 4} for j in range(101)]}, 422, "at most 100"),
    ],
)
def test_anonymous_bad_bodies(client, body, status, message):
    response = client.post("/v1/recommendations", json=body)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_malformed_json_is_422(client):
    response = client.post(
        "/v1/recommendations", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "JSON" in response.json()["error"]


@pytest.mark.parametrize(
    "body",
    [
        '{"ratings": [] "k": 3}',
        '{"ratings": [{"item_id": 101, "rating": 5},]}',
        '{\n  "pairs": [\n    {"user_id": 3 "item_id": 101}\n  ]\n}',
        '{"k": 3',
        "",
    ],
)
@pytest.mark.parametrize("route", ["/v1/recommendations", "/v1/predictions"])
def test_malformed_json_says_where(client, route, body):
    """One line saying the body is not JSON, and where json.loads stopped (not "body field
    '13' is invalid")."""
    response = client.post(
        route, content=body.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json() == {"error": response.json()["error"]}
    if not body:
        assert response.json()["error"] == "request body is missing: expected a JSON object"
        return
    with pytest.raises(json.JSONDecodeError) as err:
        json.loads(body)
    e = err.value
    assert response.json()["error"] == (
        f"request body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}"
    )


def test_undecodable_body_is_400_and_says_json(client):
    response = client.post(
        "/v1/predictions",
        content=b'{"pairs": "\xff"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {"error": "request body is not valid JSON: expected UTF-8 JSON text"}


@pytest.mark.parametrize(
    ("route", "body", "field", "expected"),
    [
        ("/v1/recommendations", {"ratings": [], "k": True}, "'k'=True", "valid integer"),
        ("/v1/recommendations", {"ratings": [], "k": 1.0}, "'k'=1.0", "valid integer"),
        (
            "/v1/recommendations",
            {"ratings": [], "candidates": False},
            "'candidates'=False",
            "integer",
        ),
        (
            "/v1/recommendations",
            {"ratings": [{"item_id": True, "rating": 5}]},
            "'ratings.0.item_id'=True",
            "an integer or a string id, got a boolean",
        ),
        (
            "/v1/recommendations",
            {"ratings": [{"item_id": 101.5, "rating": 5}]},
            "'ratings.0.item_id'=101.5",
            "an integer or a string id",
        ),
        (
            "/v1/recommendations",
            {"ratings": [{"item_id": 101, "rating": True}]},
            "'ratings.0.rating'=True",
            "valid number",
        ),
        (
            "/v1/recommendations",
            {"ratings": [], "exclude_rated": 1},
            "'exclude_rated'=1",
            "boolean",
        ),
        (
            "/v1/predictions",
            {"pairs": [{"user_id": True, "item_id": 101}]},
            "'pairs.0.user_id'=True",
            "an integer or a string id",
        ),
        (
            "/v1/predictions",
            {"pairs": [{"user_id": 3, "item_id": False}]},
            "'pairs.0.item_id'=False",
            "an integer or a string id",
        ),
    ],
)
def test_booleans_are_not_integers(client, route, body, field, expected):
    """``true`` is not k=1 (nor item 1, nor 1 star): 422 naming the field and the type."""
    response = client.post(route, json=body)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error.startswith(f"body field {field} is invalid") and expected in error, error
    assert error.count("body field") == 1  # one line, not one per member of a union


def test_integers_and_strings_still_accepted(client):
    body = {"ratings": [{"item_id": "101", "rating": 5}, {"item_id": 102, "rating": 4.5}]}
    response = client.post("/v1/recommendations", json={**body, "k": 3, "candidates": 30})
    assert response.status_code == 200 and len(response.json()["items"]) == 3


def test_predictions(client, rec):
    pairs = [{"user_id": 3, "item_id": 101}, {"user_id": "4", "item_id": "150"}]
    body = client.post("/v1/predictions", json={"pairs": pairs}).json()
    # ids come back with the model's types (integers here), whatever the request's types
    assert [(p["user_id"], p["item_id"]) for p in body["predictions"]] == [(3, 101), (4, 150)]
    got = [p["predicted_rating"] for p in body["predictions"]]
    np.testing.assert_allclose(got, [rec.predict(3, [101])[0], rec.predict(4, [150])[0]], rtol=1e-6)
    bad = client.post("/v1/predictions", json={"pairs": [{"user_id": 999, "item_id": 101}]})
    assert bad.status_code == 422 and "unknown user id 999" in bad.json()["error"]
    assert client.post("/v1/predictions", json={"pairs": []}).status_code == 422


def test_similar_items(client, rec):
    body = client.get("/v1/items/101/similar?k=3").json()
    assert body["item"]["item_id"] == 101
    assert [i["item_id"] for i in body["items"]] == [r.item_id for r in rec.similar_items(101, 3)]
    missing = client.get("/v1/items/5/similar")
    assert missing.status_code == 404 and "unknown item id 5" in missing.json()["error"]
    assert client.get("/v1/items/101/similar?k=0").status_code == 422


def test_user_id_has_the_model_type(client):
    """``user_id`` is an integer for a model with integer user ids, like the item ids."""
    body = client.get("/v1/users/7/recommendations?k=2").json()
    assert body["user_id"] == 7 and isinstance(body["items"][0]["item_id"], int)
    assert client.get("/v1/users/007/recommendations?k=2").json()["user_id"] == 7
    assert client.get("/v1/users/nobody/recommendations?k=2").json()["user_id"] == "nobody"
    assert client.get("/v1/users/2/history?n=1").json()["user_id"] == 2


def test_string_user_ids_in_every_route(string_ids):
    from fastapi.testclient import TestClient

    from jointrec.serve import create_app

    with TestClient(create_app(string_ids), raise_server_exceptions=False) as c:
        body = c.get("/v1/users/7/recommendations?k=2").json()
        assert body["user_id"] == "7" and body["source"] == "model"
        history = c.get("/v1/users/a%2Fb/history?n=2")
        assert history.status_code == 200 and history.json()["user_id"] == "a/b"
        assert c.get("/v1/users/a/b/history").status_code == 404  # a literal slash: no route
        pairs = [{"user_id": "a/b", "item_id": "101"}, {"user_id": "7", "item_id": 102}]
        predicted = c.post("/v1/predictions", json={"pairs": pairs}).json()["predictions"]
        assert [(p["user_id"], p["item_id"]) for p in predicted] == [("a/b", 101), ("7", 102)]


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/v1/items/101%2F/similar", 404, "id '101/' is not an integer"),
        ("/v1/items/101/x/similar", 404, "no route '/v1/items/101/x/similar'"),
        ("/v1/users/2%2F3/history", 404, "unknown user id '2/3'"),
        ("/v1/users/2/3/history", 404, "no route"),
        ("/v1/users/%0A/history", 404, "unknown user id '\\n'"),
        ("/v1/users//history", 404, "no route"),
    ],
)
def test_encoded_slashes_in_other_id_routes(client, url, status, message):
    """An encoded slash is part of the id in every route with an id in its path."""
    response = client.get(url)
    assert response.status_code == status and message in response.json()["error"]


def test_history_and_item_search(client):
    history = client.get("/v1/users/2/history?n=3").json()
    assert len(history["items"]) == 3 and "rating" in history["items"][0]
    assert client.get("/v1/users/9999/history").status_code == 404
    found = client.get("/v1/items?query=MOVIE 1 (&limit=5").json()
    assert [i["title"] for i in found["items"]] == ["Movie 1 (1951)"]
    nothing = client.get("/v1/items?query=xyzzy").json()
    assert nothing == {"query": "xyzzy", "items": []}


def test_health_and_metrics(client):
    health = client.get("/health").json()
    assert health == {
        "status": "ok",
        "artifact": health["artifact"],
        "users": 30,
        "items": 60,
        "index": "exact",
    }
    client.get("/v1/users/1/recommendations")
    text = client.get("/metrics").text
    assert "# TYPE jointrec_requests_total counter" in text
    assert 'route="/v1/users/{user_id}/recommendations",status="200"' in text
    assert (
        'jointrec_request_duration_seconds_bucket{le="+Inf",method="GET",route="/health"}' in text
    )
    assert "process_resident_memory_bytes" in text


def test_unknown_route_and_method(client):
    response = client.get("/v2/nothing")
    assert response.status_code == 404 and "no route '/v2/nothing'" in response.json()["error"]
    assert client.delete("/health").status_code == 405


def test_openapi_documents_every_route(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/users/{user_id}/recommendations",
        "/v1/recommendations",
        "/v1/predictions",
        "/v1/items/{item_id}/similar",
        "/health",
        "/metrics",
    ):
        assert path in paths
    names = [p["name"] for p in paths["/v1/users/{user_id}/recommendations"]["get"]["parameters"]]
    assert names == ["user_id", "k", "candidates", "exclude_seen", "rank_by"]
    for path, name in (
        ("/v1/users/{user_id}/history", "user_id"),
        ("/v1/items/{item_id}/similar", "item_id"),
    ):  # the routes' convertor stays out of the document
        (param,) = [p for p in paths[path]["get"]["parameters"] if p["in"] == "path"]
        assert param["name"] == name and param["schema"]["maxLength"] == 64
    assert not [p for p in paths if ":" in p or "favicon" in p]
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    k = schemas["AnonymousRequest"]["properties"]["k"]
    assert k["type"] == "integer" and k["maximum"] == 100
    assert {"type": "integer"} in schemas["Rating"]["properties"]["item_id"]["anyOf"]
