"""`ModelConfig`: the joint model's settings, grouped by the part of the model they shape.

Four groups, one per concern: `TowerConfig` (what the user and item towers are made of),
`RetrievalConfig` (the softmax task), `RatingConfig` (the rating head) and `MultiTaskConfig`
(how the two losses combine). Choices are `Literal` types, checked on construction.

Settings written by jointrec 0.1 (one flat ``[model]`` table, e.g. in an artifact's
``config.json`` or a ``manifest.toml``) still load: `ModelConfig.from_dict` and
`ModelConfig.replace` map each old flat name to its group (`LEGACY_NAMES`).

Example:
    >>> cfg = ModelConfig.from_dict({"towers": {"embedding_dim": 64}})
    >>> cfg.towers.embedding_dim, cfg.retrieval.temperature
    (64, 1.0)
    >>> ModelConfig.from_dict({"exclude_seen": "all"}).retrieval.mask_seen  # a 0.1 name
    'all'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from jointrec.errors import JointrecError
from jointrec.settings.fields import check, check_fields, replace_fields, to_plain

FeatureCombiner = Literal["sum", "concat"]
Negatives = Literal["in_batch", "full", "auto"]
Reduction = Literal["sum", "mean"]
MaskSeen = Literal["none", "positives", "all"]
PositiveWeighting = Literal["none", "rating"]
LossWeighting = Literal["fixed", "uncertainty"]
#: Widest user and item vectors accepted (a typo like 640000 would need gigabytes).
MAX_EMBEDDING_DIM = 4096


@dataclass(frozen=True)
class TowerConfig:
    """What the user (query) and item (candidate) towers are made of.

    Args:
        embedding_dim: Width of the user and item vectors.
        user_features: Side features of the user tower, by name (MovieLens: ``age``,
            ``gender``, ``occupation``, ``zip``); ``("auto",)`` for all the user table
            offers; empty for an id-only tower.
        item_features: Side features of the item tower (MovieLens: ``genres``, ``year``,
            ``title``).
        feature_combiner: How a tower combines id and feature embeddings: ``sum``, or
            ``concat`` followed by a linear projection.
        user_history: Represent each user also by up to this many of the items they rated
            in training (an SVD++-like implicit-feedback feature); 0 turns it off.
        item_history: Represent each item also by up to this many of its training raters
            (the item-based, AutoRec-like counterpart); 0 turns it off.
        item_popularity: Give the item tower the item's ``log(1 + training interactions)``
            as a numeric feature, so items nobody interacted with (which a full softmax does
            not use as negatives) rank by their features below popular items.
        item_recency: Give the item tower where the item stands at the end of training:
            its interactions in the latest 10% of training and its age since its first
            (numeric, `jointrec.features.prepare.recency_table`); needs timestamps.
        embedding_l2: L2 penalty on the id and feature embeddings and the rating biases.
        user_cold_dropout: While training, the share of users shown to the user tower as
            newcomers (no id embedding, no history), so its side features learn to place
            users who arrive with no interactions (`jointrec.model.feature_tower`); needs
            user features or a history; 0 turns it off.
    """

    embedding_dim: int = 32
    user_features: tuple[str, ...] = ()
    item_features: tuple[str, ...] = ()
    feature_combiner: FeatureCombiner = "sum"
    user_history: int = 0
    item_history: int = 0
    item_popularity: bool = False
    item_recency: bool = False
    embedding_l2: float = 0.0
    user_cold_dropout: float = 0.0

    def __post_init__(self) -> None:
        for name in ("user_features", "item_features"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = tuple(v.strip() for v in value.split(",") if v.strip())
            object.__setattr__(self, name, tuple(str(v) for v in value))
        check_fields(self, "towers.")
        check(
            1 <= self.embedding_dim <= MAX_EMBEDDING_DIM,
            "towers.embedding_dim",
            self.embedding_dim,
            f"an integer in [1, {MAX_EMBEDDING_DIM}]",
        )
        check(self.user_history >= 0, "towers.user_history", self.user_history, ">= 0")
        check(self.item_history >= 0, "towers.item_history", self.item_history, ">= 0")
        check(self.embedding_l2 >= 0, "towers.embedding_l2", self.embedding_l2, ">= 0")
        check(
            0.0 <= self.user_cold_dropout < 1.0,
            "towers.user_cold_dropout",
            self.user_cold_dropout,
            "a share in [0, 1)",
        )

    @property
    def has_features(self) -> bool:
        """Whether either tower has more than its id embedding."""
        return bool(
            self.user_features
            or self.item_features
            or self.user_history
            or self.item_history
            or self.item_popularity
            or self.item_recency
        )


@dataclass(frozen=True)
class RetrievalConfig:
    """The retrieval task: a softmax of each user over candidate items.

    Args:
        negatives: ``in_batch`` softmax (any catalogue size), ``full`` softmax over the
            whole catalogue (small catalogues; items without training interactions are
            nobody's negatives), or ``auto``: ``full`` up to
            `jointrec.model.build.FULL_SOFTMAX_MAX_ITEMS` items, else ``in_batch`` with
            logQ correction.
        temperature: Logits are divided by this.
        learn_temperature: Learn the temperature, starting from ``temperature``.
        l2_normalize: L2-normalise query and candidate vectors before the dot product.
        min_rating: Only ratings >= this (stars) are positives; ``None`` makes every
            rating a positive (the tutorial).
        reduction: ``"sum"`` over the batch (the tutorial) or ``"mean"``.
        remove_accidental_hits: Mask in-batch negatives that are the row's positive item.
        logq_correction: Subtract each in-batch candidate's log sampling probability (its
            training frequency) from its logit, so popular items are not over-penalised.
        mask_seen: With ``full`` negatives, which of the user's other training items are
            not negatives: ``none``, ``positives`` (rated >= ``min_rating``) or ``all``.
        hard_negatives: Keep only the k highest-scoring negatives per row (0: all).
        positive_weighting: ``none``, or ``rating`` to weight positives by their rating.
        unrated_weight: Mixed feedback: the weight of an unrated row as a positive (a rated
            row from ``min_rating`` up weighs 1).
        unrated_ramp: Mixed feedback: also weight each unrated row by what the rating head
            predicts for it (gradient stopped): 0 at ``min_rating - unrated_ramp`` stars,
            rising linearly to 1 at ``min_rating``; 0 turns it off (so does ``min_rating =
            None``, or data without ratings).
        newcomer_popularity: Weight ``beta`` of a popularity prior in the retrieval scores
            of users with no training interaction (in the user table but new to the log):
            their scores get ``beta * log(1 + n_i)`` added, ``n_i`` being item ``i``'s
            training interactions (`jointrec.artifact.export.popularity_prior`); 0 turns it
            off. Users who have interactions are scored as before.
        newcomer_window: The share of the latest training rows ``n_i`` is counted over
            (recent popularity; needs times, which splits by time keep); 1: all of them.
        recent_popularity: The same prior's weight for users who have training
            interactions (and visitors folded in from ratings), applied only where the
            training rows have times (splits by time): 0 turns it off.
    """

    negatives: Negatives = "in_batch"
    temperature: float = 1.0
    learn_temperature: bool = False
    l2_normalize: bool = False
    min_rating: float | None = None
    reduction: Reduction = "mean"
    remove_accidental_hits: bool = True
    logq_correction: bool = False
    mask_seen: MaskSeen = "none"
    hard_negatives: int = 0
    positive_weighting: PositiveWeighting = "none"
    unrated_weight: float = 1.0
    unrated_ramp: float = 0.0
    newcomer_popularity: float = 0.0
    newcomer_window: float = 1.0
    recent_popularity: float = 0.0

    def __post_init__(self) -> None:
        check_fields(self, "retrieval.")
        check(self.temperature > 0, "retrieval.temperature", self.temperature, "> 0")
        check(self.hard_negatives >= 0, "retrieval.hard_negatives", self.hard_negatives, ">= 0")
        check(
            0.0 <= self.unrated_weight <= 1.0,
            "retrieval.unrated_weight",
            self.unrated_weight,
            "a number in [0, 1]",
        )
        check(
            0.0 <= self.unrated_ramp <= 100.0,
            "retrieval.unrated_ramp",
            self.unrated_ramp,
            "a number of stars in [0, 100] (0: off)",
        )
        check(
            0.0 <= self.newcomer_popularity <= 100.0,
            "retrieval.newcomer_popularity",
            self.newcomer_popularity,
            "a number in [0, 100] (0: off)",
        )
        check(
            0.0 < self.newcomer_window <= 1.0,
            "retrieval.newcomer_window",
            self.newcomer_window,
            "a share in (0, 1] of the latest training rows",
        )
        check(
            0.0 <= self.recent_popularity <= 100.0,
            "retrieval.recent_popularity",
            self.recent_popularity,
            "a number in [0, 100] (0: off)",
        )


@dataclass(frozen=True)
class RatingConfig:
    """The rating head: an MLP over the user and item vectors.

    Args:
        layer_sizes: Hidden layer widths (a final width-1 layer is added).
        biases: Add user and item bias terms and a global mean.
        clip_predictions: Clip predicted ratings to the rating scale.
        dropout: Dropout rate on the head's input while training.
        autoencoder: Width of a rating autoencoder of each item (its vector of training
            ratings, as item-based AutoRec encodes it) whose code, times a per-user vector,
            is added to the rating; 0 for none. Needs ``biases``. Used up to 50 million
            ``users x items`` cells (its table of training ratings); larger catalogues train
            without it.
        autoencoder_l2: L2 penalty on the autoencoder's encoder and per-user vectors.
        autoencoder_min_ratings: The autoencoder is used only when users have at least this
            many training ratings on average (each user's vector is learned from their own
            ratings): on MovieLens 100k (85 a user) it lowers RMSE; on a generated shop with
            6 a user it raised RMSE from 0.62 to 0.91, so sparser data trains without it.
        autoencoder_combine: ``sum`` (the autoencoder's term is added to the head's rating) or
            ``mean`` (the head and the autoencoder each predict the rating with the shared
            biases, each trained on the rating loss; the rating is their mean).
    """

    layer_sizes: tuple[int, ...] = (256, 128)
    biases: bool = False
    clip_predictions: bool = True
    dropout: float = 0.0
    autoencoder: int = 0
    autoencoder_l2: float = 0.0
    autoencoder_combine: Literal["sum", "mean"] = "sum"
    autoencoder_min_ratings: float = 20.0
    shrinkage: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "layer_sizes", tuple(int(s) for s in self.layer_sizes))
        check_fields(self, "rating.")
        check(
            all(s >= 1 for s in self.layer_sizes),
            "rating.layer_sizes",
            self.layer_sizes,
            "positive widths such as (256, 128)",
        )
        check(0.0 <= self.dropout < 1.0, "rating.dropout", self.dropout, "in [0, 1)")
        check(
            0 <= self.autoencoder <= 4096,
            "rating.autoencoder",
            self.autoencoder,
            "an integer in [0, 4096] (0: no autoencoder)",
        )
        check(
            self.autoencoder == 0 or self.biases,
            "rating.autoencoder",
            self.autoencoder,
            "0 unless rating.biases is true (it uses the user and item tables)",
        )
        check(
            0.0 <= self.autoencoder_min_ratings <= 1e9,
            "rating.autoencoder_min_ratings",
            self.autoencoder_min_ratings,
            "a number >= 0 (0: always use the autoencoder)",
        )
        check(
            0.0 <= self.autoencoder_l2 <= 100.0,
            "rating.autoencoder_l2",
            self.autoencoder_l2,
            "in [0, 100]",
        )
        check(
            0.0 <= self.shrinkage <= 1e6,
            "rating.shrinkage",
            self.shrinkage,
            "a number of ratings in [0, 1e6] (0: off)",
        )


@dataclass(frozen=True)
class MultiTaskConfig:
    """How the two task losses make one: ``retrieval_weight * retrieval + rating_weight *
    rating``.

    Args:
        retrieval_weight: Weight of the retrieval loss.
        rating_weight: Weight of the rating loss.
        loss_weighting: ``fixed`` weights, or ``uncertainty`` (learned per-task scales,
            Kendall et al. 2018) on top of them.
        rated_share_exponent: Mixed feedback: training uses ``rating_weight * share **
            rated_share_exponent``, where ``share`` is the rated share of the training rows
            (1 when every row is rated, so fully rated data trains as before). The rating
            loss is a mean over a batch's rated rows, so with few ratings each one would
            otherwise pull as hard as a whole batch's worth; 1 makes it a sum over rated
            rows per batch row, 0 turns the adaptation off.
    """

    retrieval_weight: float = 1.0
    rating_weight: float = 1.0
    loss_weighting: LossWeighting = "fixed"
    rated_share_exponent: float = 0.0

    def __post_init__(self) -> None:
        check_fields(self, "multitask.")
        check(
            self.retrieval_weight >= 0, "multitask.retrieval_weight", self.retrieval_weight, ">= 0"
        )
        check(self.rating_weight >= 0, "multitask.rating_weight", self.rating_weight, ">= 0")
        check(
            0 <= self.rated_share_exponent <= 4,
            "multitask.rated_share_exponent",
            self.rated_share_exponent,
            "a number in [0, 4]",
        )
        check(
            self.retrieval_weight + self.rating_weight > 0,
            "multitask.retrieval_weight + rating_weight",
            self.retrieval_weight + self.rating_weight,
            "> 0 (at least one task must train)",
        )


#: Each flat ``[model]`` name of jointrec 0.1 -> (group, name in the group).
LEGACY_NAMES: dict[str, tuple[str, str]] = {
    **{
        name: ("towers", name)
        for name in (
            "embedding_dim",
            "user_features",
            "item_features",
            "feature_combiner",
            "user_history",
            "item_history",
            "item_popularity",
            "embedding_l2",
        )
    },
    **{
        name: ("retrieval", name)
        for name in (
            "negatives",
            "temperature",
            "learn_temperature",
            "l2_normalize",
            "remove_accidental_hits",
            "logq_correction",
            "hard_negatives",
            "positive_weighting",
        )
    },
    "retrieval_min_rating": ("retrieval", "min_rating"),
    "retrieval_reduction": ("retrieval", "reduction"),
    "exclude_seen": ("retrieval", "mask_seen"),
    "layer_sizes": ("rating", "layer_sizes"),
    "rating_biases": ("rating", "biases"),
    "clip_predictions": ("rating", "clip_predictions"),
    "rating_dropout": ("rating", "dropout"),
    "retrieval_weight": ("multitask", "retrieval_weight"),
    "rating_weight": ("multitask", "rating_weight"),
    "loss_weighting": ("multitask", "loss_weighting"),
}
GROUPS = ("towers", "retrieval", "rating", "multitask")


@dataclass(frozen=True)
class ModelConfig:
    """Architecture and loss settings of the joint model, in four groups.

    Args:
        towers: The user and item towers (`TowerConfig`).
        retrieval: The retrieval task (`RetrievalConfig`).
        rating: The rating head (`RatingConfig`).
        multitask: The loss weights (`MultiTaskConfig`).
    """

    towers: TowerConfig = field(default_factory=TowerConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    rating: RatingConfig = field(default_factory=RatingConfig)
    multitask: MultiTaskConfig = field(default_factory=MultiTaskConfig)

    def __post_init__(self) -> None:
        for name, cls in _GROUP_TYPES.items():
            value = getattr(self, name)
            if isinstance(value, Mapping):  # ModelConfig(towers={"embedding_dim": 8})
                object.__setattr__(self, name, replace_fields(cls(), value, f"model.{name}"))
            elif not isinstance(value, cls):
                raise JointrecError(
                    f"model.{name} = {value!r} is invalid: expected a {cls.__name__}"
                )

    def replace(self, values: Mapping[str, Any]) -> ModelConfig:
        """A copy with some settings replaced: ``{"towers": {"embedding_dim": 64}}``, or a
        jointrec 0.1 flat name (``{"embedding_dim": 64}``).

        Example:
            >>> ModelConfig().replace({"rating_weight": 0.0}).multitask.rating_weight
            0.0
        """
        return replace_fields(self, group_legacy_names(values), "model")

    def to_dict(self) -> dict[str, Any]:
        """Nested JSON-ready data; `from_dict` restores it."""
        return to_plain(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelConfig:
        """Rebuilds settings from `to_dict` data or from a jointrec 0.1 flat table."""
        return cls().replace(data)


_GROUP_TYPES: dict[str, type] = {
    "towers": TowerConfig,
    "retrieval": RetrievalConfig,
    "rating": RatingConfig,
    "multitask": MultiTaskConfig,
}


def group_legacy_names(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with each jointrec 0.1 flat name moved into its group.

    Example:
        >>> group_legacy_names({"embedding_dim": 8, "rating": {"biases": True}})
        {'rating': {'biases': True}, 'towers': {'embedding_dim': 8}}
    """
    if not isinstance(values, Mapping):
        raise JointrecError(f"model settings must be a mapping, got {values!r}")
    out: dict[str, Any] = {}
    flat: dict[str, dict[str, Any]] = {}
    for key, value in values.items():
        if key in LEGACY_NAMES:
            group, name = LEGACY_NAMES[key]
            flat.setdefault(group, {})[name] = value
        else:
            out[key] = value
    for group, settings in flat.items():
        nested = out.get(group, {})
        if not isinstance(nested, Mapping):
            raise JointrecError(f"model.{group} = {nested!r} must be a table of settings")
        out[group] = {**nested, **settings}
    return out
