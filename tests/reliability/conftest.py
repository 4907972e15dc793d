"""Fixtures of the reliability suite (helpers live in reliability_helpers.py)."""

from __future__ import annotations

from collections.abc import Callable
from itertools import count
from pathlib import Path

import pytest
from reliability_helpers import SMALL, write_ml100k_zip

from jointrec.settings import RunConfig, preset


@pytest.fixture(scope="session")
def small_config() -> RunConfig:
    """The default preset, shrunk: fast to compile and train on tiny data."""
    return preset("default").replace(**SMALL)


@pytest.fixture
def ml_zip(tmp_path: Path) -> Callable[..., Path]:
    """Builds ML-100k-layout zips with chosen contents: ``ml_zip(ratings, users=...)``."""
    numbers = count()

    def build(ratings: bytes | str, **kwargs: object) -> Path:
        path = tmp_path / f"ml-{next(numbers)}.zip"
        return write_ml100k_zip(path, ratings, **kwargs)  # type: ignore[arg-type]

    return build
