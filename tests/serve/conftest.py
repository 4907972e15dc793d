"""An in-process client of the API of the planted artifact (tests/conftest.py), and the same
artifact with string user ids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

#: User ids of `string_ids`: user ``u`` of the planted artifact is ``STRING_USERS[u - 1]``.
STRING_USERS = ["a/b", "bob", "7", *(f"user-{u}" for u in range(4, 31))]


@pytest.fixture(scope="module")
def client(planted: Path):
    from fastapi.testclient import TestClient

    from jointrec.serve import create_app

    with TestClient(create_app(planted), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def string_ids(planted: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The planted artifact with string user ids (`STRING_USERS`: one holds a slash, one
    reads as an integer); item ids stay integers."""
    from jointrec.artifact.directory import load_artifact, save_artifact
    from jointrec.data.vocabulary import Vocabulary

    art = load_artifact(planted)
    assert len(art.users.ids) == len(STRING_USERS)
    return save_artifact(
        tmp_path_factory.mktemp("string-ids") / "artifact",
        config=art.config,
        exported=art.exported,
        users=Vocabulary(np.array(STRING_USERS), name="user"),
        items=art.items,
        item_table=art.item_table,
        seen=art.seen,
        metrics=art.metrics,
        data_info=art.data_info,
    )
