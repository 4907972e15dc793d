"""`evaluate`: one report of rating and ranking quality for any `Scorer`.

Ranking metrics are computed over the full catalogue with each user's training items removed
(unless ``exclude_seen=False``), per user, then averaged over users with at least one relevant
test item. The tutorial's own metric is reported too, as the tutorial defines it.

Every test user counts. A user the model's vocabulary does not know (no training rows and no
row in a user table; `EncodedInteractions.unknown_user` tells them apart) is ranked as serving
answers them: the most-rated training items (`jointrec.inference.recommender`'s popularity
fallback). The plain keys average over all users. When some test users are unknown, the
``*_known`` keys average over the users the model knows, beside both counts
(``users_evaluated``, ``known_users_evaluated``); where every test user is known (MovieLens:
the user table is in the vocabulary) the report is what it always was. The tutorial's metric
stays as the tutorial defines it, over known users' test pairs.

Mixed feedback (some test rows unrated, NaN): RMSE and MAE are over the rated test rows;
an unrated test row is relevant for ranking with ``EvalConfig.unrated_test="relevant"`` (the
default) and left out with ``"ignore"``; it never counts as a 5-star item.

Example:
    >>> report = evaluate(scorer, train, test, EvalConfig())  # doctest: +SKIP
    >>> report["recall@10"], report["rmse"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from jointrec import backend
from jointrec.data.encoded import EncodedInteractions
from jointrec.evaluation.metrics import mae, rmse
from jointrec.scoring.scorer import DotProductScorer, Scorer
from jointrec.scoring.seen import SeenItems
from jointrec.scoring.topk import top_k_rows
from jointrec.settings import EvalConfig

RATING_CHUNK = 1 << 16
#: Users x items from which the backend's compiled ranker is used (below, NumPy is quicker).
COMPILED_MIN_WORK = 1 << 25


def evaluate(
    scorer: Scorer,
    train: EncodedInteractions,
    test: EncodedInteractions,
    config: EvalConfig = EvalConfig(),
) -> dict[str, float]:
    """Evaluates ``scorer`` on ``test`` given the ``train`` interactions it was fitted on.

    Args:
        scorer: The model.
        train: Training interactions (their items are excluded from rankings).
        test: Test interactions with ratings.
        config: Cut-offs, relevance threshold and chunking.

    Returns:
        A flat dict: ``rmse``, ``mae`` (stars) and ``rmse_label`` (on the ``[0, 1]`` label)
        when the scorer rates; ``tutorial_top{k}_accuracy``, ``recall@k`` for each k,
        ``ndcg@10``, ``map@10``, ``mrr``, ``hr@10`` (5-star test items) and ``coverage@10``
        when it retrieves, each over all test users (and, when some are unknown, as
        ``*_known`` over the users the model knows, with ``known_users_evaluated``); plus
        ``test_pairs`` and ``users_evaluated``.
    """
    report: dict[str, float] = {"test_pairs": float(len(test))}
    if scorer.can_rate and test.rating is not None and test.rated.any():
        report.update(rating_metrics(scorer, test))
    if scorer.can_retrieve:
        report.update(ranking_metrics(scorer, train, test, config))
    return report


def rating_metrics(scorer: Scorer, test: EncodedInteractions) -> dict[str, float]:
    """RMSE and MAE in stars, and RMSE on the normalised label, over the rated test rows."""
    if not test.rated.all():
        test = test.take(np.flatnonzero(test.rated))
    assert test.rating is not None
    predicted = np.concatenate(
        [
            scorer.predict_ratings(
                test.user[lo : lo + RATING_CHUNK], test.item[lo : lo + RATING_CHUNK]
            )
            for lo in range(0, len(test), RATING_CHUNK)
        ]
    )
    low, high = test.rating_scale
    error = rmse(predicted, test.rating)
    absolute = mae(predicted, test.rating)
    return {
        "rmse": error,
        "mae": absolute,
        "rmse_label": error / (high - low),
        "mae_label": absolute / (high - low),
    }


def _csr(users: np.ndarray, items: np.ndarray, num_users: int) -> SeenItems:
    return SeenItems(users, items, num_users)


def ranking_metrics(
    scorer: Scorer, train: EncodedInteractions, test: EncodedInteractions, config: EvalConfig
) -> dict[str, float]:
    """Ranking metrics, vectorised over chunks of users.

    Each chunk is ranked by the backend's compiled ranker (`jointrec.backend.catalogue_ranker`)
    when the scorer is a dot-product model and the backend has one, else by NumPy; the metrics are
    then computed from the top lists and the CSR sets of relevant and seen items, never from
    dense ``[chunk, num_items]`` masks.
    """
    num_users = int(max(train.user.max(initial=0), test.user.max(initial=0))) + 1
    num_items = scorer.num_items
    seen = _csr(train.user, train.item, num_users)
    known = (test.user > 0) & (test.item > 0)
    rating = test.rating if test.rating is not None else np.full(len(test), np.inf)
    top_rating = test.rating_scale[1]
    is_relevant = known & (rating >= config.relevance_min_rating)
    if config.unrated_test == "relevant":
        is_relevant |= known & np.isnan(rating)
    is_five = known & (rating >= top_rating)
    relevant = _csr(test.user[is_relevant], test.item[is_relevant], num_users)
    five_star = _csr(test.user[is_five], test.item[is_five], num_users)
    # The tutorial counts test examples, so duplicate pairs count as often as they occur.
    five_order = np.argsort(test.user[is_five], kind="stable")
    five_users, five_items = test.user[is_five][five_order], test.item[is_five][five_order]
    all_users = np.arange(num_users)
    users = np.flatnonzero((relevant.counts(all_users) > 0) | (five_star.counts(all_users) > 0))
    users = users[users > 0]
    k_max = max(max(config.ks), 10, config.tutorial_k)
    ranker = _ranker(scorer, k_max, work=len(users) * num_items)
    known_sums = _Sums()
    tutorial_hits = 0
    covered = np.zeros(num_items, dtype=bool)
    for lo in range(0, len(users), config.user_chunk):
        batch = users[lo : lo + config.user_chunk]
        seen_rc = seen.coordinates(batch) if config.exclude_seen else _EMPTY
        rel_rc = _minus(relevant.coordinates(batch), seen_rc, num_items)
        five_rc = _minus(five_star.coordinates(batch), seen_rc, num_items)
        top, valid, tutorial_top, rank = ranker(batch, seen_rc, rel_rc, config.tutorial_k, config)
        # The tutorial's metric: unfiltered top-k, hit per 5-star test pair.
        lo_pair, hi_pair = np.searchsorted(five_users, [batch[0], batch[-1] + 1])
        rows = np.searchsorted(batch, five_users[lo_pair:hi_pair])
        pair_items = five_items[lo_pair:hi_pair, None]
        tutorial_hits += int((tutorial_top[rows] == pair_items).any(axis=1).sum())
        covered[top[:, :10][valid[:, :10]]] = True
        known_sums.add(top, rank, rel_rc, five_rc, config.ks, k_max, num_items)
    unknown_sums = _unknown_user_sums(train, test, rating, config, k_max, num_items, covered)
    report = (known_sums + unknown_sums).means()
    some_unknown = test.unknown_user is not None and bool((test.unknown_user > 0).any())
    if some_unknown:
        report.update({f"{name}_known": value for name, value in known_sums.means().items()})
    report[f"tutorial_top{config.tutorial_k}_accuracy"] = tutorial_hits / max(len(five_users), 1)
    report["coverage@10"] = float(covered[1:].sum() / max(num_items - 1, 1))
    report["users_evaluated"] = float(known_sums.relevant + unknown_sums.relevant)
    if some_unknown:
        report["known_users_evaluated"] = float(known_sums.relevant)
    return report


@dataclass
class _Sums:
    """Per-user metric totals and how many users they are over."""

    totals: dict[str, float] = field(default_factory=dict)
    relevant: int = 0
    five_star: int = 0

    def add(
        self,
        top: np.ndarray,
        rank: np.ndarray,
        rel_rc: Coordinates,
        five_rc: Coordinates,
        ks: tuple[int, ...],
        k_max: int,
        num_items: int,
    ) -> None:
        """Adds a chunk of users: their top lists, first relevant ranks, relevant items and
        5-star items (row, item coordinates)."""
        n_rel = np.bincount(rel_rc[0], minlength=len(top))
        has_rel = n_rel > 0
        hits = np.zeros((len(top), k_max), dtype=bool)  # padded for tiny catalogues
        hits[:, : top.shape[1]] = _member(top, rel_rc, num_items)
        discounts = 1.0 / np.log2(np.arange(2, 12))
        for k in ks:
            self._add(f"recall@{k}", (hits[:, :k].sum(1) / np.maximum(n_rel, 1))[has_rel])
        dcg = (hits[:, :10] * discounts).sum(1)
        ideal = np.cumsum(discounts)[np.minimum(n_rel, 10) - 1]
        self._add("ndcg@10", (dcg / np.where(has_rel, ideal, 1.0))[has_rel])
        precision = np.cumsum(hits[:, :10], axis=1) / np.arange(1, 11)
        ap = (precision * hits[:, :10]).sum(1) / np.maximum(np.minimum(n_rel, 10), 1)
        self._add("map@10", ap[has_rel])
        self._add("mrr", (1.0 / rank)[has_rel])
        self.relevant += int(has_rel.sum())
        n_five = np.bincount(five_rc[0], minlength=len(top))
        has_five = n_five > 0
        five_hits = _member(top[:, :10], five_rc, num_items).sum(1)
        self._add("hr@10", (five_hits / np.maximum(n_five, 1))[has_five])
        self.five_star += int(has_five.sum())

    def _add(self, name: str, values: np.ndarray) -> None:
        self.totals[name] = self.totals.get(name, 0.0) + float(values.sum())

    def __add__(self, other: _Sums) -> _Sums:
        names = [*self.totals, *(n for n in other.totals if n not in self.totals)]
        totals = {n: self.totals.get(n, 0.0) + other.totals.get(n, 0.0) for n in names}
        return _Sums(totals, self.relevant + other.relevant, self.five_star + other.five_star)

    def means(self) -> dict[str, float]:
        """Each metric's mean over its users (``hr@10`` over users with a 5-star item)."""
        return {
            name: total / max(self.five_star if name == "hr@10" else self.relevant, 1)
            for name, total in self.totals.items()
        }


