"""The named presets: ``tutorial`` (the keras-rs tutorial as written) and ``default``.

Example:
    >>> preset("tutorial").train.optimizer, preset("default").model.retrieval.reduction
    ('adagrad', 'mean')
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jointrec.errors import JointrecError
from jointrec.settings.model import (
    ModelConfig,
    MultiTaskConfig,
    RatingConfig,
    RetrievalConfig,
    TowerConfig,
)
from jointrec.settings.run import RunConfig, SplitConfig, TrainConfig


def tutorial() -> RunConfig:
    """The keras-rs tutorial as written, flaws included: a sum-reduced in-batch softmax
    without accidental-hit removal, id embeddings only, 5 epochs of Adagrad shuffled once."""
    return RunConfig(
        model=ModelConfig(
            towers=TowerConfig(embedding_dim=32),
            retrieval=RetrievalConfig(
                reduction="sum",
                remove_accidental_hits=False,
                l2_normalize=False,
                temperature=1.0,
                min_rating=None,
            ),
            rating=RatingConfig(layer_sizes=(256, 128), biases=False, clip_predictions=False),
            multitask=MultiTaskConfig(retrieval_weight=1.0, rating_weight=1.0),
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


def default() -> RunConfig:
    """The tutorial's two towers and two tasks, fixed and tuned on a validation split
    (``benchmarks/tune_defaults.py``): side features and the user's history in the towers,
    a full softmax over the catalogue (in-batch with logQ correction for large catalogues)
    at temperature 0.2 with ratings >= 4 as positives and the user's other training items
    not used as negatives, a biased rating head that also encodes each item from its training
    ratings (an item autoencoder, `RatingConfig.autoencoder`; the head rates by the mean of
    its MLP and its autoencoder), the rating loss weighted 20:1 (it is an MSE on a [0, 1]
    label, ~100x smaller than the softmax), and 10 epochs (`benchmarks/tune_quality.py`).
    On mixed feedback the rating weight scales with the cube of the rated share of training
    rows, and an unrated row counts as a retrieval positive by what the rating head predicts
    for it (weight 0 at 1 star up to 1 at 4; both chosen on validation,
    ``benchmarks/sparse_ratings.py``; docs/sparse-ratings.md); fully rated data is
    unaffected. Users with no training interaction get a popularity prior in their retrieval
    scores (``retrieval.newcomer_popularity = 3`` on the popularity of the latest 10% of
    training rows, ``newcomer_window = 0.1``; chosen on a time cut's validation,
    ``benchmarks/temporal_newcomers.py``; docs/temporal.md)."""
    return RunConfig(
        model=ModelConfig(
            towers=TowerConfig(
                embedding_dim=64,
                user_features=("auto",),
                item_features=("auto",),
                user_history=64,
                item_popularity=True,
                embedding_l2=1e-5,
            ),
            retrieval=RetrievalConfig(
                negatives="auto",
                temperature=0.2,
                l2_normalize=True,
                min_rating=4.0,
                reduction="mean",
                remove_accidental_hits=True,
                logq_correction=False,
                mask_seen="all",
                unrated_ramp=3.0,
                newcomer_popularity=3.0,
                newcomer_window=0.1,
            ),
            rating=RatingConfig(
                layer_sizes=(64,),
                biases=True,
                clip_predictions=True,
                autoencoder=128,
                autoencoder_combine="mean",
                autoencoder_l2=1e-4,
            ),
            multitask=MultiTaskConfig(
                retrieval_weight=1.0, rating_weight=20.0, rated_share_exponent=3.0
            ),
        ),
        train=TrainConfig(
            optimizer="adam",
            learning_rate=2.5e-3,
            batch_size=1000,
            epochs=10,
            seed=42,
            shuffle_each_epoch=True,
        ),
        split=SplitConfig(method="random", test_fraction=0.2, seed=42),
        preset="default",
    )


PRESETS: dict[str, Callable[[], RunConfig]] = {"tutorial": tutorial, "default": default}


def preset(name: str = "default") -> RunConfig:
    """Returns the named preset's settings.

    Args:
        name: ``"default"`` (fixed and tuned) or ``"tutorial"`` (the keras-rs tutorial as is).

    Example:
        >>> preset("default").model.towers.embedding_dim
        64
    """
    try:
        return PRESETS[name]()
    except KeyError:
        raise JointrecError(f"unknown preset {name!r}: expected one of {sorted(PRESETS)}") from None


#: The specialists' own settings in `jointrec compare`, per preset and task (``rating`` for
#: the rating-only model, ``retrieval`` for the retrieval-only one): changes to the preset,
#: chosen on validation with the joint model's search budget (`benchmarks/tune_quality.py`).
SPECIALIST_CHANGES: dict[str, dict[str, dict[str, Any]]] = {
    "default": {
        # Best validation RMSE on split seeds 42 and 43 (0.902 / 0.912 against 0.915 / 0.926
        # for the default head alone), at epoch 6 on both.
        "rating": {"model": {"rating": {"autoencoder": 64}}, "train": {"epochs": 6}},
        # Best validation Recall@10 + NDCG@10 of five candidates (tied with learning rate
        # 5e-3 on the mean of the two seeds); its best epochs were 10 (the last tried) and 12.
        "retrieval": {"model": {"rating": {"autoencoder": 0}}, "train": {"epochs": 12}},
    }
}


def specialist(config: RunConfig, task: str) -> RunConfig:
    """``config`` with the preset's tuned settings for the ``task`` specialist, on the fields
    you left at the preset's value (a setting you changed stays yours).

    Example:
        >>> specialist(preset("tutorial"), "rating") == preset("tutorial")
        True
    """
    changes = SPECIALIST_CHANGES.get(config.preset, {}).get(task)
    if not changes or config.preset not in PRESETS:
        return config
    ours, base = config.to_dict(), PRESETS[config.preset]().to_dict()
    return config.replace(**_untouched(changes, ours, base))


def _untouched(changes: dict[str, Any], ours: dict[str, Any], base: dict[str, Any]) -> Any:
    """The part of ``changes`` whose fields are the same in ``ours`` and ``base``."""
    kept: dict[str, Any] = {}
    for key, value in changes.items():
        if isinstance(value, dict):
            inner = _untouched(value, ours.get(key, {}), base.get(key, {}))
            if inner:
                kept[key] = inner
        elif ours.get(key) == base.get(key):
            kept[key] = value
    return kept
