"""Shared fixtures: seeded data, the MovieLens 100k zip, and tiny archives."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

import jointrec  # noqa: F401  (selects the JAX backend before any test imports Keras)

if TYPE_CHECKING:
    from jointrec.scoring.exported import ExportedModel

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


@pytest.fixture
def small_exported(rng: np.random.Generator) -> Callable[..., ExportedModel]:
    """Builds a small random `ExportedModel` from ``rng`` when called: 5 users and 9 items
    (plus padding row 0) of dimension 4, a rating MLP with two hidden layers of 8, and
    biases and an offset unless called with ``biases=False``."""
    from jointrec.scoring.exported import ExportedModel

    def small_model(biases: bool = True) -> ExportedModel:
        d, h = 4, 8
        return ExportedModel(
            user_embeddings=rng.normal(size=(6, d)).astype(np.float32),
            item_embeddings=rng.normal(size=(10, d)).astype(np.float32),
            mlp=[
                (
                    rng.normal(scale=0.5, size=(2 * d, h)).astype(np.float32),
                    rng.normal(size=h).astype(np.float32) * 0.1,
                ),
                (
                    rng.normal(scale=0.5, size=(h, h)).astype(np.float32),
                    rng.normal(size=h).astype(np.float32) * 0.1,
                ),
                (rng.normal(scale=0.5, size=(h, 1)).astype(np.float32), np.float32([0.3])),
            ],
            user_bias=rng.normal(size=6).astype(np.float32) * 0.1 if biases else None,
            item_bias=rng.normal(size=10).astype(np.float32) * 0.1 if biases else None,
            offset=0.2 if biases else 0.0,
            l2_normalize=True,
        )

    return small_model


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
    from jointrec.experiments.train import train
    from jointrec.settings import preset

    out = tmp_path_factory.mktemp("ml100k-artifact") / "joint"
    train(preset("default"), data=ml100k, out=out, progress=False)
    return out


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An artifact with planted vectors and seen items, written without training."""
    from jointrec.testing.artifacts import planted_artifact

    return planted_artifact(tmp_path_factory.mktemp("planted") / "artifact")
