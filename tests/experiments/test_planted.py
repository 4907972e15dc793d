"""Planted structure: every preset recovers the checkerboard's held-out diagonal."""

from __future__ import annotations

import numpy as np
import pytest

from jointrec.experiments.pipeline import prepare_data, train_model
from jointrec.scoring import SeenItems, retrieve
from jointrec.settings import preset
from jointrec.testing import checkerboard


@pytest.mark.parametrize("name", ["default", "tutorial"])
def test_each_user_ranks_its_held_out_item_first(name):
    ds = checkerboard(24, repeats=4)
    config = preset(name).replace(
        train={"batch_size": 64, "epochs": 40}, split={"test_fraction": 0.01}
    )
    data = prepare_data(ds, config.split)
    trained = train_model(data, config, progress=False, evaluate_on=None)
    users = data.users.encode(np.arange(1, 25))
    seen = SeenItems(data.train.user, data.train.item, len(data.users))
    # Exclude everything the user rated anywhere: train and the tiny test part.
    full = SeenItems(
        data.users.encode(ds.interactions.user),
        data.items.encode(ds.interactions.item),
        len(data.users),
    )
    top, _ = retrieve(trained.exported.score_users, users, 1, seen=full)
    expected = data.items.encode(np.arange(1, 25))
    assert np.array_equal(top[:, 0], expected), f"{name}: {top[:, 0]} != {expected}"
    # Batch results equal per-user results.
    for u in users[:5]:
        single, _ = retrieve(trained.exported.score_users, np.array([u]), 3, seen=seen)
        batch, _ = retrieve(trained.exported.score_users, users, 3, seen=seen)
        assert np.array_equal(single[0], batch[list(users).index(u)])
