"""The persistent compilation cache: on by default in jointrec's folder, off on request."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jointrec.backend.jax.compilation_cache import enable_compilation_cache

SRC = Path(__file__).resolve().parents[2] / "src"
SCRIPT = """
import numpy as np
from jointrec.settings import ModelConfig, TrainConfig
from jointrec.model.build import build_model
from jointrec.training import TrainingArrays, fit
config = ModelConfig(towers={"embedding_dim": 4}, rating={"layer_sizes": (8,)})
model = build_model(config, 20, 20, seed=0)
data = TrainingArrays(np.arange(1, 17) % 19, np.arange(1, 17) % 19, np.full(16, 0.5))
fit(model, data, TrainConfig(batch_size=4, epochs=1), progress=False)
"""


def test_off_switch(monkeypatch):
    monkeypatch.setenv("JOINTREC_COMPILE_CACHE", "off")
    assert enable_compilation_cache() is None


@pytest.mark.slow
def test_training_fills_the_cache_folder(tmp_path):
    # A fresh process (JAX's cache is configured once per process) trains a tiny model with
    # the cache pointed at an empty folder: the compiled runner lands there.
    cache = tmp_path / "xla"
    env = dict(os.environ, PYTHONPATH=str(SRC), JOINTREC_COMPILE_CACHE=str(cache),
               JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                          text=True, timeout=600, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert any("run" in p.name for p in cache.iterdir())
