"""An in-process client of the API of the planted artifact (tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def client(planted: Path):
    from fastapi.testclient import TestClient

    from jointrec.serve import create_app

    with TestClient(create_app(planted), raise_server_exceptions=False) as c:
        yield c
