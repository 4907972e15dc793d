"""Shared fixtures: seeded data, the MovieLens 100k zip, and tiny archives."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import jointrec  # noqa: F401  (selects the JAX backend before any test imports Keras)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ML100K = ROOT.parent / "shared" / "data" / "movielens" / "ml-100k.zip"


def ml100k_path() -> Path | None:
    """The real MovieLens 100k zip: ``$JOINTREC_ML100K`` or ``../shared/...``."""
    path = Path(os.environ.get("JOINTREC_ML100K", DEFAULT_ML100K))
    return path if path.exists() else None


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """Every test gets its own empty dataset cache, so nothing is downloaded or shared."""
    monkeypatch.setenv("JOINTREC_DATA_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def ml100k() -> Path:
    """Path of the real zip; realdata tests fail (in CI) or skip (elsewhere) without it."""
    path = ml100k_path()
    if path is None:
        if os.environ.get("JOINTREC_REQUIRE_REALDATA"):
            pytest.fail(f"MovieLens 100k zip not found at {DEFAULT_ML100K} or $JOINTREC_ML100K")
        pytest.skip("MovieLens 100k zip not found; set JOINTREC_ML100K")
    return path


@pytest.fixture(scope="session")
def ml100k_dataset(ml100k: Path):
    from jointrec.data import load_movielens

    return load_movielens("100k", path=ml100k)


@pytest.fixture
def tiny_zip(tmp_path: Path) -> Path:
    from jointrec.testing import write_tiny_ml100k

    return write_tiny_ml100k(tmp_path / "ml-100k.zip")


@pytest.fixture(scope="session")
def ml100k_artifact(ml100k: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default joint model trained on the real MovieLens 100k (serving and web tests)."""
    from jointrec.config import preset
    from jointrec.run import train

    out = tmp_path_factory.mktemp("ml100k-artifact") / "joint"
    train(preset("default"), data_path=ml100k, out=out, progress=False)
    return out
