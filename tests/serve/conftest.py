"""A planted artifact (no training) and an in-process client of its API."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from jointrec.testing.artifacts import planted_artifact

    return planted_artifact(tmp_path_factory.mktemp("planted") / "artifact")


@pytest.fixture(scope="module")
def client(planted: Path):
    from fastapi.testclient import TestClient

    from jointrec.serve import create_app

    with TestClient(create_app(planted), raise_server_exceptions=False) as c:
        yield c
