"""The JAX fast path: many training steps per compiled call, no per-step host sync.

This is the one backend-specific module of training. A compiled runner is cached by model
architecture, optimizer settings and batch shape, so the models of a ``compare`` (which
differ only in loss weights, passed as traced scalars) share one compilation; JAX's
persistent compilation cache (`jointrec.backend.jax.compilation_cache`) lets later processes load it
instead of compiling again.

Embedding tables can be updated row-wise ("sparse"): each step gathers the rows of the
user and item tables (and of their optimizer slots) that the batch touches, runs the Keras
optimizer on those rows only, and scatters them back. A step then costs O(batch) instead of
O(table), which is what makes catalogues of 10^5 users and items train at the speed of small
ones. For Adagrad and plain SGD this is exactly the dense update (untouched rows have zero
gradient, so they would not move); for Adam, AdamW and RMSprop it is the "lazy" variant
(moments of untouched rows are not decayed), so it is used for those only when asked.
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
from jointrec.errors import JointrecError
from jointrec.model.embedding_tower import EmbeddingTower
from jointrec.model.joint_model import JointModel
from jointrec.model.rating_head import RatingHead
from jointrec.settings import EMBEDDING_UPDATES

State = tuple[list[Any], list[Any], list[Any]]
#: In "auto" mode, tables with fewer rows than this many batches' worth stay dense. Measured
#: (tutorial preset, batch 1000, Adagrad, 2 cores): at 6,040 x 3,706 (MovieLens-1M shape) dense
#: updates, which also allow the distinct-id step, train 1.33x faster than row-wise ones; at
#: 32,500 x 12,500 the two are even (146k vs 150k examples/s); above that row-wise wins.
AUTO_MIN_ROWS_PER_BATCH = 16


@dataclass
class _Runner:
    template: JointModel
    optimizer: keras.optimizers.Optimizer
    run: Callable[..., Any]
    sparse: bool = False


@dataclass(frozen=True)
class _RowPlan:
    """Which trainable variables are embedding tables, and which optimizer slots are theirs.

    Attributes:
        tables: ``(trainable index, input key)`` of each table updated row-wise.
        slots: ``(optimizer variable index, trainable index)`` of each slot of those tables.
        row_template: The same architecture with ``rows``-row tables, for the forward pass.
        row_optimizer: The optimizer built on ``row_template``'s variables.
    """

    tables: tuple[tuple[int, str], ...]
    slots: tuple[tuple[int, int], ...]
    row_template: JointModel
    row_optimizer: keras.optimizers.Optimizer


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


def _compile_sparse(plan: _RowPlan, batch_size: int) -> Callable[..., Any]:
    """Like `_compile`, but tables and their slots are gathered, updated and scattered
    row-wise; everything else goes through the same Keras optimizer unchanged."""
    grad_fn = _loss_and_grad(plan.row_template)
    keys = sorted({key for _, key in plan.tables})
    table_key = dict(plan.tables)

    def step(state: State, batch: dict[str, Any], weights: Any) -> tuple[State, Any]:
        trainable, non_trainable, opt_vars = state
        uniq, inv = {}, {}
        for key in keys:
            size = max(trainable[i].shape[0] for i, k in plan.tables if k == key)
            uniq[key], inv[key] = jnp.unique(
                batch[key], size=batch_size, fill_value=size, return_inverse=True
            )
            inv[key] = inv[key].reshape(batch[key].shape)

        def rows(value: Any, index: int) -> Any:
            return jnp.take(value, uniq[table_key[index]], axis=0, mode="clip")

        row_trainable = [rows(v, i) if i in table_key else v for i, v in enumerate(trainable)]
        slot_owner = dict(plan.slots)
        row_opt = [rows(v, slot_owner[j]) if j in slot_owner else v for j, v in enumerate(opt_vars)]
        (_, (logs, non_trainable)), grads = grad_fn(
            row_trainable, non_trainable, inv, batch, weights
        )
        row_trainable, row_opt = plan.row_optimizer.stateless_apply(row_opt, grads, row_trainable)

        def scatter(full: Any, new_rows: Any, index: int) -> Any:
            return full.at[uniq[table_key[index]]].set(new_rows, mode="drop")

        trainable = [
            scatter(trainable[i], v, i) if i in table_key else v
            for i, v in enumerate(row_trainable)
        ]
        opt_vars = [
            scatter(opt_vars[j], v, slot_owner[j]) if j in slot_owner else v
            for j, v in enumerate(row_opt)
        ]
        return (trainable, non_trainable, opt_vars), logs

    def run(state: State, batches: dict[str, Any], weights: Any) -> tuple[State, Any]:
        return jax.lax.scan(lambda s, b: step(s, b, weights), state, batches)

    return jax.jit(run, donate_argnums=0)


def _table_inputs(model: JointModel) -> list[tuple[Any, str]] | None:
    """The model's embedding tables and the input column that indexes each, or ``None``
    when the model is not the plain two-tower architecture this module knows how to slice."""
    towers = (model.query_tower, model.candidate_tower)
    if type(model) is not JointModel or any(type(t) is not EmbeddingTower for t in towers):
        return None  # e.g. feature towers, which look up more than the id tables
    if type(model.rating_head) is not RatingHead or model.rating_head.autoencoder_units:
        return None  # the autoencoder reads whole rows of its rating table
    if getattr(model, "negatives", "in_batch") != "in_batch" or hasattr(model, "seen"):
        return None  # a full softmax scores every item at every step
    if model.losses:
        return None  # a regulariser of a whole table is not row-local
    tables = [
        (model.query_tower.embedding.embeddings, "user"),
        (model.candidate_tower.embedding.embeddings, "item"),
    ]
    if model.rating_head.use_biases:
        tables.append((model.rating_head.user_bias.embeddings, "user"))
        tables.append((model.rating_head.item_bias.embeddings, "item"))
    return tables


def _slot_lists(optimizer: keras.optimizers.Optimizer, n: int) -> list[list[Any]]:
    """The optimizer's per-variable slot lists (e.g. Adam's momentums and velocities)."""
    own = {id(v) for v in optimizer.variables}
    found = []
    for value in vars(optimizer).values():
        if (
            isinstance(value, list)
            and len(value) == n
            and any(v is not None for v in value)
            and all(v is None or id(v) in own for v in value)
        ):
            found.append(value)
    return found


def _row_model(model: JointModel, rows: int) -> JointModel:
    config = model.get_config()
    for name in ("query_tower", "candidate_tower", "rating_head", "retrieval_task", "rating_task"):
        config[name].pop("build_config", None)  # built below, with the new table sizes
    config["query_tower"]["config"]["vocabulary_size"] = rows
    config["candidate_tower"]["config"]["vocabulary_size"] = rows
    config["num_users"] = config["num_items"] = rows
    head = config["rating_head"]["config"]
    if head["num_users"] > 0:
        head["num_users"], head["num_items"] = rows, rows
    row_model = JointModel.from_config(config)
    row_model.build()
    return row_model


def _row_plan(
    model: JointModel,
    optimizer: keras.optimizers.Optimizer,
    make_optimizer: Callable[[], keras.optimizers.Optimizer],
    batch_size: int,
) -> _RowPlan | None:
    tables = _table_inputs(model)
    if tables is None:
        return None
    variables = model.trainable_variables
    index = {id(v): i for i, v in enumerate(variables)}
    table_index = [(index[id(v)], key) for v, key in tables]
    opt_index = {id(v): j for j, v in enumerate(optimizer.variables)}
    slots = []
    for slot_list in _slot_lists(optimizer, len(variables)):
        for i, _ in table_index:
            if slot_list[i] is not None:
                slots.append((opt_index[id(slot_list[i])], i))
    # Every optimizer variable shaped like a table must be one of the slots found.
    table_ids = {i for i, _ in table_index}
    for j, v in enumerate(optimizer.variables):
        table_shaped = any(tuple(v.shape) == tuple(variables[i].shape) for i in table_ids)
        if v.shape and table_shaped and j not in dict(slots):
            return None
    row_template = _row_model(model, batch_size)
    row_vars = row_template.trainable_variables
    if len(row_vars) != len(variables):
        return None
    row_optimizer = make_optimizer()
    row_optimizer.build(row_vars)
    if len(row_optimizer.variables) != len(optimizer.variables):
        return None
    return _RowPlan(tuple(table_index), tuple(slots), row_template, row_optimizer)


def row_updates_exact(optimizer_config: dict[str, Any]) -> bool:
    """Whether row-wise table updates equal dense ones for this optimizer (Adagrad, SGD
    without momentum, no weight decay: rows with zero gradient do not move)."""
    name = str(optimizer_config.get("class_name", "")).lower()
    settings = optimizer_config.get("config", {})
    if settings.get("weight_decay"):
        return False  # decays every row at every step
    if name == "adagrad":
        return True
    return name == "sgd" and not settings.get("momentum")


def use_sparse(
    mode: str, model: JointModel, optimizer_config: dict[str, Any], batch_size: int
) -> bool:
    """Decides between dense and row-wise table updates.

    ``"dense"`` and ``"sparse"`` are obeyed; ``"auto"`` picks row-wise updates when they are
    exact for the optimizer and some table has at least
    ``AUTO_MIN_ROWS_PER_BATCH * batch_size`` rows (smaller tables are cheaper dense).
    """
    if mode not in EMBEDDING_UPDATES:
        raise JointrecError(
            f"embedding_updates={mode!r} is invalid: expected one of {EMBEDDING_UPDATES}"
        )
    if mode == "dense" or _table_inputs(model) is None:
        return False
    if mode == "sparse":
        return True
    largest = max(
        int(model.query_tower.vocabulary_size), int(model.candidate_tower.vocabulary_size)
    )
    return row_updates_exact(optimizer_config) and largest >= AUTO_MIN_ROWS_PER_BATCH * batch_size


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
        plan = None
        if sparse_batch_size is not None:
            plan = _row_plan(model, optimizer, make_optimizer, sparse_batch_size)
        if plan is None:
            runner = _Runner(template=model, optimizer=optimizer, run=_compile(model, optimizer))
        else:
            run = _compile_sparse(plan, sparse_batch_size)  # type: ignore[arg-type]
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
