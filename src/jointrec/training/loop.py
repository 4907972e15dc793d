"""`fit`: trains a `JointModel` on encoded examples.

One epoch loop for every way of training: it cuts each epoch into chunks of batches and
hands them to the backend's compiled steps (`jointrec.backend.step_runner`: one process, or
each process's columns of the global batches in data-parallel training); where the backend
has none, Keras ``model.fit`` trains the same loss.

Example:
    >>> import numpy as np
    >>> from jointrec.settings import ModelConfig, TrainConfig
    >>> from jointrec.model import build_model
    >>> config = ModelConfig(towers={"embedding_dim": 4}, rating={"layer_sizes": (8,)})
    >>> model = build_model(config, 5, 5, seed=0)
    >>> data = TrainingArrays(np.array([1, 2, 3, 4]), np.array([1, 2, 3, 4]), np.full(4, 0.5))
    >>> history = fit(model, data, TrainConfig(batch_size=2, epochs=2), progress=False)
    >>> len(history.epochs)
    2
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from jointrec import backend
from jointrec.errors import JointrecError
from jointrec.model.joint_model import JointModel
from jointrec.progress import progress_task
from jointrec.settings import TrainConfig
from jointrec.training.batch_unique import with_unique_ids
from jointrec.training.batches import TrainingArrays, epoch_chunks, num_steps
from jointrec.training.checkpoint import CheckpointDir, TrainingCheckpoint

MAX_STEPS_PER_CALL = 500
EpochCallback = Callable[[int, dict[str, float]], bool | None]

_OPTIMIZERS: dict[str, type[keras.optimizers.Optimizer]] = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "adagrad": keras.optimizers.Adagrad,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
}


@dataclass
class History:
    """Per-epoch training logs: ``loss``, ``retrieval_loss``, ``rating_loss``, ``seconds``
    and whatever an epoch callback added (e.g. validation metrics)."""

    epochs: list[dict[str, float]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"epochs": self.epochs}


def make_optimizer(config: TrainConfig) -> keras.optimizers.Optimizer:
    """The Keras optimizer named by ``config``."""
    extra = {"weight_decay": config.weight_decay} if config.weight_decay > 0 else {}
    return _OPTIMIZERS[config.optimizer](learning_rate=config.learning_rate, **extra)


def fit(
    model: JointModel,
    data: TrainingArrays,
    config: TrainConfig,
    *,
    retrieval_weight: float | None = None,
    rating_weight: float | None = None,
    progress: bool = True,
    on_epoch_end: EpochCallback | None = None,
    description: str = "training",
    checkpoints: CheckpointDir | None = None,
    resume: TrainingCheckpoint | None = None,
) -> History:
    """Trains ``model`` in place.

    Args:
        model: A built `JointModel`.
        data: Encoded training examples.
        config: Optimizer, batch size, epochs, seed and shuffling.
        retrieval_weight: Overrides the model's retrieval loss weight.
        rating_weight: Overrides the model's rating loss weight.
        progress: Draw a rich progress bar.
        on_epoch_end: Called with ``(epoch, logs)`` after each epoch (the model holds the
            epoch's weights); may add entries to ``logs``; returning ``True`` stops training.
        description: Label of the progress bar.
        checkpoints: Where to save a checkpoint after every epoch (JAX backend).
        resume: A checkpoint of this run to continue from: training picks up after its
            epoch with its weights, optimizer state, shuffler state and history, and ends as
            an uninterrupted run would (bit-for-bit on CPU).

    Returns:
        The per-epoch `History`.
    """
    w_ret = model.retrieval_weight if retrieval_weight is None else float(retrieval_weight)
    w_rat = model.rating_weight if rating_weight is None else float(rating_weight)
    distributed = backend.active_cluster() is not None
    if distributed and (checkpoints is not None or resume is not None):
        raise JointrecError(
            "checkpoints are not supported by multi-process training yet: train with "
            "--no-checkpoint, or in one process"
        )
    if resume is not None:
        resume.restore_model(model)  # before the runner copies the weights
    if config.batch_size > len(data):  # one batch holds every example: no larger padding
        config = dataclasses.replace(config, batch_size=max(2, len(data)))
    runner = backend.step_runner(model, config, lambda: make_optimizer(config), data)
    if runner is None:
        if checkpoints is not None or resume is not None:
            raise JointrecError(
                f"checkpoints need the JAX backend, got {backend.name()!r}: set "
                "KERAS_BACKEND=jax or train without checkpoints"
            )
        return _fit_keras(model, data, config, w_ret, w_rat, progress, on_epoch_end)
    rng = np.random.default_rng(config.seed)
    steps = num_steps(len(data), config.batch_size)
    columns = runner.columns(config.batch_size)
    distinct_ids = config.distinct_ids and runner.takes_distinct_ids(config.batch_size)
    history = History()
    first = 0
    if resume is not None:
        first = resume.restore_training(runner, rng, history, config.epochs, on_epoch_end)
    show = progress and runner.is_chief
    with progress_task(description, total=steps * (config.epochs - first), enabled=show) as bar:
        for epoch in range(first, config.epochs):
            start = time.perf_counter()
            order = epoch_order(len(data), epoch, config, rng)
            chunks = epoch_chunks(data, order, config.batch_size, MAX_STEPS_PER_CALL, columns)
            if distinct_ids:
                chunks = map(with_unique_ids, chunks)
            logs = []
            for chunk_logs in runner.run_overlapped(chunks, w_ret, w_rat):
                check_finite(chunk_logs, epoch, config)
                logs.append(chunk_logs)
                bar.advance(
                    len(chunk_logs),
                    description=f"{description} epoch {epoch + 1}/{config.epochs} "
                    f"loss {float(logs[-1][-1, 0]):.4f}",
                )
            entry = epoch_entry(epoch, logs, len(data), config.batch_size, start)
            history.epochs.append(entry)
            stop = False
            if on_epoch_end is not None or checkpoints is not None:
                runner.write_back()
            if on_epoch_end is not None:
                stop = runner.agree(bool(on_epoch_end(epoch, entry)))
            if checkpoints is not None:
                checkpoints.save(
                    TrainingCheckpoint.capture(
                        epoch + 1,
                        model,
                        runner.optimizer_values(),
                        rng,
                        history.epochs,
                        stop,
                        callback=on_epoch_end,
                    )
                )
            if stop:
                break
    runner.write_back()
    return history


def check_finite(logs: np.ndarray, epoch: int, config: TrainConfig) -> None:
    """Raises `JointrecError` when a step's loss is not finite: the run diverged.

    Args:
        logs: ``[steps, 3]`` losses (total, retrieval, rating) of some steps.
        epoch: The epoch they belong to, from 0.
        config: The training settings, to name what to change.
    """
    if np.isfinite(logs).all():
        return
    bad = np.flatnonzero(~np.isfinite(logs).all(axis=1))[0]
    value = logs[bad, 0]
    raise JointrecError(
        f"training diverged in epoch {epoch + 1}: the loss became {value} (learning rate "
        f"{config.learning_rate:g}, optimizer {config.optimizer}): lower the learning rate "
        "(--learning-rate) or the loss weights, and train again"
    )


def epoch_order(n: int, epoch: int, config: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """Example order of one epoch: a fresh permutation, or input order when not shuffling."""
    return rng.permutation(n) if config.shuffle_each_epoch else np.arange(n)


def epoch_entry(
    epoch: int, logs: list[np.ndarray], n: int, batch_size: int, start: float
) -> dict[str, float]:
    """One epoch's `History` entry from the per-step losses of its training calls.

    Args:
        epoch: The epoch's index, from 0.
        logs: The calls' ``(steps, 3)`` arrays of ``[loss, retrieval_loss, rating_loss]``
            per step, in step order.
        n: Examples in the epoch.
        batch_size: Rows per step; the last step holds the remainder.
        start: ``time.perf_counter()`` at the epoch's start.

    Returns:
        ``epoch`` (from 1), the three losses averaged over steps weighted by their real
        (unpadded) rows, as Keras reports them, and the epoch's wall ``seconds``.

    Example:
        >>> logs = [np.array([[1.0, 0.5, 0.5]]), np.array([[4.0, 2.0, 2.0]])]
        >>> epoch_entry(0, logs, n=6, batch_size=4, start=time.perf_counter())["loss"]
        2.0
    """
    steps = num_steps(n, batch_size)
    rows = np.full(steps, batch_size, dtype=np.float32)  # as the mask sums were
    rows[-1] = n - (steps - 1) * batch_size
    mean = (np.concatenate(logs) * rows[:, None]).sum(axis=0) / rows.sum()
    return {
        "epoch": epoch + 1,
        "loss": float(mean[0]),
        "retrieval_loss": float(mean[1]),
        "rating_loss": float(mean[2]),
        "seconds": time.perf_counter() - start,
    }


def _fit_keras(
    model: JointModel,
    data: TrainingArrays,
    config: TrainConfig,
    w_ret: float,
    w_rat: float,
    progress: bool,
    on_epoch_end: EpochCallback | None,
) -> History:
    """Portable path for the TensorFlow and PyTorch backends: Keras ``fit``."""
    old = (model.retrieval_weight, model.rating_weight)
    model.retrieval_weight, model.rating_weight = w_ret, w_rat
    model.compile(optimizer=make_optimizer(config))
    history = History()

    class _Logs(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            entry = {
                "epoch": epoch + 1,
                "loss": float((logs or {}).get("loss", np.nan)),
                "seconds": time.perf_counter() - self.start,
            }
            history.epochs.append(entry)
            if "loss" in (logs or {}):
                check_finite(np.array([[entry["loss"], 0.0, 0.0]]), epoch, config)
            if on_epoch_end is not None and on_epoch_end(epoch, entry):
                self.model.stop_training = True

    try:
        if data.log_q is not None:
            raise NotImplementedError("logQ correction needs the JAX backend")
        model.fit(
            {"user": data.user, "item": data.item},
            data.label,
            batch_size=config.batch_size,
            epochs=config.epochs,
            shuffle=config.shuffle_each_epoch,
            verbose=1 if progress else 0,
            callbacks=[_Logs()],
        )
    finally:
        model.retrieval_weight, model.rating_weight = old
    return history
