"""The JAX fast path: many training steps per compiled call, no per-step host sync.

This is the one backend-specific module of training. A compiled runner is cached by model
architecture, optimizer settings and batch shape, so the models of a ``compare`` (which
differ only in loss weights, passed as traced scalars) share one compilation; JAX's
persistent compilation cache (`jointrec.backend.jax.compilation_cache`) lets later processes load it
instead of compiling again.

Embedding tables can be updated row-wise ("sparse": `jointrec.backend.jax.row_updates`),
which is what makes catalogues of 10^5 users and items train at the speed of small ones.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np

from jointrec.backend.jax.compilation_cache import enable_compilation_cache
from jointrec.backend.jax.row_updates import (
    State,
    compile_rows,
    row_plan,
    row_template,
    use_sparse,
)
from jointrec.model.joint_model import JointModel


@dataclass
class _Runner:
    template: JointModel
    optimizer: keras.optimizers.Optimizer
    run: Callable[..., Any]
    sparse: bool = False


_RUNNERS: dict[str, _Runner] = {}


def _key(model: JointModel, optimizer_config: dict[str, Any], extra: Any = None) -> str:
    settings = dict(optimizer_config.get("config", {}))
    settings.pop("name", None)  # Keras numbers optimizer names: adagrad, adagrad_1, ...
    config = model.get_config()
    for name in ("retrieval_weight", "rating_weight"):  # traced scalars, not architecture
        config.pop(name, None)
    return json.dumps(
        [config, optimizer_config.get("class_name"), settings, extra],
        sort_keys=True,
        default=str,
    )


def _loss_and_grad(template: JointModel) -> Callable[..., Any]:
    """``(trainable, non_trainable, model_inputs, batch, weights) -> ((loss, aux), grads)``.

    ``model_inputs`` feed the towers; ``batch`` (original ids, labels, mask, log_q) feeds the
    losses, so accidental-hit masking compares real item ids.
    """
    trainable_vars = template.trainable_variables
    non_trainable_vars = template.non_trainable_variables

    def loss_fn(
        trainable: list[Any],
        non_trainable: list[Any],
        model_inputs: dict[str, Any],
        batch: dict[str, Any],
        weights: Any,
    ) -> tuple[Any, tuple[Any, list[Any]]]:
        mapping = list(zip(trainable_vars, trainable, strict=True))
        mapping += list(zip(non_trainable_vars, non_trainable, strict=True))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            if "item_unique" in batch:  # distinct ids from the host (batch_unique)
                losses = template.unique_task_losses(batch, training=True)
            else:
                outputs = template(model_inputs, training=True)
                losses = template.task_losses(
                    {"user": batch["user"], "item": batch["item"]},
                    outputs,
                    batch["label"],
                    mask=batch["mask"],
                    log_q=batch.get("log_q"),
                )
            total = template.total_loss(losses, weights[0], weights[1])
            reg = template.losses
            if reg:
                total = total + sum(reg)
        new_non_trainable = [scope.get_current_value(v) for v in non_trainable_vars]
        return total, (jnp.stack([total, losses["retrieval"], losses["rating"]]), new_non_trainable)

    return jax.value_and_grad(loss_fn, has_aux=True)


def _compile(template: JointModel, optimizer: keras.optimizers.Optimizer) -> Callable[..., Any]:
    grad_fn = _loss_and_grad(template)

    def step(state: State, batch: dict[str, Any], weights: Any) -> tuple[State, Any]:
        trainable, non_trainable, opt_vars = state
        inputs = {"user": batch["user"], "item": batch["item"]}
        (_, (logs, non_trainable)), grads = grad_fn(
            trainable, non_trainable, inputs, batch, weights
        )
        trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
        return (trainable, non_trainable, opt_vars), logs

    def run(state: State, batches: dict[str, Any], weights: Any) -> tuple[State, Any]:
        return jax.lax.scan(lambda s, b: step(s, b, weights), state, batches)

    return jax.jit(run, donate_argnums=0)


def runner_for(
    model: JointModel,
    optimizer_config: dict[str, Any],
    make_optimizer: Callable[[], keras.optimizers.Optimizer],
    *,
    sparse_batch_size: int | None = None,
) -> _Runner:
    """Returns the cached compiled runner for this architecture, creating it once.

    Args:
        model: The model (its architecture is the cache key, not its weights).
        optimizer_config: Serialised optimizer.
        make_optimizer: Builds a fresh optimizer with that config.
        sparse_batch_size: When given, update tables row-wise for batches of this size.
    """
    key = _key(model, optimizer_config, sparse_batch_size)
    runner = _RUNNERS.get(key)
    if runner is None:
        enable_compilation_cache()
        optimizer = make_optimizer()
        optimizer.build(model.trainable_variables)
        run = None
        if sparse_batch_size is not None:
            plan = row_plan(model, optimizer)
            if plan is not None:
                rows = row_template(model, sparse_batch_size, optimizer, make_optimizer)
                if rows is not None:
                    run = compile_rows(plan, rows, sparse_batch_size, _loss_and_grad)
        if run is None:
            runner = _Runner(template=model, optimizer=optimizer, run=_compile(model, optimizer))
        else:
            runner = _Runner(template=model, optimizer=optimizer, run=run, sparse=True)
        _RUNNERS[key] = runner
    return runner


class JaxTrainingState:
    """Model and optimizer values held as JAX arrays while training, in one process: the
    `jointrec.backend.StepRunner` of ordinary training.

    Args:
        model: The model to train; its variables are read now and written by `write_back`.
        optimizer_config: Serialised optimizer (`keras.optimizers.serialize`).
        make_optimizer: Builds a fresh optimizer with that config.
        embedding_updates: ``"dense"`` (default), ``"sparse"`` (row-wise table updates) or
            ``"auto"`` (row-wise where exact and worthwhile); see `use_sparse`.
    """

    def __init__(
        self,
        model: JointModel,
        optimizer_config: dict[str, Any],
        make_optimizer: Callable[[], keras.optimizers.Optimizer],
        embedding_updates: str = "dense",
    ) -> None:
        self.model = model
        self.optimizer_config = optimizer_config
        self.make_optimizer = make_optimizer
        self.embedding_updates = embedding_updates
        self.runner = runner_for(model, optimizer_config, make_optimizer)
        fresh = make_optimizer()
        fresh.build(model.trainable_variables)
        self.state: State = (
            [jnp.array(v.value) for v in model.trainable_variables],
            [jnp.array(v.value) for v in model.non_trainable_variables],
            [jnp.array(v.value) for v in fresh.variables],
        )

    is_chief = True

    def columns(self, batch_size: int) -> tuple[int, int]:
        """Every column of every batch: one process feeds them all."""
        return 0, batch_size

    def agree(self, flag: bool) -> bool:
        """``flag`` itself: one process decides alone."""
        return flag

    def runner_for_batch(self, batch_size: int) -> _Runner:
        """The runner for batches of ``batch_size`` (row-wise when the mode selects it)."""
        if use_sparse(self.embedding_updates, self.model, self.optimizer_config, batch_size):
            return runner_for(
                self.model, self.optimizer_config, self.make_optimizer, sparse_batch_size=batch_size
            )
        return self.runner

    def takes_distinct_ids(self, batch_size: int) -> bool:
        """Whether batches of ``batch_size`` may carry distinct-id columns
        (`jointrec.training.batch_unique`): the model allows it and its tables are updated
        densely (the row-wise runner gathers rows by its own distinct ids)."""
        return self.model.supports_unique() and not self.runner_for_batch(batch_size).sparse

    def dispatch(
        self, batches: dict[str, Any], retrieval_weight: float, rating_weight: float
    ) -> jax.Array:
        """Starts ``steps`` training steps and returns their ``[steps, 3]`` logs (total,
        retrieval, rating) as a device array, without waiting for them."""
        runner = self.runner_for_batch(int(np.shape(batches["user"])[1]))
        weights = jnp.asarray([retrieval_weight, rating_weight], dtype=jnp.float32)
        self.state, logs = runner.run(self.state, batches, weights)
        return logs

    def run(
        self, batches: dict[str, np.ndarray], retrieval_weight: float, rating_weight: float
    ) -> np.ndarray:
        """Runs ``steps`` training steps; returns ``[steps, 3]`` (total, retrieval, rating)."""
        return np.asarray(self.dispatch(batches, retrieval_weight, rating_weight))

    def run_overlapped(
        self, chunks: Iterable[dict[str, Any]], retrieval_weight: float, rating_weight: float
    ) -> Iterator[np.ndarray]:
        """Runs each chunk of batches in turn, yielding each one's ``[steps, 3]`` logs.

        One chunk is always in flight: the next chunk is drawn from ``chunks`` (cut on the
        host) while the device still runs the previous one, and the host waits only for logs.
        """
        pending = None
        for chunk in chunks:
            dispatched = self.dispatch(chunk, retrieval_weight, rating_weight)
            if pending is not None:
                yield np.asarray(pending)
            pending = dispatched
        if pending is not None:
            yield np.asarray(pending)

    def optimizer_values(self) -> list[np.ndarray]:
        """Current optimizer variables, e.g. for a checkpoint."""
        return [np.asarray(v) for v in self.state[2]]

    def set_optimizer_values(self, values: list[np.ndarray]) -> None:
        """Restores optimizer variables saved by `optimizer_values`."""
        trainable, non_trainable, _ = self.state
        self.state = (trainable, non_trainable, [jnp.asarray(v) for v in values])

    def write_back(self) -> None:
        """Copies the trained values into the model's variables."""
        trainable, non_trainable, _ = self.state
        for var, value in zip(self.model.trainable_variables, trainable, strict=True):
            var.assign(value)
        for var, value in zip(self.model.non_trainable_variables, non_trainable, strict=True):
            var.assign(value)
