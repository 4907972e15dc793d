"""The steps of a run: prepare data, train one model, evaluate it.

Example:
    >>> from jointrec.settings import preset
    >>> data = prepare_data(load_movielens("100k", path=ZIP), preset().split)  # doctest: +SKIP
    >>> trained = train_model(data, preset())  # doctest: +SKIP
    >>> trained.report["recall@10"]  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from jointrec import backend
from jointrec.data.encoded import EncodedInteractions, encode
from jointrec.data.interactions import Dataset, Interactions
from jointrec.data.splits import split_rows
from jointrec.data.vocabulary import Vocabulary
from jointrec.errors import JointrecError
from jointrec.settings import ModelConfig, RunConfig, SplitConfig


@dataclass(frozen=True)
class PreparedData:
    """A dataset split and encoded once, shared by every model of a run.

    The item vocabulary covers the whole catalogue (the item table when there is one), so
    every catalogue item can be retrieved; the user vocabulary covers users with training
    interactions (plus the user table's users when there is one).
    """

    dataset: Dataset
    split: SplitConfig
    users: Vocabulary
    items: Vocabulary
    train: EncodedInteractions
    validation: EncodedInteractions
    test: EncodedInteractions
    train_rows: np.ndarray = field(repr=False)

    @property
    def has_ratings(self) -> bool:
        """Whether the interactions carry explicit ratings (else: retrieval only)."""
        return self.dataset.interactions.has_ratings

    @property
    def rating_scale(self) -> tuple[float, float]:
        """Lowest and highest rating."""
        return self.dataset.interactions.rating_scale

    def train_interactions(self) -> Interactions:
        """Training interactions with raw ids."""
        return self.dataset.interactions.take(self.train_rows)


def prepare_data(dataset: Dataset, split: SplitConfig) -> PreparedData:
    """Splits ``dataset`` and builds vocabularies (from training data and the catalogue).

    Data without ratings (implicit feedback) is fine: `train_model` then trains retrieval only.
    """
    x = dataset.interactions
    train_rows, val_rows, test_rows = split_rows(x, split)
    train = x.take(train_rows)
    user_ids = (
        train.user
        if dataset.users is None
        else np.concatenate([train.user, dataset.users.ids.astype(train.user.dtype)])
    )
    item_ids = (
        train.item
        if dataset.items is None
        else np.concatenate([train.item, dataset.items.ids.astype(train.item.dtype)])
    )
    users = Vocabulary.from_values(user_ids, name="user")
    items = Vocabulary.from_values(item_ids, name="item")
    return PreparedData(
        dataset=dataset,
        split=split,
        users=users,
        items=items,
        train=encode(train, users, items),
        validation=encode(x.take(val_rows), users, items),
        test=encode(x.take(test_rows), users, items),
        train_rows=train_rows,
    )


@dataclass
class TrainedModel:
    """One trained model with its exported arrays, history and test report."""

    name: str
    config: RunConfig
    model: Any
    exported: Any
    history: Any
    train_seconds: float
    report: dict[str, float] = field(default_factory=dict)


def train_model(
    data: PreparedData,
    config: RunConfig,
    *,
    name: str = "joint",
    retrieval_weight: float | None = None,
    rating_weight: float | None = None,
    progress: bool = True,
    evaluate_on: str | None = "test",
    monitor_validation: bool = False,
    checkpoints: Any = None,
    resume: Any = None,
) -> TrainedModel:
    """Builds, trains, exports and (optionally) evaluates one joint model.

    Args:
        data: Prepared data.
        config: Run settings.
        name: Label in reports and progress bars.
        retrieval_weight: Overrides ``config.model.multitask.retrieval_weight``.
        rating_weight: Overrides ``config.model.multitask.rating_weight``.
        progress: Show a progress bar.
        evaluate_on: ``"test"``, ``"validation"`` or ``None`` (no evaluation).
        monitor_validation: Evaluate on the validation split after every epoch and log
            ``val_*`` metrics in the history (implied by ``config.train.early_stopping``).
        checkpoints: A `CheckpointDir` to save a checkpoint to after every epoch.
        resume: A `TrainingCheckpoint` of this run to continue from.

    Without ratings in ``data`` the rating loss weight is set to 0 (retrieval only), and the
    exported model says ``can_rate=False``, so there are no rating metrics or predicted stars.
    """
    from jointrec.artifact.export import export_model
    from jointrec.evaluation.evaluate import evaluate
    from jointrec.model.build import build_model, resolve_negatives
    from jointrec.training import TrainingArrays, fit
    from jointrec.training.batches import item_log_frequencies

    model_config = config.model
    multitask: dict[str, Any] = {
        k: v
        for k, v in (("retrieval_weight", retrieval_weight), ("rating_weight", rating_weight))
        if v is not None
    }
    changes: dict[str, Any] = {}
    if not data.has_ratings:
        if multitask.get("retrieval_weight", model_config.multitask.retrieval_weight) <= 0:
            raise JointrecError(
                f"{data.dataset.interactions.source} has no ratings, so a rating-only model "
                f"({name!r}) cannot be trained: give a rating column or a retrieval weight > 0"
            )
        multitask["rating_weight"] = 0.0
        changes["retrieval"] = {"min_rating": None}  # every interaction is a positive
    if multitask:
        changes["multitask"] = multitask
    if changes:
        model_config = model_config.replace(changes)
    model_config = resolve_negatives(model_config, len(data.users), len(data.items))
    user_features, item_features = _tower_features(data, model_config)
    backend.enable_compilation_cache()  # before building: initializers compile programs too
    model = build_model(
        model_config,
        len(data.users),
        len(data.items),
        rating_scale=data.rating_scale,
        seed=config.train.seed,
        training=data.train,
        batch_size=config.train.batch_size,
        shuffle=config.train.shuffle_each_epoch,
        user_features=user_features,
        item_features=item_features,
    )
    labels = data.train.labels()
    start = time.perf_counter()
    log_q = None
    retrieval = model_config.retrieval
    if retrieval.logq_correction and retrieval.negatives == "in_batch":
        log_q = item_log_frequencies(data.train.item, len(data.items))[data.train.item]
    clip = model_config.rating.clip_predictions
    stopper = None
    if config.train.early_stopping > 0 or monitor_validation:
        from jointrec.training.early_stopping import ValidationMonitor

        stopper = ValidationMonitor(
            model,
            lambda m: evaluate(
                export_model(m, data.rating_scale, clip, name=name),
                data.train,
                data.validation,
                config.eval,
            ),
            metric=config.train.early_stopping_metric,
            patience=config.train.early_stopping,
        )
        if len(data.validation) == 0:
            raise JointrecError(
                "early stopping needs a validation split: set split.validation_fraction > 0 "
                "(e.g. 0.1) or early_stopping=0"
            )
    history = fit(
        model,
        TrainingArrays(data.train.user, data.train.item, labels, log_q),
        config.train,
        progress=progress,
        description=f"training {name}",
        on_epoch_end=stopper,
        checkpoints=checkpoints,
        resume=resume,
    )
    if stopper is not None and config.train.early_stopping > 0:
        stopper.restore_best()
    seconds = time.perf_counter() - start
    exported = export_model(
        model,
        rating_scale=data.rating_scale,
        clip_predictions=clip,
        name=name,
        can_rate=data.has_ratings,
    )
    trained = TrainedModel(
        name=name,
        config=dataclasses.replace(config, model=model_config),
        model=model,
        exported=exported,
        history=history,
        train_seconds=seconds,
    )
    if evaluate_on is not None:
        target = data.test if evaluate_on == "test" else data.validation
        if len(target) == 0:
            raise JointrecError(
                f"cannot evaluate on the empty {evaluate_on} split: set validation_fraction > 0"
            )
        trained.report = evaluate(exported, data.train, target, config.eval)
    return trained


def _tower_features(data: PreparedData, model_config: ModelConfig) -> tuple[Any, Any]:
    """Encoded side features of both towers (``None`` where a tower has none)."""
    towers = model_config.towers
    if not towers.has_features:
        return None, None
    from jointrec.features.prepare import encode_tower_features

    return encode_tower_features(
        data.dataset,
        data.train_interactions(),
        data.users,
        data.items,
        towers.user_features,
        towers.item_features,
        towers.user_history,
        towers.item_history,
        towers.item_popularity,
    )
