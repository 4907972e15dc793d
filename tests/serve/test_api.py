"""Every route through FastAPI's TestClient, success and error cases."""

from __future__ import annotations

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


def test_predictions(client, rec):
    pairs = [{"user_id": 3, "item_id": 101}, {"user_id": "4", "item_id": "150"}]
    body = client.post("/v1/predictions", json={"pairs": pairs}).json()
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


def test_history_and_item_search(client):
    history = client.get("/v1/users/2/history?n=3").json()
    assert len(history["items"]) == 3 and "rating" in history["items"][0]
    assert client.get("/v1/users/9999/history").status_code == 404
    found = client.get("/v1/items?query=MOVIE 1 (&limit=5").json()
    assert [i["title"] for i in found["items"]] == ["Movie 1 (1951)"]


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
