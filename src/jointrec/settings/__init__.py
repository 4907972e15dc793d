"""Frozen run settings: model, training, split and evaluation, and the named presets.

Every setting a run uses lives in one of these dataclasses, so a run is fully described by
`RunConfig.to_dict()` and rebuilt with `RunConfig.from_dict()`.

Example:
    >>> cfg = preset("tutorial")
    >>> cfg.train.optimizer, cfg.train.batch_size, cfg.model.retrieval_reduction
    ('adagrad', 1000, 'sum')
    >>> cfg.replace(model={"embedding_dim": 64}).model.embedding_dim
    64
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from jointrec.errors import JointrecError

Reduction = Literal["sum", "mean"]
SplitMethod = Literal["random", "temporal", "leave_last_n"]
OPTIMIZERS = ("adam", "adamw", "adagrad", "sgd", "rmsprop")
EMBEDDING_UPDATES = ("auto", "dense", "sparse")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and loss settings of the joint model.

    Args:
        embedding_dim: Width of the user (query) and item (candidate) embeddings.
        layer_sizes: Hidden layer widths of the rating head MLP (a final width-1 layer is added).
        retrieval_weight: Weight of the retrieval loss in the total loss.
        rating_weight: Weight of the rating loss in the total loss.
        retrieval_reduction: ``"sum"`` over the batch (the tutorial) or ``"mean"``.
        remove_accidental_hits: Mask in-batch negatives that are the row's positive item.
        l2_normalize: L2-normalise query and candidate vectors before the retrieval dot product.
        temperature: Retrieval logits are divided by this.
        retrieval_min_rating: Only ratings >= this (stars) are retrieval positives; ``None``
            makes every rating a positive (the tutorial).
        rating_biases: Add user and item bias terms and a global mean to the rating head.
        clip_predictions: Clip predicted ratings to the rating scale.
        logq_correction: Subtract each in-batch candidate's log sampling probability (its
            training frequency) from its logit, so popular items are not over-penalised.
        user_features: Side features of the user tower, by name (MovieLens: ``age``,
            ``gender``, ``occupation``, ``zip``); ``("auto",)`` for all the user table
            offers; empty for an id-only tower.
        item_features: Side features of the item tower (MovieLens: ``genres``, ``year``,
            ``title``).
        feature_combiner: How a tower combines id and feature embeddings: ``sum`` or
            ``concat`` (then a linear projection).
        negatives: ``in_batch`` softmax (any catalogue size), ``full`` softmax over the
            whole catalogue (small catalogues; no logQ correction needed; items without
            training interactions are nobody's negatives), or ``auto``: ``full`` up to
            ``model.FULL_SOFTMAX_MAX_ITEMS`` items, else ``in_batch`` with logQ correction.
        exclude_seen: With ``full`` negatives, which of the user's other training items are
            not used as negatives: ``none``, ``positives`` (rated >= ``retrieval_min_rating``)
            or ``all``.
        learn_temperature: Learn the retrieval temperature, starting from ``temperature``.
        positive_weighting: ``none``, or ``rating`` to weight retrieval positives by rating.
        hard_negatives: Keep only the k highest-scoring negatives per row (0: all).
        loss_weighting: ``fixed`` weights, or ``uncertainty`` (learned per-task scales,
            Kendall et al. 2018) on top of them.
        embedding_l2: L2 penalty on the id and feature embeddings and the rating biases.
        user_history: Represent each user also by up to this many of the items they rated
            in training (an SVD++-like implicit-feedback feature); 0 turns it off.
        item_history: Represent each item also by up to this many of its training raters
            (the item-based, AutoRec-like counterpart); 0 turns it off.
        item_popularity: Give the item tower the item's ``log(1 + training interactions)``
            as a numeric feature, so items nobody interacted with (which a full softmax
            does not use as negatives) rank by their features below popular items.
        rating_dropout: Dropout rate on the rating head's input while training.
    """

    embedding_dim: int = 32
    layer_sizes: tuple[int, ...] = (256, 128)
    retrieval_weight: float = 1.0
    rating_weight: float = 1.0
    retrieval_reduction: Reduction = "mean"
    remove_accidental_hits: bool = True
    l2_normalize: bool = False
    temperature: float = 1.0
    retrieval_min_rating: float | None = None
    rating_biases: bool = False
    clip_predictions: bool = True
    logq_correction: bool = False
    user_features: tuple[str, ...] = ()
    item_features: tuple[str, ...] = ()
    feature_combiner: str = "sum"
    negatives: str = "in_batch"
    exclude_seen: str = "none"
    learn_temperature: bool = False
    positive_weighting: str = "none"
    hard_negatives: int = 0
    loss_weighting: str = "fixed"
    embedding_l2: float = 0.0
    user_history: int = 0
    item_history: int = 0
    item_popularity: bool = False
    rating_dropout: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "layer_sizes", tuple(int(s) for s in self.layer_sizes))
        for name in ("user_features", "item_features"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = tuple(v.strip() for v in value.split(",") if v.strip())
            object.__setattr__(self, name, tuple(str(v) for v in value))
        for name, value, allowed in (
            ("feature_combiner", self.feature_combiner, ("sum", "concat")),
            ("negatives", self.negatives, ("in_batch", "full", "auto")),
            ("exclude_seen", self.exclude_seen, ("none", "positives", "all")),
            ("positive_weighting", self.positive_weighting, ("none", "rating")),
            ("loss_weighting", self.loss_weighting, ("fixed", "uncertainty")),
        ):
            _check(value in allowed, name, value, f"one of {allowed}")
        _check(self.hard_negatives >= 0, "hard_negatives", self.hard_negatives, ">= 0")
        _check(self.embedding_l2 >= 0, "embedding_l2", self.embedding_l2, ">= 0")
        _check(self.user_history >= 0, "user_history", self.user_history, ">= 0")
        _check(self.item_history >= 0, "item_history", self.item_history, ">= 0")
        _check(0.0 <= self.rating_dropout < 1.0, "rating_dropout", self.rating_dropout, "in [0, 1)")
        _check(self.embedding_dim >= 1, "embedding_dim", self.embedding_dim, "an integer >= 1")
        _check(
            all(s >= 1 for s in self.layer_sizes),
            "layer_sizes",
            self.layer_sizes,
            "positive widths such as (256, 128)",
        )
        _check(self.retrieval_weight >= 0, "retrieval_weight", self.retrieval_weight, ">= 0")
        _check(self.rating_weight >= 0, "rating_weight", self.rating_weight, ">= 0")
        _check(
            self.retrieval_weight + self.rating_weight > 0,
            "retrieval_weight + rating_weight",
            self.retrieval_weight + self.rating_weight,
            "> 0 (at least one task must train)",
        )
        _check(
            self.retrieval_reduction in ("sum", "mean"),
            "retrieval_reduction",
            self.retrieval_reduction,
            "'sum' or 'mean'",
        )
        _check(self.temperature > 0, "temperature", self.temperature, "> 0")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Args:
        optimizer: One of ``adam``, ``adamw``, ``adagrad``, ``sgd``, ``rmsprop``.
        learning_rate: Step size.
        batch_size: Examples per step; also the number of in-batch retrieval candidates.
        epochs: Passes over the training data.
        seed: Seeds weight initialisation and batch order.
        shuffle_each_epoch: Reshuffle batches every epoch; the tutorial shuffles once.
        weight_decay: Decoupled weight decay of the optimizer (0: none).
        early_stopping: Stop after this many epochs without improvement of
            ``early_stopping_metric`` on the validation split, keeping the best epoch's
            weights (0: off; needs ``validation_fraction > 0``).
        early_stopping_metric: ``rmse`` (lower is better) or a ranking metric such as
            ``recall@10`` or ``ndcg@10`` (higher is better).
        embedding_updates: How the JAX fast path updates the user and item tables:
            ``"dense"`` (every row, every step), ``"sparse"`` (only the rows the batch
            touches: exact for Adagrad and SGD, "lazy" moments for Adam-like optimizers) or
            ``"auto"`` (sparse where that is exact and the tables are large).
        distinct_ids: Let the JAX fast path run the towers and the in-batch scores once per
            distinct user and item of a batch (the same loss and gradients, a score matrix
            about a third the size; see `jointrec.training.batch_unique`).
            Used where it is exact: in-batch negatives, dense table updates, no top-k hard
            negatives.
    """

    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 1000
    epochs: int = 5
    seed: int = 42
    shuffle_each_epoch: bool = True
    weight_decay: float = 0.0
    early_stopping: int = 0
    early_stopping_metric: str = "rmse"
    embedding_updates: str = "auto"
    distinct_ids: bool = True

    def __post_init__(self) -> None:
        _check(
            self.embedding_updates in EMBEDDING_UPDATES,
            "embedding_updates",
            self.embedding_updates,
            f"one of {EMBEDDING_UPDATES}",
        )
        _check(self.optimizer in OPTIMIZERS, "optimizer", self.optimizer, f"one of {OPTIMIZERS}")
        _check(self.learning_rate > 0, "learning_rate", self.learning_rate, "> 0")
        _check(self.batch_size >= 2, "batch_size", self.batch_size, "an integer >= 2")
        _check(self.epochs >= 1, "epochs", self.epochs, "an integer >= 1")
        _check(self.weight_decay >= 0, "weight_decay", self.weight_decay, ">= 0")
        _check(self.early_stopping >= 0, "early_stopping", self.early_stopping, ">= 0")


@dataclass(frozen=True)
class SplitConfig:
    """How interactions are split into train, validation and test.

    Args:
        method: ``random`` (shuffle with ``seed``, first part train: the tutorial),
            ``temporal`` (global time cut) or ``leave_last_n`` (each user's last ``n`` rated).
        test_fraction: Share of interactions in test (``random`` and ``temporal``).
        validation_fraction: Share of the training part carved out for tuning (0 for none).
        leave_n: Interactions per user held out by ``leave_last_n``.
        seed: Seed of the shuffle.
    """

    method: SplitMethod = "random"
    test_fraction: float = 0.2
    validation_fraction: float = 0.0
    leave_n: int = 1
    seed: int = 42

    def __post_init__(self) -> None:
        _check(
            self.method in ("random", "temporal", "leave_last_n"),
            "split method",
            self.method,
            "'random', 'temporal' or 'leave_last_n'",
        )
        _check(0 < self.test_fraction < 1, "test_fraction", self.test_fraction, "in (0, 1)")
        _check(
            0 <= self.validation_fraction < 1,
            "validation_fraction",
            self.validation_fraction,
            "in [0, 1)",
        )
        _check(self.leave_n >= 1, "leave_n", self.leave_n, "an integer >= 1")


@dataclass(frozen=True)
class EvalConfig:
    """Evaluation protocol.

    Args:
        ks: Cut-offs for Recall@k (the largest also bounds the retrieved list).
        relevance_min_rating: Test ratings >= this (stars) are relevant.
        exclude_seen: Remove the user's training items from rankings (honest protocol).
        tutorial_k: Cut-off of the tutorial's unfiltered top-k accuracy on 5-star ratings.
        user_chunk: Users scored at once; bounds memory as ``user_chunk x num_items``.
    """

    ks: tuple[int, ...] = (10, 50, 100)
    relevance_min_rating: float = 4.0
    exclude_seen: bool = True
    tutorial_k: int = 10
    user_chunk: int = 1024

    def __post_init__(self) -> None:
        object.__setattr__(self, "ks", tuple(sorted(int(k) for k in self.ks)))
        _check(len(self.ks) > 0 and self.ks[0] >= 1, "ks", self.ks, "positive cut-offs")
        _check(self.user_chunk >= 1, "user_chunk", self.user_chunk, "an integer >= 1")


@dataclass(frozen=True)
class RunConfig:
    """Everything one training run needs besides the data."""

    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    preset: str = "default"

    def replace(self, **sections: dict[str, Any] | str) -> RunConfig:
        """Returns a copy with some fields of some sections replaced.

        Example:
            >>> RunConfig().replace(train={"epochs": 3}).train.epochs
            3
        """
        changes: dict[str, Any] = {}
        for name, value in sections.items():
            if name == "preset":
                changes[name] = value
                continue
            if name not in _SECTIONS:
                raise JointrecError(
                    f"unknown config section {name!r}: expected one of {sorted(_SECTIONS)}"
                )
            if not isinstance(value, dict):
                raise JointrecError(f"config section {name!r} must be a mapping, got {value!r}")
            changes[name] = _replace_section(getattr(self, name), value)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Returns plain JSON-ready data."""
        out: dict[str, Any] = {"preset": self.preset}
        for name in _SECTIONS:
            section = dataclasses.asdict(getattr(self, name))
            out[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in section.items()}
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunConfig:
        """Rebuilds a config written by `to_dict` (unknown keys are an error)."""
        base = cls(preset=str(data.get("preset", "default")))
        sections = {k: v for k, v in data.items() if k in _SECTIONS}
        unknown = set(data) - set(_SECTIONS) - {"preset"}
        if unknown:
            raise JointrecError(
                f"unknown config keys {sorted(unknown)}: expected {sorted(_SECTIONS)} and 'preset'"
            )
        return base.replace(**sections)


_SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "train": TrainConfig,
    "split": SplitConfig,
    "eval": EvalConfig,
}


def _replace_section(section: Any, values: dict[str, Any]) -> Any:
    names = {f.name for f in dataclasses.fields(section)}
    unknown = set(values) - names
    if unknown:
        raise JointrecError(
            f"unknown {type(section).__name__} fields {sorted(unknown)}: "
            f"expected some of {sorted(names)}"
        )
    try:
        return dataclasses.replace(section, **values)
    except TypeError as err:  # e.g. a string where a tuple of ints was expected
        raise JointrecError(f"bad value in {type(section).__name__}: {err}") from None


def _check(ok: bool, name: str, value: Any, expected: str) -> None:
    if not ok:
        raise JointrecError(f"{name}={value!r} is invalid: expected {expected}")


def _tutorial() -> RunConfig:
    """The keras-rs tutorial as written, flaws included."""
    return RunConfig(
        model=ModelConfig(
            embedding_dim=32,
            layer_sizes=(256, 128),
            retrieval_reduction="sum",
            remove_accidental_hits=False,
            l2_normalize=False,
            temperature=1.0,
            retrieval_min_rating=None,
            rating_biases=False,
            clip_predictions=False,
        ),
        train=TrainConfig(
            optimizer="adagrad",
            learning_rate=0.1,
            batch_size=1000,
            epochs=5,
            seed=42,
            shuffle_each_epoch=False,
        ),
        split=SplitConfig(method="random", test_fraction=0.2, seed=42),
        preset="tutorial",
    )


def _default() -> RunConfig:
    """The tutorial's two towers and two tasks, fixed and tuned on a validation split
    (``benchmarks/tune_defaults.py``): side features and the user's history in the towers,
    a full softmax over the catalogue (in-batch with logQ correction for large catalogues)
    at temperature 0.2 with ratings >= 4 as positives and
    the user's other training items not used as negatives, a biased rating head, and the rating
    loss weighted 20:1 (it is an MSE on a [0, 1] label, ~100x smaller than the softmax)."""
    return RunConfig(
        model=ModelConfig(
            embedding_dim=64,
            layer_sizes=(64,),
            retrieval_weight=1.0,
            rating_weight=20.0,
            retrieval_reduction="mean",
            remove_accidental_hits=True,
            l2_normalize=True,
            temperature=0.2,
            retrieval_min_rating=4.0,
            rating_biases=True,
            clip_predictions=True,
            logq_correction=False,
            user_features=("auto",),
            item_features=("auto",),
            negatives="auto",
            exclude_seen="all",
            embedding_l2=1e-5,
            user_history=64,
            item_popularity=True,
        ),
        train=TrainConfig(
            optimizer="adam",
            learning_rate=2.5e-3,
            batch_size=1000,
            epochs=5,
            seed=42,
            shuffle_each_epoch=True,
        ),
        split=SplitConfig(method="random", test_fraction=0.2, seed=42),
        preset="default",
    )


PRESETS = {"tutorial": _tutorial, "default": _default}


def preset(name: str = "default") -> RunConfig:
    """Returns the named preset's settings.

    Args:
        name: ``"default"`` (fixed and tuned) or ``"tutorial"`` (the keras-rs tutorial as is).

    Example:
        >>> preset("default").model.retrieval_reduction
        'mean'
    """
    try:
        return PRESETS[name]()
    except KeyError:
        raise JointrecError(f"unknown preset {name!r}: expected one of {sorted(PRESETS)}") from None
