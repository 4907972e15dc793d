"""`RunConfig`: everything one training run needs besides the data: the model, training,
split and evaluation settings.

A run is fully described by `RunConfig.to_dict` and rebuilt by `RunConfig.from_dict` (which
also reads what jointrec 0.1 wrote).

Example:
    >>> cfg = RunConfig().replace(train={"epochs": 3}, model={"towers": {"embedding_dim": 8}})
    >>> cfg.train.epochs, cfg.model.towers.embedding_dim
    (3, 8)
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from jointrec.errors import JointrecError
from jointrec.settings.fields import check, check_fields, replace_fields, to_plain
from jointrec.settings.model import ModelConfig

Optimizer = Literal["adam", "adamw", "adagrad", "sgd", "rmsprop"]
EmbeddingUpdates = Literal["auto", "dense", "sparse"]
SplitMethod = Literal["random", "temporal", "leave_last_n"]
UnratedTest = Literal["relevant", "ignore"]
OPTIMIZERS: tuple[str, ...] = typing.get_args(Optimizer)
EMBEDDING_UPDATES: tuple[str, ...] = typing.get_args(EmbeddingUpdates)
#: Largest seed: NumPy and Keras take seeds in [0, 2**32).
MAX_SEED = 2**32 - 1
#: Largest learning rate accepted: beyond it every optimizer here diverges on any data.
MAX_LEARNING_RATE = 100.0


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Args:
        optimizer: One of ``adam``, ``adamw``, ``adagrad``, ``sgd``, ``rmsprop``.
        learning_rate: Step size, in ``(0, 100]``.
        batch_size: Examples per step; also the number of in-batch retrieval candidates. A
            batch larger than the training data holds all of it (and no more padding).
        epochs: Passes over the training data.
        seed: Seeds weight initialisation and batch order, in ``[0, 2**32)``.
        shuffle_each_epoch: Reshuffle batches every epoch; the tutorial shuffles once.
        weight_decay: Decoupled weight decay of the optimizer (0: none).
        early_stopping: Stop after this many epochs without improvement of
            ``early_stopping_metric`` on the validation split, keeping the best epoch's
            weights (0: off; needs ``validation_fraction > 0``).
        early_stopping_metric: ``rmse`` (lower is better) or a ranking metric such as
            ``recall@10`` or ``ndcg@10`` (higher is better).
        embedding_updates: How the compiled fast path updates the user and item tables:
            ``"dense"`` (every row, every step), ``"sparse"`` (only the rows the batch
            touches: exact for Adagrad and SGD, "lazy" moments for Adam-like optimizers) or
            ``"auto"`` (sparse where that is exact and the tables are large, and lazy Adam
            for catalogue-sized tables; `jointrec.backend.jax.row_updates.use_sparse`).
        distinct_ids: Let the fast path run the towers and the in-batch scores once per
            distinct user and item of a batch (the same loss and gradients; see
            `jointrec.training.batch_unique`). Used where it is exact.
    """

    optimizer: Optimizer = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 1000
    epochs: int = 5
    seed: int = 42
    shuffle_each_epoch: bool = True
    weight_decay: float = 0.0
    early_stopping: int = 0
    early_stopping_metric: str = "rmse"
    embedding_updates: EmbeddingUpdates = "auto"
    distinct_ids: bool = True

    def __post_init__(self) -> None:
        check_fields(self)
        check(
            0 < self.learning_rate <= MAX_LEARNING_RATE,
            "learning_rate",
            self.learning_rate,
            f"in (0, {MAX_LEARNING_RATE:g}]",
        )
        check(self.batch_size >= 2, "batch_size", self.batch_size, "an integer >= 2")
        check(self.epochs >= 1, "epochs", self.epochs, "an integer >= 1")
        check(0 <= self.seed <= MAX_SEED, "seed", self.seed, f"an integer in [0, {MAX_SEED}]")
        check(self.weight_decay >= 0, "weight_decay", self.weight_decay, ">= 0")
        check(self.early_stopping >= 0, "early_stopping", self.early_stopping, ">= 0")


