"""The visitor fast path (``POST /v1/recommendations``) answers exactly what the FastAPI
route answers: same status, headers and bytes, same errors, same metrics; whatever it does
not claim reaches FastAPI with the body intact."""

from __future__ import annotations

import logging

import orjson
import pytest
from fastapi.testclient import TestClient

from jointrec.serve import create_app
from jointrec.serve.visitor_path import parse

ROUTE = "/v1/recommendations"
JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def pair(planted):
    """(fast, reference): the same artifact served with and without the fast paths."""
    fast = TestClient(create_app(planted), raise_server_exceptions=False)
    reference = TestClient(create_app(planted, fast_path=False), raise_server_exceptions=False)
    with fast, reference:
        assert fast.app.visitor_path is not None and reference.app.visitor_path is None
        yield fast, reference


def post(client: TestClient, body: bytes, headers: dict[str, str] | None = None):
    response = client.post(ROUTE, content=body, headers=JSON if headers is None else headers)
    return response.status_code, response.headers.raw, response.content


def same(pair, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    got, want = post(pair[0], body, headers), post(pair[1], body, headers)
    assert got == want, body
    return got[0], got[2]


RATED = [{"item_id": 101, "rating": 5.0}, {"item_id": 105, "rating": 2}]


@pytest.mark.parametrize(
    "body",
    [
        {"ratings": RATED},
        {"ratings": RATED, "k": 3},
        {"ratings": RATED, "k": 5, "candidates": 2},  # candidates below k: k are retrieved
        {"ratings": RATED, "k": 100, "candidates": 1000, "exclude_rated": False},
        {"ratings": RATED, "rank_by": "rating", "k": 7},
        {"ratings": [{"item_id": "101", "rating": 4.5}]},  # an integer id sent as text
        {"ratings": [{"rating": 3, "item_id": 110}]},  # keys in any order
        {"ratings": [{"item_id": 101, "rating": 3.0}] * 1},
        {"ratings": []},  # popularity
        {},
    ],
)
def test_valid_requests_byte_identical(pair, body):
    status, content = same(pair, orjson.dumps(body))
    assert status == 200
    assert orjson.loads(content)["source"] in ("fold-in", "popularity")
    assert parse(orjson.dumps(body)) is not None  # answered by the fast path itself


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"",
        b"[]",
        b'{"ratings": [{"item_id": 101, "rating": 5}], "k": true}',
        b'{"ratings": [{"item_id": 101, "rating": 5}], "k": 1.0}',
        b'{"ratings": [{"item_id": 101, "rating": 5}], "k": 0}',
        b'{"ratings": [{"item_id": 101, "rating": 5}], "k": 101}',
        b'{"ratings": [{"item_id": 101, "rating": 5}], "candidates": 1001}',
        b'{"ratings": [{"item_id": 101, "rating": 5}], "rank_by": "stars"}',
        b'{"ratings": [{"item_id": 101, "rating": 5}], "exclude_rated": 1}',
        b'{"ratings": [{"item_id": 101, "rating": 5}], "extra": 1}',
        b'{"ratings": [{"item_id": true, "rating": 5}]}',
        b'{"ratings": [{"item_id": 1.5, "rating": 5}]}',
        b'{"ratings": [{"item_id": 101, "rating": "5"}]}',
        b'{"ratings": [{"item_id": 101, "rating": true}]}',
        b'{"ratings": [{"item_id": 101, "rating": NaN}]}',
        b'{"ratings": [{"item_id": 101, "rating": 1e999}]}',
        b'{"ratings": [{"item_id": 101}]}',
        b'{"ratings": [{"item_id": 101, "rating": 5, "why": "x"}]}',
        b'{"ratings": [{"item_id": 101, "rating": 9}]}',  # out of range: the recommender
        b'{"ratings": [{"item_id": 99999, "rating": 4}]}',  # unknown item: the recommender
        b'{"ratings": [{"item_id": 101, "rating": 4}, {"item_id": 101, "rating": 3}]}',
        b'{"ratings": {"item_id": 101}}',
        b'{"ratings": [{"item_id": 101, "rating": 5}], "k": 99999999999999999999999}',
        orjson.dumps({"ratings": [{"item_id": 101, "rating": 5}] * 101}),
    ],
)
def test_errors_identical(pair, body):
    status, content = same(pair, body)
    assert status in (400, 422)
    assert orjson.loads(content)["error"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"content-type": "text/plain"}, {"content-type": "application/json; charset=utf-8"}],
)
def test_other_content_types_answer_the_same(pair, headers):
    same(pair, orjson.dumps({"ratings": RATED}), headers)


def test_body_over_the_limit_is_refused_the_same(planted):
    body = orjson.dumps({"ratings": RATED, "k": 3}) + b" " * 200
    answers = []
    for fast_path in (True, False):
        app = create_app(planted, fast_path=fast_path, max_body_bytes=100)
        with TestClient(app, raise_server_exceptions=False) as client:
            answers.append(post(client, body))
    assert answers[0] == answers[1] and answers[0][0] == 413


def test_valid_requests_never_reach_fastapi(planted):
    with TestClient(create_app(planted)) as client:
        client.app.router.routes.clear()  # FastAPI could answer nothing now
        response = client.post(ROUTE, json={"ratings": RATED, "k": 2})
        assert response.status_code == 200 and len(response.json()["items"]) == 2
        assert client.post(ROUTE, json={"ratings": RATED, "k": 0}).status_code == 404


def test_metrics_count_the_same(planted):
    bodies = [
        orjson.dumps({"ratings": RATED}),
        orjson.dumps({"ratings": RATED, "k": 2}),
        orjson.dumps({"ratings": RATED, "k": 0}),
        orjson.dumps({"ratings": [{"item_id": 99999, "rating": 4}]}),
    ]
    counted = []
    for fast_path in (True, False):
        with TestClient(create_app(planted, fast_path=fast_path)) as client:
            for body in bodies:
                post(client, body)
            counted.append(
                [
                    line
                    for line in client.get("/metrics").text.splitlines()
                    if f'route="{ROUTE}"' in line
                    and not line.startswith(("#", "jointrec_request_duration"))
                ]
            )
    assert counted[0] == counted[1]
    assert any('status="200"} 2' in line for line in counted[0])
    assert any('status="422"} 2' in line for line in counted[0])


def test_bugs_are_500_without_trace_and_logged(planted, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals at /some/path.py line 3")

    answers = []
    for fast_path in (True, False):
        app = create_app(planted, fast_path=fast_path)
        with TestClient(app, raise_server_exceptions=False) as client:
            client.app.state.recommender.recommend = broken
            with caplog.at_level(logging.ERROR, logger="jointrec.serve"):
                caplog.clear()
                answers.append(post(client, orjson.dumps({"ratings": RATED})))
                assert "unhandled error" in caplog.text and "secret internals" in caplog.text
    assert answers[0] == answers[1]
    assert answers[0][0] == 500 and b"secret" not in answers[0][2]


def test_parse_reads_the_schema_defaults():
    assert parse(b'{"ratings": [{"item_id": "a", "rating": 4}]}') == (
        [("a", 4.0)],
        10,
        100,
        True,
        "retrieval",
    )
    assert parse(b'{"ratings": [], "k": 2, "exclude_rated": false, "rank_by": "rating"}') == (
        [],
        2,
        100,
        False,
        "rating",
    )
