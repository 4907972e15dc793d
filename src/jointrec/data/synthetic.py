"""Synthetic ratings at any scale, with power-law popularity and a planted preference structure.

Every user has a latent taste vector and every item belongs to one of ``clusters`` groups
whose centroids live in the same space (rank ``rank``). A user's interactions are drawn by
first picking a cluster with probability ``softmax(affinity * <user, centroid>)`` (weighted
by the clusters' popularity) and then an item of that cluster by its power-law popularity;
ratings rise with ``<user, item>``. (The few heaviest users, whose favourite clusters run out
of unseen items, are topped up with uniformly random items.) A model that learns the low-rank
structure therefore beats popularity, so quality is measurable, and the shapes (users,
items, a heavy-tailed activity and popularity) match MovieLens 25M's:
``synthesize(162_541, 62_423, 25_000_095)``.

Data is generated user block by user block, so 25M interactions need a few hundred MB at
most and stream into Parquet row groups.

Example:
    >>> x = synthesize(users=50, items=40, interactions=1_000, seed=0)
    >>> len(x), x.rating_scale, int(x.user.min()) >= 1
    (1000, (0.5, 5.0), True)
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jointrec.data.interactions import Interactions
from jointrec.errors import JointrecError
from jointrec.progress import progress_task

RATING_SCALE = (0.5, 5.0)
#: Users generated at once (fixed, so the data does not depend on how it is written).
BLOCK_USERS = 4096
#: Parquet schema metadata keys written by `write_synthetic_parquet`.
META_RATING_SCALE = b"jointrec.rating_scale"
META_GENERATOR = b"jointrec.generator"
_START_TIME = 1_000_000_000  # 2001-09-09, seconds since the epoch
_SPAN = 20 * 365 * 24 * 3600


@dataclass(frozen=True)
class SyntheticSpec:
    """Settings of the generator.

    Args:
        users: Number of users (ids ``1..users``).
        items: Number of items (ids ``1..items``).
        interactions: Target number of ratings (met exactly unless users are too few to
            hold them without repeating an item).
        rank: Dimension of the planted taste space.
        clusters: Item groups; a user's interest spreads over a few of them.
        affinity: Sharpness of users' cluster preferences (0 = popularity only).
        popularity_exponent: Zipf exponent of item popularity within and across clusters.
        activity_exponent: Pareto tail index of user activity (smaller = heavier tail).
        min_per_user: Fewest ratings per user (MovieLens: 20).
        seed: Seeds everything.
        rated_fraction: Share of the interactions that keep their rating (mixed feedback:
            the others are unrated, NaN in memory and null in Parquet), drawn per row from
            its own seeded stream, so the interactions are the same for every fraction.
    """

    users: int
    items: int
    interactions: int
    rank: int = 16
    clusters: int = 64
    affinity: float = 12.0
    popularity_exponent: float = 1.0
    activity_exponent: float = 1.3
    min_per_user: int = 20
    seed: int = 0
    rated_fraction: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= float(self.rated_fraction) <= 1.0:
            raise JointrecError(
                f"synthetic rated_fraction={self.rated_fraction!r} is invalid: expected a "
                "share in [0, 1] (1: every interaction rated)"
            )
        for name in ("users", "items", "interactions", "rank", "clusters"):
            value = getattr(self, name)
            if int(value) < 1:
                raise JointrecError(f"synthetic {name}={value!r} is invalid: expected >= 1")
        if self.interactions < self.users:
            raise JointrecError(
                f"synthetic interactions={self.interactions} is below users={self.users}: "
                "expected at least one interaction per user"
            )
        if self.interactions > self.users * self.items // 2:
            raise JointrecError(
                f"synthetic interactions={self.interactions} exceeds half of users x items "
                f"({self.users} x {self.items}): use fewer interactions or more items"
            )


class _Model:
    """The planted latent structure, drawn once from the seed."""

    def __init__(self, spec: SyntheticSpec) -> None:
        rng = np.random.default_rng(spec.seed)
        self.spec = spec
        k = min(spec.clusters, spec.items)
        self.centroids = rng.normal(size=(k, spec.rank)) / np.sqrt(spec.rank)
        self.cluster = rng.integers(0, k, spec.items)
        noise = rng.normal(size=(spec.items, spec.rank)) / np.sqrt(spec.rank)
        self.item_vectors = self.centroids[self.cluster] + 0.5 * noise
        rank = rng.permutation(spec.items)
        self.popularity = 1.0 / (rank + 10.0) ** spec.popularity_exponent
        self.item_bias = rng.normal(scale=0.35, size=spec.items)
        # Items ordered by cluster; each cluster a contiguous range of cumulative popularity.
        self.by_cluster = np.argsort(self.cluster, kind="stable")
        pop = self.popularity[self.by_cluster]
        self.cum_pop = np.cumsum(pop)
        bounds = np.searchsorted(self.cluster[self.by_cluster], np.arange(k + 1))
        self.cluster_lo = np.r_[0.0, self.cum_pop][bounds[:-1]]
        self.cluster_hi = np.r_[0.0, self.cum_pop][bounds[1:]]
        self.log_cluster_mass = np.log(np.maximum(self.cluster_hi - self.cluster_lo, 1e-300))
        self.counts = _activity(spec, rng)
        self.user_seeds = rng.integers(0, 2**63 - 1, size=spec.users, dtype=np.int64)


def _activity(spec: SyntheticSpec, rng: np.random.Generator) -> np.ndarray:
    """Ratings per user: a Pareto tail over ``min_per_user``, summing to ``interactions``."""
    floor = min(spec.min_per_user, spec.interactions // spec.users)
    cap = max(spec.items // 2, floor)
    weights = rng.pareto(spec.activity_exponent, spec.users) + 1e-3
    counts = np.full(spec.users, floor, dtype=np.int64)
    remaining = spec.interactions - counts.sum()
    for _ in range(50):  # water-filling under the cap
        room = cap - counts
        open_ = room > 0
        if remaining <= 0 or not open_.any():
            break
        share = weights * open_
        extra = np.minimum(np.floor(share / share.sum() * remaining).astype(np.int64), room)
        if extra.sum() == 0:
            order = np.argsort(-(share / share.sum() * remaining - extra))
            order = order[open_[order]][:remaining]
            extra[order] += 1
        counts += extra
        remaining = spec.interactions - counts.sum()
    return counts


def iter_synthetic(spec: SyntheticSpec, block_users: int = 8192) -> Iterator[dict[str, np.ndarray]]:
    """Yields the interactions block by block (``user_id``, ``item_id``, ``rating``,
    ``timestamp`` columns), users in increasing id order; deterministic given the spec."""
    model = _Model(spec)
    for lo in range(0, spec.users, block_users):
        yield _block(model, lo, min(lo + block_users, spec.users))


def _block(model: _Model, lo: int, hi: int) -> dict[str, np.ndarray]:
    spec = model.spec
    rng = np.random.default_rng(model.user_seeds[lo])
    n_users = hi - lo
    taste = rng.normal(size=(n_users, spec.rank)) / np.sqrt(spec.rank)
    counts = model.counts[lo:hi]
    logits = spec.affinity * taste @ model.centroids.T + model.log_cluster_mass
    logits -= logits.max(axis=1, keepdims=True)
    prob = np.exp(logits)
    cum = np.cumsum(prob / prob.sum(axis=1, keepdims=True), axis=1)
    # Draw, drop repeated (user, item) pairs, and top up users still short of their count.
    owner = np.empty(0, dtype=np.int64)
    item = np.empty(0, dtype=np.int64)
    deficit = counts.copy()
    for round_ in range(10):
        if not deficit.any():
            break
        new_owner = np.repeat(
            np.arange(n_users), np.ceil(deficit * 1.3 + 4 * (deficit > 0)).astype(np.int64)
        )
        if round_ < 4:
            new_item = _draw_items(model, cum, new_owner, rng)
        else:  # heavy users whose favourite clusters are exhausted: anything unseen
            new_item = rng.integers(0, spec.items, len(new_owner))
        owner = np.concatenate([owner, new_owner])
        item = np.concatenate([item, new_item])
        _, first = np.unique(owner * np.int64(spec.items) + item, return_index=True)
        first.sort()  # keep draw order within each user
        owner, item = owner[first], item[first]
        order = np.argsort(owner, kind="stable")
        owner, item = owner[order], item[order]
        starts = np.r_[0, np.cumsum(np.bincount(owner, minlength=n_users))[:-1]]
        take = np.arange(len(owner)) - starts[owner] < counts[owner]
        owner, item = owner[take], item[take]
        deficit = counts - np.bincount(owner, minlength=n_users)
    affinity = np.einsum("ij,ij->i", taste[owner], model.item_vectors[item])
    user_bias = rng.normal(scale=0.3, size=n_users)
    stars = (
        3.5
        + model.item_bias[item]
        + user_bias[owner]
        + 2.5 * affinity
        + rng.normal(scale=0.5, size=len(owner))
    )
    low, high = RATING_SCALE
    rating = np.clip(np.round(stars * 2.0) / 2.0, low, high).astype(np.float32)
    if spec.rated_fraction < 1.0:  # a separate stream: the same interactions at any fraction
        keep = np.random.default_rng([int(model.user_seeds[lo]), 1]).random(len(owner))
        rating[keep >= spec.rated_fraction] = np.nan
    start = rng.integers(_START_TIME, _START_TIME + _SPAN // 2, n_users)
    timestamp = start[owner] + rng.integers(0, _SPAN // 2, len(owner))
    return {
        "user_id": (owner + lo + 1).astype(np.int64),
        "item_id": (item + 1).astype(np.int64),
        "rating": rating,
        "timestamp": timestamp.astype(np.int64),
    }


def _draw_items(
    model: _Model, cum: np.ndarray, owner: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """One item per entry of ``owner``: a cluster by the user's taste, then an item of that
    cluster by popularity."""
    # Inverse CDF per user in one search: row r's cumulative probabilities shifted by r make
    # one increasing array, and user r's draw u lands at r + u.
    k = cum.shape[1]
    shifted = (cum + np.arange(len(cum))[:, None]).ravel()
    position = np.searchsorted(shifted, owner + rng.random(len(owner)), side="right")
    cluster = np.minimum(position - owner * k, k - 1)
    lo, hi = model.cluster_lo[cluster], model.cluster_hi[cluster]
    target = lo + rng.random(len(owner)) * (hi - lo)
    pos = np.searchsorted(model.cum_pop, target, side="right")
    return model.by_cluster[np.minimum(pos, model.spec.items - 1)]


def synthesize(
    users: int, items: int, interactions: int, *, seed: int = 0, **settings: float
) -> Interactions:
    """Generates synthetic ratings in memory (see the module docstring).

    Args:
        users: Number of users.
        items: Number of items.
        interactions: Number of ratings.
        seed: Seeds everything.
        **settings: Other `SyntheticSpec` fields (``rank``, ``clusters``, ``affinity``, ...).
    """
    spec = SyntheticSpec(users, items, interactions, seed=seed, **settings)  # type: ignore[arg-type]
    blocks = list(iter_synthetic(spec))
    columns = {k: np.concatenate([b[k] for b in blocks]) for k in blocks[0]}
    return Interactions(
        user=columns["user_id"],
        item=columns["item_id"],
        rating=columns["rating"],
        timestamp=columns["timestamp"],
        rating_scale=RATING_SCALE,
        source=f"synthetic(users={users}, items={items}, interactions={interactions})",
    )


def write_synthetic_parquet(
    spec: SyntheticSpec,
    path: str | os.PathLike[str],
    *,
    row_group_rows: int = 1 << 20,
    progress: bool = True,
) -> int:
    """Streams synthetic ratings into a Parquet file in row groups of at most
    ``row_group_rows``.

    The file has columns ``user_id``, ``item_id`` (int64), ``rating`` (float32, null on the
    unrated rows when ``spec.rated_fraction < 1``) and ``timestamp`` (int64), and records the
    rating scale in its schema metadata.

    Returns:
        The number of rows written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(path).expanduser()
    if out.suffix.lower() != ".parquet":
        raise JointrecError(f"--out {str(out)!r}: expected a file name ending in .parquet")
    out.parent.mkdir(parents=True, exist_ok=True)
    schema = pa.schema(
        [
            ("user_id", pa.int64()),
            ("item_id", pa.int64()),
            ("rating", pa.float32()),
            ("timestamp", pa.int64()),
        ],
        metadata={
            META_RATING_SCALE: f"{RATING_SCALE[0]},{RATING_SCALE[1]}".encode(),
            META_GENERATOR: repr(spec).encode(),
        },
    )
    tmp = out.with_name(out.name + ".partial")
    written = 0
    with (
        progress_task("synthesizing", total=spec.interactions, enabled=progress) as bar,
        pq.ParquetWriter(tmp, schema, compression="snappy") as writer,
    ):
        for block in iter_synthetic(spec):
            rating = block["rating"]
            columns: dict[str, object] = dict(block)
            columns["rating"] = pa.array(rating, mask=np.isnan(rating), type=pa.float32())
            table = pa.Table.from_pydict(columns, schema=schema)
            writer.write_table(table, row_group_size=row_group_rows)
            written += len(block["user_id"])
            bar.advance(len(block["user_id"]))
    os.replace(tmp, out)
    return written
