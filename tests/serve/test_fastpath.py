"""The ASGI fast path answers exactly what the FastAPI route answers: same status, headers
and body bytes, same errors, same metrics; everything it does not claim reaches FastAPI."""

from __future__ import annotations

import logging
from urllib.parse import quote

import orjson
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jointrec.errors import JointrecError
from jointrec.serve import create_app
from jointrec.serve.fastpath import FastPath
from jointrec.serve.metrics import Metrics

ROUTE = "/v1/users/{user_id}/recommendations"


@pytest.fixture(scope="module")
def pair(planted):
    """(fast, reference): the same artifact served with and without the fast path."""
    fast = TestClient(create_app(planted), raise_server_exceptions=False)
    reference = TestClient(create_app(planted, fast_path=False), raise_server_exceptions=False)
    with fast, reference:
        assert fast.app.fast_path is not None and reference.app.fast_path is None
        yield fast, reference


def answer(client: TestClient, method: str, url: str) -> tuple[int, list, bytes]:
    response = client.request(method, url)
    return response.status_code, response.headers.raw, response.content


def same(pair, url: str, method: str = "GET") -> tuple[int, bytes]:
    fast, reference = pair
    got, want = answer(fast, method, url), answer(reference, method, url)
    assert got == want, url
    return got[0], got[2]


def recommendations_metrics(client: TestClient) -> list[str]:
    return [
        line
        for line in client.get("/metrics").text.splitlines()
        if f'route="{ROUTE}"' in line and not line.startswith(("#", "jointrec_request_duration"))
    ]


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?k=10",
        "?k=1&candidates=1",
        "?k=100&candidates=1000",
        "?k=7&candidates=3",  # candidates below k: k are retrieved
        "?k=60&exclude_seen=false",
        "?exclude_seen=0",
        "?exclude_seen=YES",
        "?rank_by=rating&k=20",
        "?rank_by=retrieval",
        "?k=%205",  # int(" 5") is 5
        "?k=5&k=7",  # the last value wins, as in Starlette
        "?k=3&unknown=1&&=",
    ],
)
@pytest.mark.parametrize("user", ["1", "7", "30"])
def test_known_users_byte_identical(pair, user, query):
    status, body = same(pair, f"/v1/users/{user}/recommendations{query}")
    assert status == 200
    parsed = orjson.loads(body)
    assert parsed["source"] == "model" and parsed["user_id"] == int(user)  # as item ids


@pytest.mark.parametrize(
    ("user", "user_id"),
    [
        ("somebody-new", "somebody-new"),
        ("0", 0),
        ("-1", -1),
        ("007", 7),  # the recommender reads it as user 7, and says so
        (" 7", 7),
        ("7.0", "7.0"),
        ("é", "é"),
        ("a b", "a b"),
        ("x" * 64, "x" * 64),
        ("9" * 30, "9" * 30),  # no 64-bit id: not one of the model's ids, left as text
        ("😀", "😀"),
        ("a/b", "a/b"),  # an encoded slash is part of the id
        ("/", "/"),
    ],
)
def test_unknown_and_odd_users_byte_identical(pair, user, user_id):
    status, body = same(pair, f"/v1/users/{quote(user, safe='')}/recommendations?k=4")
    assert status == 200
    assert orjson.loads(body)["user_id"] == user_id


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/v1/users/3/recommendations?k=0", 422, "'k'='0' is invalid"),
        ("/v1/users/3/recommendations?k=101", 422, "1 <= k <= 100"),
        ("/v1/users/3/recommendations?k=ten", 422, "'k'='ten'"),
        ("/v1/users/3/recommendations?k=", 422, "'k'=''"),
        ("/v1/users/3/recommendations?candidates=5000", 422, "1 <= candidates <= 1000"),
        ("/v1/users/3/recommendations?candidates=-1", 422, "'candidates'='-1'"),
        ("/v1/users/3/recommendations?exclude_seen=maybe", 422, "expected true or false"),
        ("/v1/users/3/recommendations?k=%FF", 422, "'k'='\ufffd'"),
        ("/v1/users/3/recommendations?k=3;candidates=4", 422, "'k'='3;candidates=4'"),
        (f"/v1/users/{'x' * 65}/recommendations", 422, "has 65 characters: expected 1 to 64"),
        ("/v1/users//recommendations", 404, "no route"),
        ("/v1/users/3/recommendations/", 404, "no route"),
        ("/v1/users/a/b/recommendations", 404, "no route"),  # a literal slash splits the path
        ("/v1/users/a%2Frecommendations", 404, "no route"),  # no id segment: 'a/recommendations'
        ("/v1%2Fusers/3/recommendations", 404, "no route"),
        ("/v1/users/recommendations", 404, "no route"),
    ],
)
def test_errors_identical(pair, url, status, message):
    got_status, body = same(pair, url)
    assert got_status == status
    assert message in orjson.loads(body)["error"]


