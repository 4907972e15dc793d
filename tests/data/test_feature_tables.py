"""Feature tables from your own files: kinds, missing values, id matching, OOV and
training-split statistics."""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from jointrec.data.feature_tables import read_feature_table
from jointrec.data.load import feature_specs, load_data
from jointrec.errors import JointrecError
from jointrec.experiments.pipeline import prepare_data
from jointrec.features import FeatureSpec
from jointrec.features.prepare import encode_tower_features
from jointrec.settings import DataConfig, SplitConfig


def test_declared_kinds_from_parquet(tmp_path):
    path = tmp_path / "items.parquet"
    table = pa.table(
        {
            "sku": ["x1", "x2", "x3"],
            "tags": pa.array([["new", "sale"], None, ["gift"]], pa.list_(pa.string())),
            "title": ["The Red Story", None, "A Quest"],
            "released": pa.array(
                np.array(["2020-01-01", "2021-01-01", "NaT"], dtype="datetime64[ms]")
            ),
            "price": [9.5, None, 3],
            "brand": pa.array(["acme", "acme", "zeta"]).dictionary_encode(),
        }
    )
    pq.write_table(table, path)
    specs = [
        FeatureSpec("tags", "multi_categorical"),
        FeatureSpec("title", "text"),
        FeatureSpec("released", "timestamp"),
        FeatureSpec("price", "numeric"),
        FeatureSpec("maker", "categorical", column="brand"),
    ]
    t = read_feature_table(path, id_col="sku", specs=specs)
    assert t.ids.tolist() == ["x1", "x2", "x3"]
    assert t.columns["tags"].tolist() == [["new", "sale"], None, ["gift"]]
    assert t.columns["title"].tolist() == ["The Red Story", None, "A Quest"]
    released = t.columns["released"]
    assert released[:2].tolist() == [1577836800.0, 1609459200.0] and math.isnan(released[2])
    assert t.columns["price"][[0, 2]].tolist() == [9.5, 3.0] and math.isnan(t.columns["price"][1])
    assert t.columns["brand"].tolist() == ["acme", "acme", "zeta"]
    assert [s["name"] for s in t.metadata["feature_specs"]] == [s.name for s in specs]
    assert t.metadata["feature_specs"][4]["column"] == "brand"