@dataclass(frozen=True)
class SplitConfig:
    """How interactions are split into train, validation and test.

    Args:
        method: ``random`` (shuffle with ``seed``, first part train: the tutorial),
            ``temporal`` (global time cut) or ``leave_last_n`` (each user's last ``n`` rated).
        test_fraction: Share of interactions in test (``random`` and ``temporal``).
        validation_fraction: Share of the training part carved out for tuning (0 for none).
        leave_n: Interactions per user held out by ``leave_last_n``.
        seed: Seed of the shuffle, in ``[0, 2**32)``.
    """

    method: SplitMethod = "random"
    test_fraction: float = 0.2
    validation_fraction: float = 0.0
    leave_n: int = 1
    seed: int = 42

    def __post_init__(self) -> None:
        check_fields(self)
        check(0 < self.test_fraction < 1, "test_fraction", self.test_fraction, "in (0, 1)")
        check(
            0 <= self.validation_fraction < 1,
            "validation_fraction",
            self.validation_fraction,
            "in [0, 1)",
        )
        check(self.leave_n >= 1, "leave_n", self.leave_n, "an integer >= 1")
        check(0 <= self.seed <= MAX_SEED, "seed", self.seed, f"an integer in [0, {MAX_SEED}]")


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation protocol.

    Args:
        ks: Cut-offs for Recall@k (the largest also bounds the retrieved list).
        relevance_min_rating: Test ratings >= this (stars) are relevant.
        exclude_seen: Remove the user's training items from rankings (honest protocol).
        tutorial_k: Cut-off of the tutorial's unfiltered top-k accuracy on 5-star ratings.
        user_chunk: Users scored at once; bounds memory as ``user_chunk x num_items``.
        unrated_test: How unrated test rows of mixed feedback count in ranking metrics:
            ``"relevant"`` (the default: an interaction the user chose, like a rating at
            or above ``relevance_min_rating``) or ``"ignore"`` (only rated rows count).
            RMSE is always over the rated test rows.
    """

    ks: tuple[int, ...] = (10, 50, 100)
    relevance_min_rating: float = 4.0
    exclude_seen: bool = True
    tutorial_k: int = 10
    user_chunk: int = 1024
    unrated_test: UnratedTest = "relevant"

    def __post_init__(self) -> None:
        object.__setattr__(self, "ks", tuple(sorted(int(k) for k in self.ks)))
        check_fields(self)
        check(len(self.ks) > 0 and self.ks[0] >= 1, "ks", self.ks, "positive cut-offs")
        check(self.tutorial_k >= 1, "tutorial_k", self.tutorial_k, "an integer >= 1")
        check(self.user_chunk >= 1, "user_chunk", self.user_chunk, "an integer >= 1")


#: The sections of a `RunConfig`, by name.
SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "train": TrainConfig,
    "split": SplitConfig,
    "eval": EvalConfig,
}


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs besides the data."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    preset: str = "default"

    def replace(self, **sections: Mapping[str, Any] | str) -> RunConfig:
        """A copy with some fields of some sections replaced (``preset`` is a name).

        Example:
            >>> RunConfig().replace(train={"epochs": 3}).train.epochs
            3
        """
        changes: dict[str, Any] = {}
        for name, value in sections.items():
            if name == "preset":
                changes[name] = str(value)
                continue
            if name not in SECTIONS:
                raise JointrecError(
                    f"unknown config section {name!r}: expected one of {sorted(SECTIONS)}"
                )
            if not isinstance(value, Mapping):
                raise JointrecError(f"config section {name!r} must be a mapping, got {value!r}")
            current = getattr(self, name)
            if isinstance(current, ModelConfig):
                changes[name] = current.replace(value)
            else:
                changes[name] = replace_fields(current, value, name)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (nested model groups)."""
        out: dict[str, Any] = {"preset": self.preset}
        for name in SECTIONS:
            out[name] = to_plain(getattr(self, name))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Rebuilds a config written by `to_dict`, or by jointrec 0.1 (a flat model table);
        unknown keys are an error."""
        unknown = set(data) - set(SECTIONS) - {"preset"}
        if unknown:
            raise JointrecError(
                f"unknown config keys {sorted(unknown)}: expected {sorted(SECTIONS)} and 'preset'"
            )
        base = cls(preset=str(data.get("preset", "default")))
        return base.replace(**{k: v for k, v in data.items() if k in SECTIONS})
