"""Frozen settings: the model (four groups), training, split, evaluation, the data, the named
presets, and the experiment that holds them all.

Every setting a run uses lives in one of these dataclasses, so a run is fully described by
`RunConfig.to_dict` (plus `DataConfig.to_dict`) and rebuilt by `RunConfig.from_dict`. Bad
values fail on construction with one `jointrec.errors.JointrecError` line.

Example:
    >>> cfg = preset("tutorial")
    >>> cfg.train.optimizer, cfg.train.batch_size, cfg.model.retrieval.reduction
    ('adagrad', 1000, 'sum')
    >>> cfg.replace(model={"towers": {"embedding_dim": 64}}).model.towers.embedding_dim
    64
"""

from jointrec.settings.data import DataConfig, FeatureTableConfig
from jointrec.settings.experiment import Experiment, coerce, read_experiment, resolve_experiment
from jointrec.settings.model import (
    ModelConfig,
    MultiTaskConfig,
    RatingConfig,
    RetrievalConfig,
    TowerConfig,
)
from jointrec.settings.presets import PRESETS, preset
from jointrec.settings.run import (
    EMBEDDING_UPDATES,
    OPTIMIZERS,
    EvalConfig,
    RunConfig,
    SplitConfig,
    TrainConfig,
)

__all__ = [
    "EMBEDDING_UPDATES",
    "OPTIMIZERS",
    "PRESETS",
    "DataConfig",
    "EvalConfig",
    "Experiment",
    "FeatureTableConfig",
    "ModelConfig",
    "MultiTaskConfig",
    "RatingConfig",
    "RetrievalConfig",
    "RunConfig",
    "SplitConfig",
    "TowerConfig",
    "TrainConfig",
    "coerce",
    "preset",
    "read_experiment",
    "resolve_experiment",
]
