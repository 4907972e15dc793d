"""jointrec: one model for retrieval and ranking.

The public API, in the order a run uses it::

    from jointrec import preset, train, evaluate, compare, Recommender, load_artifact

    result = train(preset("default"), "ml-100k.zip", out="runs/joint")  # settings + data
    evaluate("runs/joint")                       # the test report again, from the run
    compare("default", "ml-100k.zip")            # rating-only, retrieval-only, joint
    Recommender.load("runs/joint").recommend(5, k=10)   # or ratings=[(50, 5.0), ...]

Importing the package selects the JAX Keras backend (unless ``KERAS_BACKEND`` says
otherwise) and loads nothing heavy: each name below is imported on first use, and
jointrec's Keras classes are registered as soon as Keras itself is imported, so that a
saved ``model.keras`` loads with plain `keras.saving.load_model`.

Example:
    >>> import jointrec
    >>> jointrec.preset("tutorial").train.optimizer
    'adagrad'
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
from types import ModuleType
from typing import Any

from jointrec import backend  # noqa: F401  (must run before Keras is imported)

__version__ = "0.1.0"

#: Public name -> (module, attribute).
_PUBLIC: dict[str, tuple[str, str]] = {
    # settings
    "preset": ("jointrec.settings", "preset"),
    "Experiment": ("jointrec.settings", "Experiment"),
    "RunConfig": ("jointrec.settings", "RunConfig"),
    "ModelConfig": ("jointrec.settings", "ModelConfig"),
    "TowerConfig": ("jointrec.settings", "TowerConfig"),
    "RetrievalConfig": ("jointrec.settings", "RetrievalConfig"),
    "RatingConfig": ("jointrec.settings", "RatingConfig"),
    "MultiTaskConfig": ("jointrec.settings", "MultiTaskConfig"),
    "TrainConfig": ("jointrec.settings", "TrainConfig"),
    "SplitConfig": ("jointrec.settings", "SplitConfig"),
    "EvalConfig": ("jointrec.settings", "EvalConfig"),
    "DataConfig": ("jointrec.settings", "DataConfig"),
    "resolve_experiment": ("jointrec.settings", "resolve_experiment"),
    # data
    "load_data": ("jointrec.data.load", "load_data"),
    "load_movielens": ("jointrec.data.movielens", "load_movielens"),
    "Dataset": ("jointrec.data.interactions", "Dataset"),
    "Interactions": ("jointrec.data.interactions", "Interactions"),
    "FeatureTable": ("jointrec.data.interactions", "FeatureTable"),
    "Vocabulary": ("jointrec.data.vocabulary", "Vocabulary"),
    # the model
    "JointModel": ("jointrec.model.joint_model", "JointModel"),
    "build_model": ("jointrec.model.build", "build_model"),
    # experiments
    "train": ("jointrec.experiments.train", "train"),
    "resume": ("jointrec.experiments.train", "resume"),
    "evaluate": ("jointrec.experiments.evaluate", "evaluate_artifact"),
    "compare": ("jointrec.experiments.compare", "compare"),
    "sweep": ("jointrec.experiments.sweep", "sweep"),
    # artifacts and serving
    "load_artifact": ("jointrec.artifact.directory", "load_artifact"),
    "Recommender": ("jointrec.inference.recommender", "Recommender"),
    "JointrecError": ("jointrec.errors", "JointrecError"),
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    target = _PUBLIC.get(name)
    if target is None:
        raise AttributeError(f"module 'jointrec' has no attribute {name!r}")
    module, attribute = target
    return getattr(importlib.import_module(module), attribute)


def __dir__() -> list[str]:
    return sorted([*globals(), *_PUBLIC])


class _RegisterAfterKeras(importlib.abc.MetaPathFinder):
    """Imports `jointrec.model` (which registers jointrec's Keras classes) right after
    ``keras`` is imported, and then steps aside."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != "keras":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_then_register(module: ModuleType) -> None:
            exec_module(module)
            importlib.import_module("jointrec.model")

        loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def _register_with_keras() -> None:
    """jointrec's Keras classes registered whenever Keras is loaded, without loading it."""
    if "keras" in sys.modules:
        importlib.import_module("jointrec.model")
    elif not any(isinstance(f, _RegisterAfterKeras) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegisterAfterKeras())


_register_with_keras()
