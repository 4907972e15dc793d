"""The multi-device training path, in this process (one device): it must train exactly like
the ordinary fast path, so that with more devices only float summation order differs."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.backend.jax.cluster import Cluster, ClusterSpec, active, using
from jointrec.errors import JointrecError
from jointrec.settings import TrainConfig, preset
from jointrec.training.batches import TrainingArrays, item_log_frequencies

USERS, ITEMS = 41, 31  # odd table sizes: with 2 devices, sharded rows need padding


def _data(n: int = 300, seed: int = 0) -> TrainingArrays:
    rng = np.random.default_rng(seed)
    item = rng.integers(1, ITEMS, n)
    return TrainingArrays(
        rng.integers(1, USERS, n),
        item,
        rng.random(n).astype(np.float32),
        item_log_frequencies(item, ITEMS)[item],
    )


def _model():
    from jointrec.model.build import build_model

    config = preset("default").model.replace(
        {
            "towers": {
                "embedding_dim": 8,
                "user_history": 0,
                "user_features": (),
                "item_features": (),
            },
            "rating": {"layer_sizes": (16,)},
        }
    )
    return build_model(config, USERS, ITEMS, seed=3)


def _weights(model) -> list[np.ndarray]:
    return [np.asarray(v.value) for v in model.variables]


@pytest.mark.slow
def test_distributed_path_trains_exactly_like_the_fast_path():
    from jointrec.training import fit

    data, config = _data(), TrainConfig(batch_size=64, epochs=2, seed=5)
    plain = _model()
    expected = fit(plain, data, config, progress=False)
    model = _model()
    with using(ClusterSpec(all_devices=True)):  # sharding: see test_distributed_processes
        history = fit(model, data, config, progress=False)
    assert active() is None  # restored after the block
    for got, want in zip(history.epochs, expected.epochs, strict=True):
        for key in ("loss", "retrieval_loss", "rating_loss"):
            assert got[key] == want[key]
    for got, want in zip(_weights(model), _weights(plain), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.slow
def test_epoch_callback_sees_the_epoch_weights_and_can_stop():
    from jointrec.training import fit

    seen = []

    def table(m) -> np.ndarray:
        return np.asarray(m.query_tower.trainable_variables[0].value).copy()

    def on_epoch_end(epoch, logs):
        seen.append(table(model))
        return epoch == 1  # stop after the second epoch

    model = _model()
    first = table(model)
    with using(ClusterSpec(all_devices=True)):
        history = fit(
            model,
            _data(),
            TrainConfig(batch_size=64, epochs=5),
            progress=False,
            on_epoch_end=on_epoch_end,
        )
    assert len(history.epochs) == len(seen) == 2
    assert not np.array_equal(seen[0], first)  # written back before the callback
    np.testing.assert_array_equal(seen[1], table(model))


def test_global_batch_must_split_over_the_devices():
    import jax

    from jointrec.backend.jax.distributed import ShardedTrainingState
    from jointrec.training.loop import make_optimizer

    three = Cluster(ClusterSpec(all_devices=True), tuple(jax.devices()) * 3, ())
    config = TrainConfig(batch_size=64)
    with pytest.raises(JointrecError) as err:
        ShardedTrainingState.start(_model(), _data(), config, lambda: make_optimizer(config), three)
    assert str(err.value) == (
        "batch_size=64 does not split over the 3 devices of the cluster: use a multiple of 3, "
        "e.g. --batch-size 63"
    )


def test_padding_round_trip():
    from jointrec.backend.jax.distributed import pad_to, unpad

    table = np.arange(15, dtype=np.float32).reshape(5, 3)
    padded = pad_to(table, (6, 3))
    assert padded.shape == (6, 3) and not padded[5].any()
    np.testing.assert_array_equal(unpad(padded, (5, 3)), table)
    assert pad_to(table, (5, 3)) is table


def test_sharded_layout_covers_tables_and_their_optimizer_slots():
    import jax
    import keras

    from jointrec.backend.jax.distributed import make_distribution, placement

    model = _model()
    optimizer = keras.optimizers.Adam()
    optimizer.build(model.trainable_variables)
    cluster = Cluster(ClusterSpec(shard_embeddings=True), tuple(jax.devices()), ())
    distribution = make_distribution(cluster, shard_embeddings=True)
    specs = {
        v.path: tuple(placement(distribution, v).sharding.spec)
        for v in [*model.variables, *optimizer.variables]
    }
    sharded = {path for path, spec in specs.items() if spec[:1] == ("batch",)}
    tables = {v.path for v in model.variables if v.path.endswith("embeddings")}
    assert len(tables) == 4  # two towers + two bias tables
    seen = [v.path for v in model.variables if v.path.endswith("/seen")]
    assert len(seen) == 1 and specs[seen[0]] == (None, None)  # full softmax's mask: replicated
    slots = {p for p in sharded if p.startswith(f"{optimizer.name}/")}
    assert sharded == tables | slots
    assert len(slots) == 2 * len(tables)  # momentum and velocity of each table
    assert specs[optimizer.iterations.path] == ()


def test_mismatched_ranks_fall_back_to_replication():
    import jax
    import keras

    from jointrec.backend.jax.distributed import make_distribution, placement

    cluster = Cluster(ClusterSpec(shard_embeddings=True), tuple(jax.devices()), ())
    distribution = make_distribution(cluster, shard_embeddings=True)
    odd = keras.Variable(np.zeros(7, dtype=np.float32), name="embeddings")
    plan = placement(distribution, odd)
    assert tuple(plan.sharding.spec) == (None,) and plan.padded == (7,)