def _unknown_user_sums(
    train: EncodedInteractions,
    test: EncodedInteractions,
    rating: np.ndarray,
    config: EvalConfig,
    k_max: int,
    num_items: int,
    covered: np.ndarray,
) -> _Sums:
    """Metric totals of the test users the model does not know, each ranked by the popularity
    fallback serving gives them (the most-rated training items; they have no seen items).
    Their top 10 is added to ``covered``."""
    sums = _Sums()
    if test.unknown_user is None:
        return sums
    rows = (test.user == 0) & (test.item > 0) & (test.unknown_user > 0)
    ids = test.unknown_user
    count = int(ids[rows].max(initial=0)) + 1
    is_relevant = rows & (rating >= config.relevance_min_rating)
    is_five = rows & (rating >= test.rating_scale[1])
    relevant = _csr(ids[is_relevant], test.item[is_relevant], count)
    five_star = _csr(ids[is_five], test.item[is_five], count)
    everyone = np.arange(count)
    users = np.flatnonzero((relevant.counts(everyone) > 0) | (five_star.counts(everyone) > 0))
    users = users[users > 0]
    if len(users) == 0:
        return sums
    popularity = np.bincount(train.item, minlength=num_items)[:num_items].astype(np.float32)
    popularity[0] = -np.inf
    order = top_k_rows(popularity[None, :], k_max)
    covered[order[0, :10]] = True
    for lo in range(0, len(users), config.user_chunk):
        batch = users[lo : lo + config.user_chunk]
        scores = np.broadcast_to(popularity, (len(batch), num_items))
        rel_rc = relevant.coordinates(batch)
        rank = first_relevant_rank(scores, rel_rc)
        top = np.broadcast_to(order, (len(batch), order.shape[1]))
        sums.add(top, rank, rel_rc, five_star.coordinates(batch), config.ks, k_max, num_items)
    return sums


