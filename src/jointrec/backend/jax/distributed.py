"""Data-parallel training over a cluster's devices: the multi-device form of the fast path.

Its `ShardedTrainingState` is the `jointrec.backend.StepRunner` of a joined cluster: it runs
the compiled training steps of `jointrec.backend.jax.training` unchanged. The devices of
every process form one Keras ``DeviceMesh`` with a ``"batch"`` axis. Layouts come from
Keras: ``DataParallel`` copies every variable to each device; with ``shard_embeddings``,
``ModelParallel`` and a ``LayoutMap`` row-shard every embedding table and its optimizer
slots over the mesh. Each process builds only its columns of each global batch
(`jointrec.training.batches.epoch_batches` with ``columns``) and JAX assembles the global
batch (``jax.make_array_from_process_local_data``), so one compiled program sees the same
global batches as single-process training and the gradient all-reduce is XLA's. Losses and
weights therefore equal single-process training up to float summation order.

Embedding tables whose rows do not divide evenly over the devices are padded with zero rows
while they are sharded; the padding is sliced off before every call of the training steps,
so it never enters the model.

Example:
    >>> from jointrec.backend import ClusterSpec, using_cluster
    >>> with using_cluster(ClusterSpec(all_devices=True)):  # doctest: +SKIP
    ...     history = fit(model, data, TrainConfig(batch_size=1000))
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import keras
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jointrec.backend.jax.cluster import Cluster
from jointrec.backend.jax.training import runner_for
from jointrec.errors import JointrecError
from jointrec.model.joint_model import JointModel
from jointrec.settings import TrainConfig

BATCH_AXIS = "batch"
SHARDED_ROWS = (".*embeddings.*",)
"""LayoutMap keys of the variables row-sharded by ``shard_embeddings``: Keras ``Embedding``
tables (path ``.../embedding/embeddings``) and the optimizer slots made from them
(``adam/..._embeddings_momentum``). The users x items ``seen`` mask of full-softmax retrieval
stays replicated: the model caps it at 2e8 one-byte cells, and XLA's gather from a
row-sharded mask reads the whole local shard every step."""

State = tuple[list[Any], list[Any], list[Any]]
"""Trainable, non-trainable and optimizer values, as in `jointrec.backend.jax.training`."""


def make_distribution(cluster: Cluster, shard_embeddings: bool) -> keras.distribution.Distribution:
    """The Keras distribution over all of the cluster's devices.

    Args:
        cluster: The joined cluster.
        shard_embeddings: ``ModelParallel`` with the `SHARDED_ROWS` variables row-sharded
            over the ``"batch"`` axis; otherwise ``DataParallel`` (everything replicated).
    """
    devices = [f"{d.platform}:{d.id}" for d in cluster.devices]
    mesh = keras.distribution.DeviceMesh((len(devices),), [BATCH_AXIS], devices)
    if not shard_embeddings:
        return keras.distribution.DataParallel(device_mesh=mesh, auto_shard_dataset=False)
    layout_map = keras.distribution.LayoutMap(mesh)
    for key in SHARDED_ROWS:
        layout_map[key] = (BATCH_AXIS, None)
    return keras.distribution.ModelParallel(
        layout_map=layout_map, batch_dim_name=BATCH_AXIS, auto_shard_dataset=False
    )


@dataclass(frozen=True)
class Placement:
    """Where one state array lives: its sharding, true shape and padded (sharded) shape."""

    sharding: NamedSharding
    shape: tuple[int, ...]
    padded: tuple[int, ...]

    @property
    def key(self) -> tuple[Any, ...]:
        return (str(self.sharding.spec), self.shape, self.padded)


def placement(distribution: keras.distribution.Distribution, variable: Any) -> Placement:
    """The sharding Keras' ``distribution`` gives ``variable``, its shape padded to divide."""
    shape = tuple(int(s) for s in variable.shape)
    layout = distribution.get_variable_layout(variable)
    axes = tuple(layout.axes)
    if len(axes) != len(shape):  # a key matched a variable of another rank: replicate it
        axes = (None,) * len(shape)
    mesh = distribution.device_mesh.backend_mesh
    sizes = dict(zip(mesh.axis_names, mesh.devices.shape, strict=True))
    padded = tuple(
        n if axis is None else -(-n // sizes[axis]) * sizes[axis]
        for n, axis in zip(shape, axes, strict=True)
    )
    return Placement(NamedSharding(mesh, P(*axes)), shape, padded)


def pad_to(value: Any, shape: tuple[int, ...]) -> Any:
    """Zero-pads ``value`` at the end of each axis to ``shape`` (NumPy or traced).

    Example:
        >>> pad_to(np.ones((3, 2)), (4, 2)).sum(axis=1).tolist()
        [2.0, 2.0, 2.0, 0.0]
    """
    if tuple(value.shape) == tuple(shape):
        return value
    widths = [(0, p - n) for n, p in zip(value.shape, shape, strict=True)]
    return (np if isinstance(value, np.ndarray) else jnp).pad(value, widths)


def unpad(value: Any, shape: tuple[int, ...]) -> Any:
    """The leading ``shape`` block of ``value`` (inverse of `pad_to`)."""
    if tuple(value.shape) == tuple(shape):
        return value
    return value[tuple(slice(0, n) for n in shape)]


Plans = tuple[list["Placement"], list["Placement"], list["Placement"]]


def _each(
    values: Sequence[Sequence[Any]], plans: Plans, fn: Callable[[Any, Placement], Any]
) -> State:
    """``fn(value, plan)`` over the three groups of a state."""
    a, b, c = (
        [fn(v, p) for v, p in zip(vals, group, strict=True)]
        for vals, group in zip(values, plans, strict=True)
    )
    return a, b, c


_COMPILED: dict[tuple[Any, ...], Callable[..., Any]] = {}


def _compile(run: Callable[..., Any], plans: Plans) -> Callable[..., Any]:
    """Wraps the training runner: unpad the state, run the steps, pad again, with the state's
    and the logs' shardings fixed so every call keeps the same layout."""
    mesh = plans[0][0].sharding.mesh
    key = (
        id(run),
        tuple(int(d) for d in mesh.device_ids.flat),
        tuple(tuple(p.key for p in group) for group in plans),
    )
    compiled = _COMPILED.get(key)
    if compiled is not None:
        return compiled
    out_state = tuple([p.sharding for p in group] for group in plans)

    def padded_run(state: State, batches: dict[str, Any], weights: Any) -> tuple[State, Any]:
        real = _each(state, plans, lambda v, p: unpad(v, p.shape))
        new, logs = run(real, batches, weights)
        return _each(new, plans, lambda v, p: pad_to(v, p.padded)), logs

    compiled = jax.jit(
        padded_run,
        donate_argnums=0,
        out_shardings=(out_state, NamedSharding(mesh, P())),
    )
    _COMPILED[key] = compiled
    return compiled


class ShardedTrainingState:
    """`JaxTrainingState`'s counterpart whose values are spread over a cluster's devices.

    Every process must create it, run it and write it back together (they are collective
    operations). Initial values are process 0's, broadcast to all.

    Args:
        model: The model to train; read now, written by `write_back`.
        optimizer_config: Serialised optimizer (`keras.optimizers.serialize`).
        make_optimizer: Builds a fresh optimizer with that config.
        cluster: The joined cluster; its devices form the mesh.
        shard_embeddings: Row-shard embedding tables instead of replicating them.
    """

    def __init__(
        self,
        model: JointModel,
        optimizer_config: dict[str, Any],
        make_optimizer: Callable[[], keras.optimizers.Optimizer],
        cluster: Cluster,
        shard_embeddings: bool = False,
    ) -> None:
        self.model = model
        self.cluster = cluster
        runner = runner_for(model, optimizer_config, make_optimizer)
        distribution = make_distribution(cluster, shard_embeddings)
        fresh = make_optimizer()
        fresh.build(model.trainable_variables)
        groups = (model.trainable_variables, model.non_trainable_variables, fresh.variables)
        t, n, o = ([placement(distribution, v) for v in group] for group in groups)
        self.plans: Plans = (t, n, o)
        values = [[np.asarray(v.value) for v in group] for group in groups]
        if jax.process_count() > 1:
            values = multihost_utils.broadcast_one_to_all(values)
        self.state: State = _each(values, self.plans, lambda v, p: _place(np.asarray(v), p))
        mesh = self.plans[0][0].sharding.mesh
        self.data_sharding = NamedSharding(mesh, P(None, BATCH_AXIS))
        self.replicated = NamedSharding(mesh, P())
        self._run = _compile(runner.run, self.plans)
        self.batch_size = 0  # the global batch size, set by `start`

    def columns(self, batch_size: int) -> tuple[int, int]:
        """This process's columns ``[lo, hi)`` of each ``[steps, batch_size]`` global batch."""
        index = self.data_sharding.addressable_devices_indices_map((1, batch_size))
        columns = [s[1] if s is not None else slice(None) for s in index.values()]
        spans = sorted((c.start or 0, batch_size if c.stop is None else c.stop) for c in columns)
        lo, hi = spans[0][0], spans[-1][1]
        if sum(b - a for a, b in {*spans}) != hi - lo:
            raise JointrecError(
                f"this process's devices hold non-contiguous batch columns {spans}: expected "
                "the mesh to list each process's devices together"
            )
        return lo, hi

    @classmethod
    def start(
        cls,
        model: JointModel,
        data: Any,
        config: TrainConfig,
        make_optimizer: Callable[[], keras.optimizers.Optimizer],
        cluster: Cluster,
    ) -> ShardedTrainingState:
        """The state for training ``model`` on ``data`` over ``cluster`` (every process calls
        it): checks that the global batch splits over the devices and that every process
        holds the same examples and settings.

        Raises:
            JointrecError: for a batch size the devices do not divide, or processes that
                disagree.
        """
        devices = len(cluster.devices)
        if config.batch_size % devices:
            lower = max(devices, config.batch_size // devices * devices)
            raise JointrecError(
                f"batch_size={config.batch_size} does not split over the {devices} devices "
                f"of the cluster: use a multiple of {devices}, e.g. --batch-size {lower}"
            )
        if cluster.num_processes > 1:
            check_agreement(model, data, config)
        state = cls(
            model,
            keras.optimizers.serialize(make_optimizer()),
            make_optimizer,
            cluster,
            shard_embeddings=cluster.spec.shard_embeddings,
        )
        state.batch_size = config.batch_size
        return state

    @property
    def is_chief(self) -> bool:
        """Whether this is process 0, which reports progress and writes the artifact."""
        return self.cluster.is_chief

    def takes_distinct_ids(self, batch_size: int) -> bool:
        """Never: the sharded steps take every row of the global batch."""
        return False

    def agree(self, flag: bool) -> bool:
        """Process 0's ``flag`` on every process, so all stop at the same epoch."""
        return _chief_decides(flag)

    def dispatch(
        self,
        batches: dict[str, np.ndarray],
        batch_size: int,
        retrieval_weight: float,
        rating_weight: float,
    ) -> jax.Array:
        """Starts ``steps`` steps on this process's ``[steps, hi - lo]`` batch columns and
        returns the global batches' ``[steps, 3]`` losses as a device array."""
        steps = len(batches["user"])
        global_batches = {
            k: jax.make_array_from_process_local_data(self.data_sharding, v, (steps, batch_size))
            for k, v in batches.items()
        }
        weights = np.asarray([retrieval_weight, rating_weight], dtype=np.float32)
        weights_array = jax.make_array_from_callback((2,), self.replicated, lambda i: weights[i])
        self.state, logs = self._run(self.state, global_batches, weights_array)
        return logs

    def run(
        self,
        batches: dict[str, np.ndarray],
        batch_size: int,
        retrieval_weight: float,
        rating_weight: float,
    ) -> np.ndarray:
        """Runs ``steps`` steps on this process's batch columns; returns the global
        batches' ``[steps, 3]`` (total, retrieval, rating) losses."""
        logs = self.dispatch(batches, batch_size, retrieval_weight, rating_weight)
        return np.asarray(logs.addressable_data(0))

    def run_overlapped(
        self, chunks: Iterable[dict[str, Any]], retrieval_weight: float, rating_weight: float
    ) -> Iterator[np.ndarray]:
        """Runs each chunk of batch columns in turn (global batches of `start`'s batch
        size), yielding each one's losses; one chunk is always in flight."""
        pending = None
        for chunk in chunks:
            dispatched = self.dispatch(chunk, self.batch_size, retrieval_weight, rating_weight)
            if pending is not None:
                yield np.asarray(pending.addressable_data(0))
            pending = dispatched
        if pending is not None:
            yield np.asarray(pending.addressable_data(0))

    def values(self) -> State:
        """Every state array as a whole NumPy array on every process (collective)."""
        return _each(self.state, self.plans, lambda v, p: unpad(_fetch(v), p.shape))

    def optimizer_values(self) -> list[np.ndarray]:
        """Current optimizer variables, e.g. for a checkpoint (collective)."""
        return [
            unpad(_fetch(v), p.shape) for v, p in zip(self.state[2], self.plans[2], strict=True)
        ]

    def set_optimizer_values(self, values: list[np.ndarray]) -> None:
        """Restores optimizer variables saved by `optimizer_values`."""
        placed = [_place(np.asarray(v), p) for v, p in zip(values, self.plans[2], strict=True)]
        self.state = (self.state[0], self.state[1], placed)

    def write_back(self) -> None:
        """Copies the trained values into the model's variables on every process."""
        trainable, non_trainable, _ = self.values()
        for var, value in zip(self.model.trainable_variables, trainable, strict=True):
            var.assign(value)
        for var, value in zip(self.model.non_trainable_variables, non_trainable, strict=True):
            var.assign(value)


def _place(value: np.ndarray, plan: Placement) -> jax.Array:
    padded = pad_to(value, plan.padded)
    return jax.make_array_from_callback(plan.padded, plan.sharding, lambda index: padded[index])


def _fetch(value: jax.Array) -> np.ndarray:
    if value.is_fully_replicated:
        return np.asarray(value.addressable_data(0))
    return np.asarray(multihost_utils.process_allgather(value, tiled=True))


def check_agreement(model: JointModel, data: Any, config: TrainConfig) -> None:
    """Raises `JointrecError` unless every process holds the same training examples (so the
    same vocabularies and split), model architecture and training settings."""
    digest = hashlib.sha256()
    for column in (data.user, data.item, data.label, data.log_q):
        digest.update(b"-" if column is None else np.ascontiguousarray(column).tobytes())
    shapes = [list(v.shape) for v in model.variables]
    settings = [model.get_config(), shapes, dataclasses.asdict(config)]
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    mine = np.frombuffer(digest.digest(), dtype=np.uint32)
    everyone = np.asarray(multihost_utils.process_allgather(mine)).reshape(-1, len(mine))
    differ = [p for p in range(len(everyone)) if not np.array_equal(everyone[p], everyone[0])]
    if differ:
        raise JointrecError(
            f"process(es) {differ} hold different training data, vocabularies or settings "
            f"than process 0 ({len(data)} examples here): every process must read the same "
            "data with the same flags"
        )


def _chief_decides(flag: bool) -> bool:
    """Process 0's ``flag`` on every process, so all stop at the same epoch."""
    if jax.process_count() == 1:
        return flag
    return bool(multihost_utils.broadcast_one_to_all(np.asarray(flag, dtype=np.int32)))
