"""The JAX fast path: many training steps per compiled call, no per-step host sync.

This is the one backend-specific module of training. A compiled runner is cached by model
architecture, optimizer settings and batch shape, so the models of a ``compare`` (which
differ only in loss weights, passed as traced scalars) share one compilation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np

from jointrec.model import JointModel

State = tuple[list[Any], list[Any], list[Any]]


@dataclass
class _Runner:
    template: JointModel
    optimizer: keras.optimizers.Optimizer
    run: Callable[..., Any]


_RUNNERS: dict[str, _Runner] = {}


def _key(model: JointModel, optimizer_config: dict[str, Any]) -> str:
    settings = dict(optimizer_config.get("config", {}))
    settings.pop("name", None)  # Keras numbers optimizer names: adagrad, adagrad_1, ...
    config = model.get_config()
    for name in ("retrieval_weight", "rating_weight"):  # traced scalars, not architecture
        config.pop(name, None)
    return json.dumps(
        [config, optimizer_config.get("class_name"), settings],
        sort_keys=True,
        default=str,
    )


def _compile(template: JointModel, optimizer: keras.optimizers.Optimizer) -> Callable[..., Any]:
    trainable_vars = template.trainable_variables
    non_trainable_vars = template.non_trainable_variables

    def loss_fn(
        trainable: list[Any], non_trainable: list[Any], batch: dict[str, Any], weights: Any
    ) -> tuple[Any, tuple[Any, list[Any]]]:
        mapping = list(zip(trainable_vars, trainable, strict=True))
        mapping += list(zip(non_trainable_vars, non_trainable, strict=True))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            inputs = {"user": batch["user"], "item": batch["item"]}
            outputs = template(inputs, training=True)
            losses = template.task_losses(
                inputs, outputs, batch["label"], mask=batch["mask"], log_q=batch.get("log_q")
            )
            total = template.total_loss(losses, weights[0], weights[1])
            reg = template.losses
            if reg:
                total = total + sum(reg)
        new_non_trainable = [scope.get_current_value(v) for v in non_trainable_vars]
        return total, (jnp.stack([total, losses["retrieval"], losses["rating"]]), new_non_trainable)

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)

    def step(state: State, batch: dict[str, Any], weights: Any) -> tuple[State, Any]:
        trainable, non_trainable, opt_vars = state
        (_, (logs, non_trainable)), grads = grad_fn(trainable, non_trainable, batch, weights)
        trainable, opt_vars = optimizer.stateless_apply(opt_vars, grads, trainable)
        return (trainable, non_trainable, opt_vars), logs

    def run(state: State, batches: dict[str, Any], weights: Any) -> tuple[State, Any]:
        return jax.lax.scan(lambda s, b: step(s, b, weights), state, batches)

    return jax.jit(run, donate_argnums=0)


def runner_for(
    model: JointModel,
    optimizer_config: dict[str, Any],
    make_optimizer: Callable[[], keras.optimizers.Optimizer],
) -> _Runner:
    """Returns the cached compiled runner for this architecture, creating it once."""
    key = _key(model, optimizer_config)
    runner = _RUNNERS.get(key)
    if runner is None:
        optimizer = make_optimizer()
        optimizer.build(model.trainable_variables)
        runner = _Runner(template=model, optimizer=optimizer, run=_compile(model, optimizer))
        _RUNNERS[key] = runner
    return runner


class JaxTrainingState:
    """Model and optimizer values held as JAX arrays while training.

    Args:
        model: The model to train; its variables are read now and written by `write_back`.
        optimizer_config: Serialised optimizer (`keras.optimizers.serialize`).
        make_optimizer: Builds a fresh optimizer with that config.
    """

    def __init__(
        self,
        model: JointModel,
        optimizer_config: dict[str, Any],
        make_optimizer: Callable[[], keras.optimizers.Optimizer],
    ) -> None:
        self.model = model
        self.runner = runner_for(model, optimizer_config, make_optimizer)
        fresh = make_optimizer()
        fresh.build(model.trainable_variables)
        self.state: State = (
            [jnp.array(v.value) for v in model.trainable_variables],
            [jnp.array(v.value) for v in model.non_trainable_variables],
            [jnp.array(v.value) for v in fresh.variables],
        )

    def run(
        self, batches: dict[str, np.ndarray], retrieval_weight: float, rating_weight: float
    ) -> np.ndarray:
        """Runs ``steps`` training steps; returns ``[steps, 3]`` (total, retrieval, rating)."""
        weights = jnp.asarray([retrieval_weight, rating_weight], dtype=jnp.float32)
        self.state, logs = self.runner.run(self.state, batches, weights)
        return np.asarray(logs)

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
