"""Property-based fuzzing of the API: whatever a client sends, no 5xx and always JSON."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ids = st.one_of(
    st.integers(-(2**70), 2**70),
    st.text(min_size=1, max_size=80),
    st.sampled_from(["3", "101", "0", "-1"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.text(max_size=20),
)
json_values = st.recursive(
    scalars,
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=12,
)


def ok(response) -> None:
    assert response.status_code < 500, response.text
    assert response.headers["content-type"].startswith(("application/json", "text/plain"))
    if response.status_code >= 400:
        assert isinstance(response.json()["error"], str)
        assert "Traceback" not in response.text


@pytest.mark.slow
@SETTINGS
@given(user=ids, k=scalars, candidates=scalars, exclude=scalars)
def test_fuzz_user_recommendations(client, user, k, candidates, exclude):
    params = "&".join(
        f"{n}={quote(str(v))}"
        for n, v in (("k", k), ("candidates", candidates), ("exclude_seen", exclude))
        if v is not None
    )
    ok(client.get(f"/v1/users/{quote(str(user), safe='')}/recommendations?{params}"))


@pytest.mark.slow
@SETTINGS
@given(
    body=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "ratings": st.lists(
                    st.fixed_dictionaries({"item_id": ids, "rating": scalars}), max_size=5
                )
            },
            optional={"k": scalars, "candidates": scalars, "exclude_rated": scalars},
        ),
    )
)
def test_fuzz_anonymous_recommendations(client, body):
    ok(
        client.post(
            "/v1/recommendations",
            content=json.dumps(body, allow_nan=True).encode(),
            headers={"content-type": "application/json"},
        )
    )


@pytest.mark.slow
@SETTINGS
@given(
    body=st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"pairs": st.lists(st.fixed_dictionaries({"user_id": ids, "item_id": ids}), max_size=5)}
        ),
    ),
    raw=st.binary(max_size=64),
)
def test_fuzz_predictions_and_raw_bytes(client, body, raw):
    ok(
        client.post(
            "/v1/predictions",
            content=json.dumps(body, allow_nan=True).encode(),
            headers={"content-type": "application/json"},
        )
    )
    ok(client.post("/v1/predictions", content=raw, headers={"content-type": "application/json"}))


@pytest.mark.slow
@SETTINGS
@given(item=ids, k=scalars, query=st.text(max_size=120), limit=scalars, n=scalars)
def test_fuzz_items_and_history(client, item, k, query, limit, n):
    segment = quote(str(item), safe="")
    ok(client.get(f"/v1/items/{segment}/similar", params={"k": k} if k is not None else None))
    ok(
        client.get(
            "/v1/items", params={"query": query, **({"limit": limit} if limit is not None else {})}
        )
    )
    ok(client.get(f"/v1/users/{segment}/history", params={"n": n} if n is not None else None))
