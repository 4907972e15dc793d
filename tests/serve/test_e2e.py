"""End to end: ``jointrec serve`` in its own process, queried over HTTP, then stopped."""

from __future__ import annotations

import json
import signal
import urllib.error
import urllib.request

import pytest

from jointrec.testing.server import serving


@pytest.mark.e2e
@pytest.mark.slow
def test_serve_process_answers_over_http(planted):
    with serving(planted) as (port, proc):
        base = f"http://127.0.0.1:{port}"
        with urllib.request.urlopen(f"{base}/v1/users/5/recommendations?k=3") as r:
            body = json.loads(r.read())
        assert r.headers["content-type"] == "application/json"
        assert body["source"] == "model" and len(body["items"]) == 3
        request = urllib.request.Request(
            f"{base}/v1/recommendations",
            data=json.dumps({"ratings": [{"item_id": 101, "rating": 5}], "k": 2}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request) as r:
            assert json.loads(r.read())["source"] == "fold-in"
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/v1/items/1/similar")
        assert err.value.code == 404 and "unknown item id" in json.loads(err.value.read())["error"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    output = proc.stdout.read().decode()  # type: ignore[union-attr]
    assert "127.0.0.1" in output and "Traceback" not in output