Coordinates = tuple[np.ndarray, np.ndarray]
#: ``(users, seen, relevant, tutorial_k, config) -> (top, top is finite, tutorial top, rank)``
Ranker = Callable[
    [np.ndarray, Coordinates, Coordinates, int, EvalConfig],
    tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
]
_EMPTY: Coordinates = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64))


def _ranker(scorer: Scorer, k: int, work: int = COMPILED_MIN_WORK) -> Ranker:
    """The fastest available way to rank the catalogue for chunks of users: the backend's
    compiled ranker for dot-product models when ``work`` (users x items) repays its
    compilation, else NumPy."""
    compiled = None
    if isinstance(scorer, DotProductScorer) and work >= COMPILED_MIN_WORK:
        compiled = backend.catalogue_ranker(scorer.user_vectors, scorer.item_vectors, k)
    if compiled is not None:
        ranker = compiled

        def rank_compiled(
            users: np.ndarray, seen: Coordinates, rel: Coordinates, tk: int, config: EvalConfig
        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
            return ranker.rank(users, seen, rel, tk, chunk=config.user_chunk)

        return rank_compiled

    def rank_numpy(
        users: np.ndarray, seen: Coordinates, rel: Coordinates, tk: int, config: EvalConfig
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        scores = np.array(scorer.score_users(users), dtype=np.float32, copy=True)
        scores[:, 0] = -np.inf
        tutorial_top = top_k_rows(scores, tk)
        scores[seen[0], seen[1]] = -np.inf
        top = top_k_rows(scores, k)
        valid = np.isfinite(np.take_along_axis(scores, top, axis=1))
        rank = first_relevant_rank(scores, rel)
        return top, valid, tutorial_top, rank

    return rank_numpy


def first_relevant_rank(scores: np.ndarray, relevant: Coordinates) -> np.ndarray:
    """Per row, the 1-based rank of its first relevant item in the order top-k gives: by
    score, ties by the lower index (so a tie is not counted in the model's favour).

    Args:
        scores: ``[rows, items]`` scores, seen items already at ``-inf``.
        relevant: (row, item) coordinates of the relevant items.

    Example:
        >>> s = np.array([[0.5, 0.5, 0.5, 0.9]])  # items 0-2 tie; item 2 is relevant
        >>> first_relevant_rank(s, (np.array([0]), np.array([2]))).tolist()
        [4]
    """
    rows, items = relevant
    best = np.full(len(scores), -np.inf, dtype=scores.dtype)
    values = scores[rows, items]
    np.maximum.at(best, rows, values)
    width = scores.shape[1]
    first = np.full(len(scores), width, dtype=np.int64)
    at_best = values == best[rows]
    np.minimum.at(first, rows[at_best], items[at_best])
    ahead = (scores > best[:, None]).sum(axis=1)
    tied = ((scores == best[:, None]) & (np.arange(width)[None, :] < first[:, None])).sum(axis=1)
    return ahead + tied + 1


def _minus(coords: Coordinates, removed: Coordinates, width: int) -> Coordinates:
    """(row, item) pairs of ``coords`` that are not in ``removed``."""
    if len(removed[0]) == 0 or len(coords[0]) == 0:
        return coords
    keys = coords[0].astype(np.int64) * width + coords[1]
    drop = np.isin(keys, removed[0].astype(np.int64) * width + removed[1])
    return coords[0][~drop], coords[1][~drop]


def _member(top: np.ndarray, coords: Coordinates, width: int) -> np.ndarray:
    """``[rows, k]`` booleans: whether ``top[r, j]`` is among row ``r``'s ``coords`` items."""
    keys = np.arange(len(top), dtype=np.int64)[:, None] * width + top
    return np.isin(keys, coords[0].astype(np.int64) * width + coords[1])


def _add(sums: dict[str, float], name: str, values: np.ndarray) -> None:
    sums[name] = sums.get(name, 0.0) + float(values.sum())