def test_inferred_kinds_from_csv_keep_leading_zeros_when_declared(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("user,age,zip,joined,tags\n7,31,01234,2020-05-01T00:00:00,a|b\n8,,99999,,\n")
    inferred = read_feature_table(path, id_col="user")
    kinds = {s["name"]: s["kind"] for s in inferred.metadata["feature_specs"]}
    assert kinds == {
        "age": "numeric",
        "zip": "numeric",  # digits look like numbers: declare codes as categorical
        "joined": "timestamp",
        "tags": "categorical",  # a separator is not guessed: declare multi_categorical
    }
    assert inferred.ids.tolist() == [7, 8]
    declared = read_feature_table(
        path,
        id_col="user",
        specs=[FeatureSpec("zip", "categorical"), FeatureSpec("tags", "multi_categorical")],
    )
    assert declared.columns["zip"].tolist() == ["01234", "99999"]
    assert declared.columns["tags"].tolist() == ["a|b", None]  # split by the encoder


def test_feature_table_errors(tmp_path):
    path = tmp_path / "users.csv"
    path.write_text("user,age,country\nu1,31,de\nu2,old,fr\nu1,40,jp\n")
    with pytest.raises(
        JointrecError,
        match=r"column 'age' holds string, e.g. 'old' on .*users\.csv line 3: expected "
        r"numbers for the numeric feature 'age' \(or declare it categorical\)",
    ):
        read_feature_table(path, id_col="user", specs=[FeatureSpec("age", "numeric")])
    with pytest.raises(JointrecError, match=r"id 'u1' appears 2 times: expected each id once"):
        read_feature_table(path, id_col="user", specs=[FeatureSpec("country", "categorical")])
    with pytest.raises(
        JointrecError, match=r"has no column 'height' \(named by feature 'height'\)"
    ):
        read_feature_table(path, id_col="user", specs=[FeatureSpec("height", "numeric")])
    with pytest.raises(JointrecError, match=r"has no column 'uid' \(named by id_col\)"):
        read_feature_table(path, id_col="uid", specs=[FeatureSpec("age", "numeric")])
    with pytest.raises(JointrecError, match="has kind 'color': expected one of"):
        table = {"path": str(path), "features": {"a": "color"}}
        feature_specs(DataConfig(interactions="e.csv", user_features=table).user_features)


def write(path, header, rows):
    path.write_text(header + "\n" + "".join(",".join(map(str, r)) + "\n" for r in rows))
    return str(path)


def test_ids_that_do_not_match_the_interactions(tmp_path):
    events = write(tmp_path / "e.csv", "user,item", [(1, "a"), (2, "b"), (3, "a")])
    users = write(tmp_path / "u.csv", "user,age", [(10, 1), (11, 2)])
    config = DataConfig(interactions=events, user_features={"path": users})
    with pytest.raises(
        JointrecError,
        match=r"user features .*u\.csv' match none of the interactions' user ids: the table has "
        r"ids such as 10, 11 but the interactions have 1, 2, 3; check the id column "
        r"\(data.user_features.id_col\)",
    ):
        load_data(config)
    items = write(tmp_path / "i.csv", "sku,price", [("a", 1)])
    config = DataConfig(interactions=events, item_features={"path": items})
    with pytest.raises(JointrecError, match=r"no column 'item' \(named by data.item_features"):
        load_data(config)


def test_integer_and_text_ids_are_matched_as_text(tmp_path):
    events = write(tmp_path / "e.csv", "user,item", [(1, 5), (2, 6)])
    users = tmp_path / "u.parquet"
    pq.write_table(pa.table({"user": ["1", "2", "x9"], "age": [30, 40, 50]}), users)
    dataset, resolved = load_data(DataConfig(interactions=events, user_features=str(users)))
    assert dataset.interactions.user.tolist() == ["1", "2"]
    assert dataset.interactions.item.tolist() == [5, 6]  # items had no table: unchanged
    assert dataset.users.lookup("age", np.array(["2"])).tolist() == [40.0]
    assert resolved.user_features.features == {"age": "numeric"}  # inferred, recorded
    assert resolved.user_features.id_col == "user"


def test_unknown_categories_are_oov_and_statistics_come_from_training_users(tmp_path):
    # Times order the rows; a temporal split with test_fraction 1/6 puts the last row (user d)
    # in test, so users a, b, c are the training users. e has no interactions at all.
    events = write(
        tmp_path / "e.csv",
        "user,item,t",
        [
            ("a", "i1", 1),
            ("a", "i2", 2),
            ("b", "i1", 3),
            ("b", "i2", 4),
            ("c", "i1", 5),
            ("d", "i2", 6),
        ],
    )
    users = write(
        tmp_path / "u.csv",
        "user,age,country",
        [("a", 20, "de"), ("b", 30, "fr"), ("c", 40, "de"), ("d", 90, "jp"), ("e", 50, "us")],
    )
    config = DataConfig(
        interactions=events,
        time_col="t",
        user_features={"path": users, "features": {"age": "numeric", "country": "categorical"}},
    )
    dataset, _ = load_data(config)
    data = prepare_data(dataset, SplitConfig(method="temporal", test_fraction=1 / 6))
    assert sorted(set(data.train_interactions().user)) == ["a", "b", "c"]
    assert data.users.ids.tolist() == ["a", "b", "c", "d", "e"]  # table users get indices
    encoded, _ = encode_tower_features(
        dataset, data.train_interactions(), data.users, data.items, ("age", "country"), ()
    )
    # Training users' ages 20, 30, 40: mean 30, population std sqrt(200/3) = 8.165.
    std = math.sqrt(200 / 3)
    expected_age = [0.0, -10 / std, 0.0, 10 / std, 60 / std, 20 / std]  # index 0: no value
    assert encoded.arrays["age"].tolist() == pytest.approx(expected_age, rel=1e-6)
    # Countries seen on training users: de -> 2, fr -> 3 (sorted); jp and us -> OOV (1).
    assert encoded.arrays["country"].tolist() == [0, 2, 3, 2, 1, 1]
