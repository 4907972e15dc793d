"""The web page's files and the model report behind it (no browser needed)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "src" / "jointrec" / "serve" / "static"


def test_page_is_served_and_self_contained(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="app.js"' in page.text and 'href="app.css"' in page.text
    assert client.get("/app.js").status_code == 200
    assert client.get("/app.css").headers["content-type"].startswith("text/css")
    for path in STATIC.iterdir():  # offline: nothing is loaded from another host
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}/", path.read_text()), path.name


def test_every_form_control_has_a_label():
    page = (STATIC / "index.html").read_text()
    inputs = re.findall(r'<input id="([^"]+)"', page)
    assert inputs
    for name in inputs:
        assert f'for="{name}"' in page or re.search(rf'<label[^>]*>\s*<input id="{name}"', page)


@pytest.fixture
def reported(planted, tmp_path):
    from fastapi.testclient import TestClient

    from jointrec.serve import create_app

    art = shutil.copytree(planted, tmp_path / "art")
    models = [
        {"name": "rating-only", "metrics": {"rmse": 0.93, "recall@10": 0.05}},
        {"name": "joint", "metrics": {"rmse": 0.91, "recall@10": 0.3}},
    ]
    (art / "compare.json").write_text(json.dumps({"models": models}))
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 16
    (art / "sweep.png").write_bytes(png)
    with TestClient(create_app(art), raise_server_exceptions=False) as c:
        yield c, png


def test_model_report_lists_metrics_comparison_and_plots(reported):
    client, png = reported
    report = client.get("/v1/model").json()
    assert report["metrics"]["rmse"] == 0.95 and report["users"] == 30 and report["items"] == 60
    assert [row["name"] for row in report["comparison"]] == ["rating-only", "joint"]
    assert report["plots"] == [
        {
            "name": "sweep.png",
            "url": "/v1/model/plots/sweep.png",
            "title": "Retrieval:rating loss-weight sweep (the RMSE / Recall@10 frontier)",
        }
    ]
    image = client.get("/v1/model/plots/sweep.png")
    assert image.content == png and image.headers["content-type"] == "image/png"


@pytest.mark.parametrize("name", ["config.json", "..%2Fconfig.json", "nope.png"])
def test_only_listed_plots_are_served(reported, name):
    client, _ = reported
    response = client.get(f"/v1/model/plots/{name}")
    assert response.status_code == 404 and "config" not in response.text.split("'")[0]
    assert response.json()["error"].startswith(("no plot", "no route"))


def test_report_without_comparison(client):
    report = client.get("/v1/model").json()
    assert report["comparison"] is None and report["plots"] == []


def test_favicon_is_a_small_png_served_by_the_app(client):
    """Browsers ask for /favicon.ico on their own: a PNG drawn by the app, not a 404."""
    import struct
    import zlib

    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    png = response.content
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 1024
    chunks, at = {}, 8
    while at < len(png):  # every chunk well formed, its CRC right
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        assert struct.unpack(">I", png[at + 8 + length : at + 12 + length])[0] == zlib.crc32(
            kind + data
        )
        chunks[kind] = data
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (width, height, depth, colour) == (32, 32, 8, 6)
    assert len(zlib.decompress(chunks[b"IDAT"])) == 32 * (1 + 32 * 4) and b"IEND" in chunks
    assert 'rel="icon" href="favicon.ico"' in client.get("/").text
    assert client.head("/favicon.ico").status_code == 200
