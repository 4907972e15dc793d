"""Fold-in on real data: a visitor's few ratings recover their other likes better than
the popularity list, and the fitted ranking embedding predicts their other ratings better
than the average user does (bands, not exact numbers)."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.inference.foldin import fit_user
from jointrec.inference.recommender import Recommender


@pytest.mark.slow
@pytest.mark.realdata
def test_fold_in_beats_popularity_on_movielens(ml100k_artifact):
    check_fold_in_band(ml100k_artifact)


def check_fold_in_band(artifact):
    from threadpoolctl import threadpool_limits

    rec = Recommender.load(artifact)
    art = rec.artifact
    rng = np.random.default_rng(0)
    counts = np.bincount(art.seen.indices, minlength=rec.model.num_items)
    by_count = (np.argsort(-counts[1:], kind="stable") + 1).tolist()  # most-rated first
    fold, pop, errors, average_errors = [], [], [], []
    average = rec.model.user_embeddings[1:].mean(axis=0), float(rec.model.user_bias[1:].mean())
    with threadpool_limits(1):
        for u in rng.permutation(np.arange(1, rec.model.num_users)):
            items, ratings = art.seen.items_of(u), art.seen.values_of(u)
            if len(items) < 40:
                continue
            # the visitor tells 20 of this user's ratings; the others rated >= 4 are their likes
            given = rng.choice(len(items), 20, replace=False)
            rest = np.setdiff1d(np.arange(len(items)), given)
            liked = set(art.items.ids[items[rest][ratings[rest] >= 4] - 1].tolist())
            pairs = [(art.items.ids[items[j] - 1].item(), float(ratings[j])) for j in given]
            result = rec.recommend(ratings=pairs, k=10)
            assert result.source == "fold-in"
            fold.append(len({r.item_id for r in result.items} & liked) / 10)
            folded = fit_user(rec.model, items[given], ratings[given].astype(np.float32))
            others = items[rest]
            errors.append(rec.ranker.stars(folded.embedding, folded.bias, others) - ratings[rest])
            average_errors.append(rec.ranker.stars(*average, others) - ratings[rest])
            popular = [j for j in by_count if j not in set(items[given])][:10]
            pop.append(len(set(art.items.ids[np.asarray(popular) - 1].tolist()) & liked) / 10)
            if len(fold) == 80:
                break
    # measured (default preset, 80 users, precision@10): fold-in 0.426 in retrieval order
    # (the default), 0.316 ordered by predicted stars (rank_by="rating"); popularity 0.279.
    # RMSE on the visitors' other ratings: fold-in 0.875 (Gauss-Newton, as Adam's 0.874
    # before it), the average user 1.01 (benchmarks/foldin.py)
    rmse = float(np.sqrt(np.mean(np.concatenate(errors) ** 2)))
    average_rmse = float(np.sqrt(np.mean(np.concatenate(average_errors) ** 2)))
    print(f"fold-in {np.mean(fold):.3f} popularity {np.mean(pop):.3f}")
    print(f"fold-in RMSE {rmse:.3f} average user {average_rmse:.3f}")
    assert np.mean(fold) > np.mean(pop) + 0.02, (np.mean(fold), np.mean(pop))
    assert 0.25 <= np.mean(fold) <= 0.7
    assert rmse < average_rmse - 0.05, (rmse, average_rmse)
    assert 0.7 <= rmse <= 1.05
