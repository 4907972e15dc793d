"""Synthetic data at MovieLens-25M shape: structure, determinism, Parquet output, CLI."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from jointrec.cli.app import app
from jointrec.data.synthetic import (
    META_RATING_SCALE,
    SyntheticSpec,
    _Model,
    synthesize,
    write_synthetic_parquet,
)
from jointrec.errors import JointrecError


def test_shape_ids_ratings_and_no_repeats():
    x = synthesize(300, 200, 12_000, seed=1)
    assert len(x) == 12_000
    assert x.user.min() == 1 and x.user.max() == 300
    assert x.item.min() >= 1 and x.item.max() <= 200
    counts = np.bincount(x.user, minlength=301)[1:]
    assert counts.min() >= 20  # min_per_user, as in MovieLens
    assert len(np.unique(x.user * 1000 + x.item)) == len(x)  # each (user, item) once
    assert set(np.unique(x.rating)) <= set(np.arange(1, 11) / 2)  # half stars in [0.5, 5]
    assert x.rating_scale == (0.5, 5.0)


def test_same_seed_same_data_other_seed_other_data():
    a, b = synthesize(100, 80, 3000, seed=5), synthesize(100, 80, 3000, seed=5)
    c = synthesize(100, 80, 3000, seed=6)
    np.testing.assert_array_equal(a.item, b.item)
    np.testing.assert_array_equal(a.rating, b.rating)
    assert not np.array_equal(a.item, c.item)


def test_popularity_and_activity_are_heavy_tailed():
    x = synthesize(2000, 1000, 100_000, seed=2)
    items = np.sort(np.bincount(x.item, minlength=1001)[1:])[::-1]
    users = np.bincount(x.user)[1:]
    # The top 10% of items draw more than twice their share of ratings; activity has a
    # long tail.
    assert items[:100].sum() / len(x) > 0.2
    assert users.max() > 5 * np.median(users)


def test_planted_structure_concentrates_users_on_few_clusters():
    # With affinity 0 a user's items follow global popularity; with the planted taste
    # structure each user's items concentrate in the clusters near the user's taste.
    def top_cluster_share(affinity: float) -> float:
        spec = SyntheticSpec(500, 2000, 50_000, clusters=32, affinity=affinity, seed=3)
        x = synthesize(500, 2000, 50_000, seed=3, clusters=32, affinity=affinity)
        cluster = _Model(spec).cluster[x.item - 1]
        table = np.zeros((501, 32))
        np.add.at(table, (x.user, cluster), 1)
        table = table[1:]
        return float((table.max(1) / table.sum(1)).mean())

    assert top_cluster_share(4.0) > 1.5 * top_cluster_share(0.0)


def test_parquet_row_groups_and_metadata(tmp_path):
    spec = SyntheticSpec(400, 300, 20_000, seed=4)
    path = tmp_path / "s.parquet"
    rows = write_synthetic_parquet(spec, path, row_group_rows=5000, progress=False)
    meta = pq.ParquetFile(path)
    assert rows == meta.metadata.num_rows == 20_000
    assert meta.metadata.num_row_groups >= 3
    assert meta.schema_arrow.metadata[META_RATING_SCALE] == b"0.5,5.0"
    table = pq.read_table(path)
    x = synthesize(400, 300, 20_000, seed=4)  # streaming and in-memory agree
    np.testing.assert_array_equal(table["item_id"].to_numpy(), x.item)


def test_bad_specs_are_explained(tmp_path):
    with pytest.raises(JointrecError, match=r"interactions=50 is below users=100"):
        SyntheticSpec(100, 10, 50)
    with pytest.raises(JointrecError, match=r"exceeds half of users x items"):
        SyntheticSpec(10, 10, 60)
    with pytest.raises(JointrecError, match=r"expected a file name ending in .parquet"):
        write_synthetic_parquet(SyntheticSpec(10, 10, 20), tmp_path / "x.csv", progress=False)


def test_cli_data_synth(tmp_path):
    out = tmp_path / "x.parquet"
    args = ["data", "synth", "--users", "50", "--items", "40", "--interactions", "1000"]
    result = CliRunner().invoke(app, [*args, "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "wrote 1000 ratings of 50 users x 40 items" in result.output
    assert pq.ParquetFile(out).metadata.num_rows == 1000
    bad = CliRunner().invoke(app, ["data", "synth", "--users", "50", "--items", "2",
                                   "--interactions", "1000", "--out", str(out)])  # fmt: skip
    assert bad.exit_code == 1
    assert "error: synthetic interactions=1000 exceeds half of users x items" in bad.output


def test_rated_fraction_keeps_the_interactions_and_leaves_the_rest_unrated(tmp_path, monkeypatch):
    full = synthesize(200, 150, 8_000, seed=3)
    part = synthesize(200, 150, 8_000, seed=3, rated_fraction=0.1)
    np.testing.assert_array_equal(part.item, full.item)  # the same interactions
    rated = part.rated
    assert 0.08 < rated.mean() < 0.12
    np.testing.assert_array_equal(part.rating[rated], full.rating[rated])
    again = synthesize(200, 150, 8_000, seed=3, rated_fraction=0.1)
    np.testing.assert_array_equal(again.rated, rated)  # seeded
    with pytest.raises(JointrecError, match="rated_fraction=1.5 is invalid"):
        SyntheticSpec(10, 10, 20, rated_fraction=1.5)
    out = tmp_path / "mixed.parquet"
    args = ["data", "synth", "--users", "200", "--items", "150", "--interactions", "8000"]
    result = CliRunner().invoke(app, [*args, "--seed", "3", "--rated-fraction", "0.1",
                                      "--out", str(out), "--quiet"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "(10% rated)" in result.output
    column = pq.read_table(out).column("rating")
    assert column.null_count == int((~rated).sum())
    from jointrec.data import columnar
    from jointrec.data.tables import read_interactions

    monkeypatch.setattr(columnar, "STREAM_MIN_ROWS", 1)  # as a big file is read
    x = read_interactions(out, user_col="user_id", item_col="item_id", rating_col="rating")
    np.testing.assert_array_equal(np.isnan(x.rating), ~rated)
    assert x.rating_scale == (0.5, 5.0)