@pytest.mark.parametrize("method", ["HEAD", "POST", "DELETE"])
def test_other_methods_reach_fastapi(pair, method):
    status, _ = same(pair, "/v1/users/3/recommendations", method)
    assert status in (404, 405)  # FastAPI's answer, whatever it is, and the same in both


def test_metrics_count_the_same(planted):
    urls = [
        "/v1/users/3/recommendations",
        "/v1/users/nobody/recommendations?k=2",
        "/v1/users/3/recommendations?k=0",
        "/v1/users/3/recommendations?k=abc",
        "/v1/users/a%2Fb/recommendations",  # an encoded slash: the route, as any id
    ]
    counted = []
    for fast_path in (True, False):
        with TestClient(create_app(planted, fast_path=fast_path)) as client:
            for url in urls:
                client.get(url)
            counted.append(recommendations_metrics(client))
    assert counted[0] == counted[1]
    assert any('status="200"} 3' in line for line in counted[0])
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
                answers.append(answer(client, "GET", "/v1/users/1/recommendations"))
                assert "unhandled error" in caplog.text and "secret internals" in caplog.text
    assert answers[0] == answers[1]
    assert answers[0][0] == 500 and b"secret" not in answers[0][2]


def test_retrieval_only_model_gives_null_stars(planted):
    bodies = []
    for fast_path in (True, False):
        with TestClient(create_app(planted, fast_path=fast_path)) as client:
            client.app.state.recommender.model.can_rate = False
            bodies.append(client.get("/v1/users/5/recommendations?k=3").content)
    assert bodies[0] == bodies[1]
    items = orjson.loads(bodies[0])["items"]
    assert [i["predicted_rating"] for i in items] == [None] * 3
    assert all(isinstance(i["retrieval_score"], float) for i in items)


def test_fast_path_never_reaches_fastapi(planted):
    with TestClient(create_app(planted)) as client:
        client.app.router.routes.clear()  # FastAPI could answer nothing now
        response = client.get("/v1/users/3/recommendations?k=2")
        assert response.status_code == 200 and len(response.json()["items"]) == 2
        assert client.get("/health").status_code == 404


def test_threads_answer_the_same(planted, pair):
    urls = [
        "/v1/users/3/recommendations?k=7",
        "/v1/users/nobody/recommendations",
        "/v1/users/3/recommendations?k=0",
    ]
    with TestClient(create_app(planted, threads=2)) as threaded:
        fast = threaded.app.fast_path
        assert fast.executor is not None
        for url in urls:
            assert answer(threaded, "GET", url) == answer(pair[1], "GET", url), url
    assert fast.executor is None  # shut down with the lifespan
    with pytest.raises(JointrecError, match="threads=-1 is invalid: expected an integer >= 0"):
        create_app(planted, threads=-1)


