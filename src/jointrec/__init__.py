"""jointrec: one model for retrieval and ranking.

Importing the package selects the JAX Keras backend (unless ``KERAS_BACKEND`` says otherwise)
and loads nothing heavy; the public names below are imported on first use.

Example:
    >>> import jointrec
    >>> jointrec.preset("tutorial").train.optimizer
    'adagrad'
"""

from __future__ import annotations

import importlib
from typing import Any

from jointrec import backend  # noqa: F401  (must run before Keras is imported)

__version__ = "0.1.0"

_PUBLIC = {
    "JointrecError": "jointrec.errors",
    "ModelConfig": "jointrec.settings",
    "TrainConfig": "jointrec.settings",
    "SplitConfig": "jointrec.settings",
    "EvalConfig": "jointrec.settings",
    "RunConfig": "jointrec.settings",
    "preset": "jointrec.settings",
    "load_movielens": "jointrec.data",
    "Interactions": "jointrec.data",
    "Vocabulary": "jointrec.data",
    "JointModel": "jointrec.model.joint_model",
    "build_model": "jointrec.model.joint_model",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'jointrec' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])
