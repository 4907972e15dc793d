"""Rating baselines on mixed feedback fit the rated rows alone (unrated rows are NaN)."""

from __future__ import annotations

import numpy as np

from jointrec.baselines import BiasedMF, IAutoRec
from jointrec.data.encoded import EncodedInteractions


def test_rating_baselines_ignore_unrated_rows(rng):
    u, i = rng.integers(1, 30, 600), rng.integers(1, 40, 600)
    r = np.clip(np.round(3 + (u % 3) - (i % 2)), 1, 5).astype("float32")
    mixed = r.copy()
    mixed[rng.random(600) < 0.5] = np.nan
    rated = ~np.isnan(mixed)
    x, only = EncodedInteractions(u, i, mixed), EncodedInteractions(u[rated], i[rated], r[rated])
    a = BiasedMF.fit(x, 30, 40, factors=4, iterations=3)
    b = BiasedMF.fit(only, 30, 40, factors=4, iterations=3)
    np.testing.assert_allclose(a.predict_ratings(u, i), b.predict_ratings(u, i), rtol=1e-6)
    tuned = BiasedMF.tuned(x, 30, 40, factors=4, iterations=3)
    assert np.isfinite(tuned.predict_ratings(u, i)).all()
    auto = IAutoRec.tuned(x, 30, 40, penalties=(1.0,))
    assert np.isfinite(auto.predict_ratings(u, i)).all()