def test_match_claims_only_the_route():
    fast = FastPath(Metrics())

    def scope(path: str, method: str = "GET", root_path: str = "") -> dict:
        return {"type": "http", "method": method, "path": path, "root_path": root_path}

    assert fast.match(scope("/v1/users/abc/recommendations")) == "abc"
    assert fast.match(scope("/v1/users/recommendations")) is None
    assert fast.match(scope("/v1/users/a/b/recommendations")) is None
    assert fast.match(scope("/v1/users/5/recommendations", "HEAD")) is None
    assert fast.match(scope("/v1/users/5/recommendations", root_path="/api")) is None
    assert fast.match({"type": "websocket", "path": "/v1/users/5/recommendations"}) is None


@pytest.mark.parametrize(
    ("raw_path", "user_id"),
    [
        (b"/v1/users/a%2Fb/recommendations", "a/b"),
        (b"/v1/users/a%2fb/recommendations", "a/b"),
        (b"/v1/users/%2F/recommendations", "/"),
        (b"/v1/users/%C3%A9%20x/recommendations", "é x"),
        (b"/v1/users/%25/recommendations", "%"),  # decoded once
        (b"/v1/users/%FF/recommendations", "\ufffd"),  # as the server decodes the path
        (b"/v1/users/a/b/recommendations", None),  # a literal slash
        (b"/v1/users/a%2Frecommendations", None),
        (b"/v1%2Fusers/a/recommendations", None),
        (b"/v1/users/%2F%2Frecommendations", None),
    ],
)
def test_match_reads_the_id_from_the_raw_path(raw_path, user_id):
    from urllib.parse import unquote

    path = unquote(raw_path.decode("ascii"))  # what the server puts in "path"
    scope = {"type": "http", "method": "GET", "path": path, "raw_path": raw_path}
    assert FastPath(Metrics()).match(scope) == user_id


def test_encoded_slash_reaches_the_route(planted, pair):
    """``a%2Fb`` is the id ``a/b`` in both (Starlette decodes %2F in ``path``): an unknown
    user of the planted artifact, its popularity fallback."""
    status, body = same(pair, "/v1/users/a%2Fb/recommendations?k=3")
    assert status == 200
    parsed = orjson.loads(body)
    assert parsed["user_id"] == "a/b" and parsed["source"] == "popularity"
    assert same(pair, "/v1/users/a%2fb/recommendations?k=3") == (status, body)


@pytest.fixture(scope="module")
def string_pair(string_ids):
    """(fast, reference) over the artifact whose user ids are strings."""
    fast = TestClient(create_app(string_ids), raise_server_exceptions=False)
    reference = TestClient(create_app(string_ids, fast_path=False), raise_server_exceptions=False)
    with fast, reference:
        yield fast, reference


@pytest.mark.parametrize(
    ("user", "source"),
    [
        ("a/b", "model"),
        ("7", "model"),
        ("bob", "model"),
        ("nobody", "popularity"),
        ("1", "popularity"),
    ],
)
def test_string_user_ids_stay_strings(string_pair, user, source):
    """User ids come back with the model's type: strings here, even one that reads as an
    integer; a known user whose id holds a slash gets their own recommendations."""
    status, body = same(string_pair, f"/v1/users/{quote(user, safe='')}/recommendations?k=3")
    assert status == 200
    parsed = orjson.loads(body)
    assert parsed["user_id"] == user and parsed["source"] == source
    assert all(isinstance(i["item_id"], int) for i in parsed["items"])


@pytest.mark.slow
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    user=st.one_of(st.text(min_size=1, max_size=70), st.integers(-5, 40).map(str)),
    query=st.lists(
        st.tuples(
            st.sampled_from(["k", "candidates", "exclude_seen", "rank_by", "other"]),
            st.one_of(
                st.integers(-3, 1200).map(str),
                st.text(max_size=6),
                st.sampled_from(["rating", "retrieval"]),
            ),
        ),
        max_size=4,
    ),
)
def test_fuzz_fast_path_matches_fastapi(pair, user, query):
    params = "&".join(f"{quote(n)}={quote(v, safe='')}" for n, v in query)
    same(pair, f"/v1/users/{quote(user, safe='')}/recommendations?{params}")
