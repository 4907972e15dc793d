"""The presets and the specialists' own tuned settings."""

from __future__ import annotations


def test_specialists_take_their_tuned_settings_except_where_you_set_one(monkeypatch):
    from jointrec.settings import presets

    monkeypatch.setitem(
        presets.SPECIALIST_CHANGES,
        "default",
        {"rating": {"train": {"epochs": 9}, "model": {"rating": {"dropout": 0.3}}}},
    )
    base = presets.preset("default")
    tuned = presets.specialist(base, "rating")
    assert tuned.train.epochs == 9 and tuned.model.rating.dropout == 0.3
    assert presets.specialist(base, "retrieval") == base  # no changes for that task
    yours = base.replace(train={"epochs": 2})
    mine = presets.specialist(yours, "rating")
    assert mine.train.epochs == 2 and mine.model.rating.dropout == 0.3
