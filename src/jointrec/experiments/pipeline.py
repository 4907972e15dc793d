"""The steps every experiment takes: settings -> data -> split -> one trained, exported and
evaluated model. `jointrec.experiments.train`, `compare`, `sweep` and `evaluate` are these
steps in different orders; nothing else trains a model.

    as_experiment   settings of any shape (a preset name, a `RunConfig`, an experiment file,
                    an `Experiment`) and data (a path, a `DataConfig`, a `Dataset`)
    load            the experiment's data, with the settings as resolved and notes
    prepare_data    split, vocabularies, encoding: shared by every model of a run
    train_model     build, fit (early stopping on validation), export, evaluate

Example:
    >>> experiment, dataset = as_experiment("default", ZIP)  # doctest: +SKIP
    >>> loaded = load(experiment, dataset)  # doctest: +SKIP
    >>> data = prepare_data(loaded.dataset, loaded.experiment.run.split)  # doctest: +SKIP
    >>> train_model(data, loaded.experiment.run).report["recall@10"]  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from jointrec import backend
from jointrec.data.encoded import EncodedInteractions, encode
from jointrec.data.interactions import Dataset, Interactions
from jointrec.data.load import load_data
from jointrec.data.splits import split_rows
from jointrec.data.vocabulary import Vocabulary
from jointrec.errors import JointrecError
from jointrec.experiments.manifest import changed_files, data_hashes
from jointrec.progress import stage, timed
from jointrec.settings import (
    PRESETS,
    DataConfig,
    Experiment,
    ModelConfig,
    RunConfig,
    SplitConfig,
    preset,
    resolve_experiment,
)
from jointrec.training.checkpoint import CheckpointDir, TrainingCheckpoint

if TYPE_CHECKING:
    from jointrec.model.build import Tower

#: What `as_experiment` accepts as settings.
Settings = Experiment | RunConfig | str | os.PathLike[str]
#: What `as_experiment` accepts as data: a MovieLens zip or folder, a `DataConfig`, or a
#: `Dataset` already in memory.
DataArg = DataConfig | Dataset | str | os.PathLike[str] | None
Notify = Callable[[str], None]


def as_experiment(
    settings: Settings = "default", data: DataArg = None, out: str | os.PathLike[str] | None = None
) -> tuple[Experiment, Dataset | None]:
    """One `Experiment` from settings and data of any accepted shape.

    Args:
        settings: A preset name (``"default"``, ``"tutorial"``), an experiment TOML file
            (a run's ``manifest.toml`` too), a `RunConfig` or an `Experiment`.
        data: ``None`` (the experiment's own data), a MovieLens zip or folder, a
            `DataConfig`, or a `Dataset` in memory (returned apart: settings cannot hold it).
        out: Run directory, overriding the experiment's.

    Example:
        >>> exp, dataset = as_experiment("tutorial", "ml-100k.zip")
        >>> exp.run.preset, exp.data.path.endswith("ml-100k.zip"), dataset
        ('tutorial', True, None)
    """
    if isinstance(settings, Experiment):
        experiment = settings
    elif isinstance(settings, RunConfig):
        experiment = Experiment(run=settings)
    elif isinstance(settings, str) and settings in PRESETS:
        experiment = Experiment(run=preset(settings))
    elif isinstance(settings, str | os.PathLike):
        experiment = resolve_experiment(settings)
    else:
        raise JointrecError(
            f"settings {settings!r} are invalid: expected a preset name, an experiment file, "
            "a RunConfig or an Experiment"
        )
    dataset = None
    if isinstance(data, Dataset):
        dataset = data
    elif isinstance(data, DataConfig):
        experiment = experiment.replace(data=data)
    elif isinstance(data, str | os.PathLike):
        path = str(Path(data).expanduser().resolve())
        experiment = experiment.replace(data=DataConfig(dataset=experiment.data.dataset, path=path))
    elif data is not None:
        raise JointrecError(
            f"data {data!r} is invalid: expected a MovieLens zip or folder, a DataConfig or "
            "a Dataset"
        )
    if out is not None:
        experiment = experiment.replace(out=str(out))
    return experiment, dataset


@dataclass
class Loaded:
    """An experiment's data, read.

    Args:
        dataset: The data.
        experiment: The experiment as resolved: absolute paths, the rating scale and
            feature kinds in use, the feature tables' features named, and without ratings
            the rating weight 0.
        hashes: SHA-256 of each data file read (empty for data given in memory).
        notes: What the user should know before training (retrieval only, changed files).
        in_memory: The data was given as a `Dataset`, not read from the settings' files.
    """

    dataset: Dataset
    experiment: Experiment
    hashes: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    in_memory: bool = False


def load(
    experiment: Experiment,
    dataset: Dataset | None = None,
    *,
    progress: bool = True,
    notify: Notify | None = None,
) -> Loaded:
    """Reads the experiment's data (or takes ``dataset``) and resolves what depends on it.

    Args:
        experiment: What to run.
        dataset: Data already in memory, instead of the experiment's ``data`` settings.
        progress: Show download progress.
        notify: Called with each note as soon as it is known.
    """
    hashes: dict[str, str] = {}
    notes: list[str] = []
    in_memory = dataset is not None
    if dataset is None:
        with stage("reading the data", progress):
            dataset, data_config = load_data(experiment.data, progress=progress)
        hashes = data_hashes(data_config.files())
        notes += changed_files(experiment.provenance, hashes)
        notes += dataset.notes
        experiment = experiment.replace(data=data_config)
    run = _with_table_features(experiment.run, dataset)
    if not dataset.interactions.has_ratings:
        notes.append(
            "no rating column: training retrieval only (rating loss weight 0; no rating "
            "metrics or predicted stars)"
        )
    if notify is not None:
        for note in notes:
            notify(note)
    return Loaded(dataset, experiment.replace(run=run), hashes, notes, in_memory)


def _with_table_features(config: RunConfig, dataset: Dataset) -> RunConfig:
    """Uses every feature of a declared feature table unless the towers name some; the
    names are written out (not ``"auto"``) so that the manifest says what was used."""
    changes = {}
    for side, table in (("user", dataset.users), ("item", dataset.items)):
        if table is None or "feature_specs" not in table.metadata:
            continue
        if tuple(getattr(config.model.towers, f"{side}_features")) in ((), ("auto",)):
            names = [spec["name"] for spec in table.metadata["feature_specs"]]
            changes[f"{side}_features"] = tuple(names)
    return config.replace(model={"towers": changes}) if changes else config


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

    def info(self, path: str | None = None) -> dict[str, Any]:
        """Where the data came from and how it was split (saved with an artifact)."""
        return {
            "dataset": self.dataset.name,
            "path": path,
            "interactions": len(self.dataset.interactions),
            "train": len(self.train),
            "validation": len(self.validation),
            "test": len(self.test),
        }


def prepare_data(dataset: Dataset, split: SplitConfig, *, progress: bool = False) -> PreparedData:
    """Splits ``dataset`` and builds vocabularies (from training data and the catalogue).

    Data without ratings (implicit feedback) is fine: `train_model` then trains retrieval only.
    ``progress`` shows the stage while it runs (`jointrec.progress.stage`).
    """
    with stage("splitting and encoding", progress):
        return _prepare_data(dataset, split)


def _prepare_data(dataset: Dataset, split: SplitConfig) -> PreparedData:
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
    encoded = encode(train, users, items)
    if split.method != "random" and train.timestamp is not None:
        # a split by time: tuning carves its validation part by time too
        encoded = dataclasses.replace(encoded, time=np.asarray(train.timestamp))
    return PreparedData(
        dataset=dataset,
        split=split,
        users=users,
        items=items,
        train=encoded,
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
    checkpoints: CheckpointDir | None = None,
    resume: TrainingCheckpoint | None = None,
    user_tower: Tower | None = None,
    item_tower: Tower | None = None,
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
        checkpoints: Where to save a checkpoint after every epoch.
        resume: A checkpoint of this run to continue from.
        user_tower: Your own user tower: a Keras layer from user indices to vectors, or a
            function ``(vocabulary_size, embedding_dim) -> layer``
            (`jointrec.model.build.build_model` says what it must do).
        item_tower: The same for items.

    Without ratings in ``data`` the rating loss weight is set to 0 (retrieval only), and the
    exported model says ``can_rate=False``, so there are no rating metrics or predicted stars.
    """
    from jointrec.artifact.export import export_model
    from jointrec.data.splits import recent_rows
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
    with stage("building features and the model", progress):
        user_features, item_features = _tower_features(data, model_config)
        backend.enable_compilation_cache()  # before building: initializers compile programs
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
            user_tower=user_tower,
            item_tower=item_tower,
        )
    labels = data.train.labels()
    start = time.perf_counter()
    log_q = None
    retrieval = model_config.retrieval
    if retrieval.logq_correction and retrieval.negatives == "in_batch":
        log_q = item_log_frequencies(data.train.item, len(data.items))[data.train.item]
    clip = model_config.rating.clip_predictions
    recent = recent_rows(data.train.time, retrieval.newcomer_window)
    popular = None if recent is None else data.train.item[recent]
    # recent popularity for users with a history needs the rows' times (splits by time)
    known_weight = retrieval.recent_popularity if data.train.time is not None else 0.0
    rated_users = data.train.user[np.isfinite(labels)]  # n of each user's rating shrinkage

    def export(trained: Any) -> Any:
        """The NumPy model of ``trained`` as this run serves it (also for validation)."""
        return export_model(
            trained,
            rating_scale=data.rating_scale,
            clip_predictions=clip,
            name=name,
            can_rate=data.has_ratings,
            training=(data.train.user, data.train.item),
            newcomer_popularity=retrieval.newcomer_popularity,
            popular_items=popular,
            recent_popularity=known_weight,
            rated_users=rated_users,
            rating_shrinkage=model_config.rating.shrinkage,
        )

    stopper = None
    if config.train.early_stopping > 0 or monitor_validation:
        from jointrec.training.early_stopping import ValidationMonitor

        stopper = ValidationMonitor(
            model,
            lambda m: evaluate(export(m), data.train, data.validation, config.eval),
            metric=config.train.early_stopping_metric,
            patience=config.train.early_stopping,
        )
        if len(data.validation) == 0:
            raise JointrecError(
                "early stopping needs a validation split: set split.validation_fraction > 0 "
                "(e.g. 0.1) or early_stopping=0"
            )
    with timed(f"training {name}"):  # the bar shows it
        history = fit(
            model,
            TrainingArrays(data.train.user, data.train.item, labels, log_q),
            config.train,
            rating_weight=effective_rating_weight(model_config, data.train),
            progress=progress,
            description=f"training {name}",
            on_epoch_end=stopper,
            checkpoints=checkpoints,
            resume=resume,
        )
    if stopper is not None and config.train.early_stopping > 0:
        stopper.restore_best()
    seconds = time.perf_counter() - start
    with stage(f"exporting {name}", progress):
        exported = export(model)
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
        with stage(f"evaluating {name} on {evaluate_on}", progress):
            trained.report = evaluate(exported, data.train, target, config.eval)
    return trained


def effective_rating_weight(config: ModelConfig, train: EncodedInteractions) -> float | None:
    """The rating loss weight training uses on mixed feedback: ``rating_weight * share **
    rated_share_exponent`` (``share``: the rated share of the training rows), or ``None``
    (the configured weight) when every row is rated or the exponent is 0.

    Example:
        >>> from jointrec.settings import ModelConfig
        >>> x = EncodedInteractions(np.arange(4), np.arange(4), np.array([4.0, np.nan] * 2))
        >>> cfg = ModelConfig(multitask={"rating_weight": 20.0, "rated_share_exponent": 1.0})
        >>> effective_rating_weight(cfg, x)
        10.0
    """
    multitask = config.multitask
    if train.rating is None or not multitask.rated_share_exponent or not len(train):
        return None
    share = float(train.rated.mean())
    if share >= 1.0 or share <= 0.0:
        return None
    return float(multitask.rating_weight * share**multitask.rated_share_exponent)


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
        towers.item_recency,
    )
