"""Row-wise ("sparse") table updates of the JAX fast path.

Each step gathers the rows of the id-indexed tables (and of their optimizer slots) that the
batch touches, runs the Keras optimizer on those rows only, and scatters them back, so a
step costs O(batch) instead of O(table). The forward pass runs a copy of the model whose
tables have one row per distinct id of the batch (the "row template"), fed the inverse
indices.

Feature towers are sliced the same way: their id embedding is a table like any other, and
the encoded features of the batch's ids (a user's history, an item's genres) are gathered
with it (read only). Their feature embedding tables stay whole: slicing the history's item
table by the codes a batch looks up was measured slower at MovieLens-25M size (18.5 vs
14.8 ms a step: a batch of 1,000 users looks up 44% of its 62,000 rows, and gathering and
scattering those rows and their Adam moments costs more than updating the whole table).

For Adagrad and plain SGD this is exactly the dense update (untouched rows have zero
gradient, so they would not move); for Adam it is the "lazy" variant (moments of untouched
rows are not decayed), and an L2 penalty of a table then penalises the rows a batch touches.

Example:
    >>> use_sparse("auto", model, adagrad_config, batch_size=1000)  # doctest: +SKIP
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import keras

from jointrec.errors import JointrecError
from jointrec.model.embedding_tower import EmbeddingTower
from jointrec.model.feature_tower import FeatureTower
from jointrec.model.joint_model import JointModel
from jointrec.model.rating_head import RatingHead
from jointrec.settings import EMBEDDING_UPDATES

State = tuple[list[Any], list[Any], list[Any]]
#: In "auto" mode, tables with fewer rows than this many batches' worth stay dense. Measured
#: (tutorial preset, batch 1000, Adagrad, 2 cores): at 6,040 x 3,706 (MovieLens-1M shape) dense
#: updates, which also allow the distinct-id step, train 1.33x faster than row-wise ones; at
#: 32,500 x 12,500 the two are even (146k vs 150k examples/s); above that row-wise wins.
AUTO_MIN_ROWS_PER_BATCH = 16
#: In "auto" mode, the lazy (inexact) row-wise variant is used for tables of at least this
#: many batches' worth of rows, where whole-table updates dominate the step
#: (``benchmarks/lazy_updates.py``).
AUTO_LAZY_MIN_ROWS_PER_BATCH = 32
TOWERS = (("query_tower", "user"), ("candidate_tower", "item"))


@dataclass(frozen=True)
class RowPlan:
    """Which variables are id-indexed tables, which optimizer slots are theirs.

    Attributes:
        tables: ``(trainable index, input key)`` of each table updated row-wise.
        slots: ``(optimizer variable index, trainable index)`` of each slot of those tables.
        constants: ``(non-trainable index, input key)`` of each id-indexed table that is
            only read (a feature tower's encoded features): gathered, never written.
    """

    tables: tuple[tuple[int, str], ...]
    slots: tuple[tuple[int, int], ...]
    constants: tuple[tuple[int, str], ...]


@dataclass(frozen=True)
class RowTemplate:
    """The architecture with batch-sized tables, and the optimizer built on it."""

    model: JointModel
    optimizer: keras.optimizers.Optimizer


def _tower_tables(tower: Any, key: str) -> tuple[list[Any], list[Any]] | None:
    """``(trainable id tables, read-only id tables)`` of one tower, or ``None`` for a tower
    this module cannot slice."""
    if type(tower) is EmbeddingTower:
        return [tower.embedding.embeddings], []
    if type(tower) is not FeatureTower:
        return None  # e.g. your own tower
    own = [] if tower.id_embedding is None else [tower.id_embedding.embeddings]
    return own, list(tower.tables.values())


def row_plan(
    model: JointModel, optimizer: keras.optimizers.Optimizer | None = None
) -> RowPlan | None:
    """The model's `RowPlan`, or ``None`` when it is not the two-tower architecture this
    module knows how to slice (or ``optimizer`` keeps state it cannot find per table).
    Without an optimizer, the plan has no slots."""
    if type(model) is not JointModel:
        return None
    if type(model.rating_head) is not RatingHead or model.rating_head.autoencoder_units:
        return None  # the autoencoder reads whole rows of its rating table
    if getattr(model, "negatives", "in_batch") != "in_batch" or hasattr(model, "seen"):
        return None  # a full softmax scores every item at every step
    variables = model.trainable_variables
    index = {id(v): i for i, v in enumerate(variables)}
    fixed = {id(v): i for i, v in enumerate(model.non_trainable_variables)}
    tables, constants = [], []
    for name, key in TOWERS:
        found = _tower_tables(getattr(model, name), key)
        if found is None:
            return None
        tables += [(index[id(v)], key) for v in found[0]]
        constants += [(fixed[id(v)], key) for v in found[1]]
    if model.rating_head.use_biases:
        tables.append((index[id(model.rating_head.user_bias.embeddings)], "user"))
        tables.append((index[id(model.rating_head.item_bias.embeddings)], "item"))
    owned = {i for i, _ in tables}
    if optimizer is None:
        return RowPlan(tuple(tables), (), tuple(constants))
    opt_index = {id(v): j for j, v in enumerate(optimizer.variables)}
    slots = []
    for slot_list in _slot_lists(optimizer, len(variables)):
        for i in sorted(owned):
            if slot_list[i] is not None:
                slots.append((opt_index[id(slot_list[i])], i))
    # Every optimizer variable shaped like a table must be one of the slots found.
    shapes = {tuple(variables[i].shape) for i in owned}
    slot_index = dict(slots)
    for j, v in enumerate(optimizer.variables):
        if v.shape and tuple(v.shape) in shapes and j not in slot_index:
            return None
    return RowPlan(tuple(tables), tuple(slots), tuple(constants))


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


def row_template(
    model: JointModel,
    rows: int,
    optimizer: keras.optimizers.Optimizer,
    make_optimizer: Callable[[], keras.optimizers.Optimizer],
) -> RowTemplate | None:
    """``model``'s architecture with ``rows``-row id tables, or ``None`` if its variables do
    not line up with ``model``'s and ``optimizer``'s (built on ``model``)."""
    config = model.get_config()
    for name in ("query_tower", "candidate_tower", "rating_head", "retrieval_task", "rating_task"):
        config[name].pop("build_config", None)  # built below, with the new table sizes
    for name, _ in TOWERS:
        config[name]["config"]["vocabulary_size"] = rows
    config["num_users"] = config["num_items"] = rows
    head = config["rating_head"]["config"]
    if head["num_users"] > 0:
        head["num_users"], head["num_items"] = rows, rows
    copy = JointModel.from_config(config)
    copy.build()
    if len(copy.trainable_variables) != len(model.trainable_variables):
        return None
    if len(copy.non_trainable_variables) != len(model.non_trainable_variables):
        return None
    row_optimizer = make_optimizer()
    row_optimizer.build(copy.trainable_variables)
    if len(row_optimizer.variables) != len(optimizer.variables):
        return None
    return RowTemplate(copy, row_optimizer)


def compile_rows(
    plan: RowPlan,
    template: RowTemplate,
    batch_size: int,
    loss_and_grad: Callable[[JointModel], Callable[..., Any]],
) -> Callable[..., Any]:
    """``run(state, batches, weights)`` with row-wise updates of the plan's tables: a
    `jax.lax.scan` over the steps, jitted, the state donated."""
    grad_fn = loss_and_grad(template.model)
    keys = sorted({key for _, key in plan.tables + plan.constants})
    table_key = dict(plan.tables)
    constant_key = dict(plan.constants)
    slot_owner = dict(plan.slots)

    def step(state: State, batch: dict[str, Any], weights: Any) -> tuple[State, Any]:
        trainable, non_trainable, opt_vars = state
        uniq, inv = {}, {}
        for key in keys:
            size = max(
                [trainable[i].shape[0] for i, k in plan.tables if k == key]
                + [non_trainable[i].shape[0] for i, k in plan.constants if k == key]
            )
            uniq[key], inv[key] = jnp.unique(
                batch[key], size=batch_size, fill_value=size, return_inverse=True
            )
            inv[key] = inv[key].reshape(batch[key].shape)
        row_constant = [
            _rows(v, uniq[constant_key[i]], fill=True) if i in constant_key else v
            for i, v in enumerate(non_trainable)
        ]
        row_trainable = [
            _rows(v, uniq[table_key[i]], fill=True) if i in table_key else v
            for i, v in enumerate(trainable)
        ]
        row_opt = [
            _rows(v, uniq[table_key[slot_owner[j]]]) if j in slot_owner else v
            for j, v in enumerate(opt_vars)
        ]
        (_, (logs, new_non_trainable)), grads = grad_fn(
            row_trainable, row_constant, inv, batch, weights
        )
        non_trainable = [
            v if i in constant_key else new
            for i, (v, new) in enumerate(zip(non_trainable, new_non_trainable, strict=True))
        ]
        row_trainable, row_opt = template.optimizer.stateless_apply(row_opt, grads, row_trainable)
        trainable = [
            v.at[uniq[table_key[i]]].set(row_trainable[i], mode="drop")
            if i in table_key
            else row_trainable[i]
            for i, v in enumerate(trainable)
        ]
        opt_vars = [
            v.at[uniq[table_key[slot_owner[j]]]].set(row_opt[j], mode="drop")
            if j in slot_owner
            else row_opt[j]
            for j, v in enumerate(opt_vars)
        ]
        return (trainable, non_trainable, opt_vars), logs

    def run(state: State, batches: dict[str, Any], weights: Any) -> tuple[State, Any]:
        return jax.lax.scan(lambda s, b: step(s, b, weights), state, batches)

    return jax.jit(run, donate_argnums=0)


def _rows(value: Any, picks: Any, fill: bool = False) -> Any:
    """The rows ``picks`` of ``value``; with ``fill``, padding picks (past the end) read as
    zeros: no feature value and no L2 penalty."""
    if fill:
        return jnp.take(value, picks, axis=0, mode="fill", fill_value=0)
    return jnp.take(value, picks, axis=0, mode="clip")


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


def lazy_updates_measured(optimizer_config: dict[str, Any]) -> bool:
    """Whether the lazy row-wise variant of this optimizer is measured not to hurt quality
    at catalogue scale (Adam without weight decay; ``benchmarks/lazy_updates.py``)."""
    name = str(optimizer_config.get("class_name", "")).lower()
    return name == "adam" and not optimizer_config.get("config", {}).get("weight_decay")


def use_sparse(
    mode: str, model: JointModel, optimizer_config: dict[str, Any], batch_size: int
) -> bool:
    """Decides between dense and row-wise table updates.

    ``"dense"`` and ``"sparse"`` are obeyed; ``"auto"`` picks row-wise updates when they are
    exact for the optimizer and some table has at least
    ``AUTO_MIN_ROWS_PER_BATCH * batch_size`` rows (smaller tables are cheaper dense), and
    the lazy variant (`lazy_updates_measured`) when some table has at least
    ``AUTO_LAZY_MIN_ROWS_PER_BATCH * batch_size`` rows.
    """
    if mode not in EMBEDDING_UPDATES:
        raise JointrecError(
            f"embedding_updates={mode!r} is invalid: expected one of {EMBEDDING_UPDATES}"
        )
    if mode == "dense" or not _sliceable(model):
        return False
    if mode == "sparse":
        return True
    largest = max(
        int(model.query_tower.vocabulary_size), int(model.candidate_tower.vocabulary_size)
    )
    if row_updates_exact(optimizer_config) and not model.losses:
        return largest >= AUTO_MIN_ROWS_PER_BATCH * batch_size
    return (
        lazy_updates_measured(optimizer_config)
        and largest >= AUTO_LAZY_MIN_ROWS_PER_BATCH * batch_size
    )


def _sliceable(model: JointModel) -> bool:
    """Whether `row_plan` can slice this model's tables."""
    return row_plan(model) is not None
