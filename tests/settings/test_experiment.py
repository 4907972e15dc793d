"""Experiment files: precedence preset < file < flags, types, paths and errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from jointrec.cli.settings import flag_settings
from jointrec.data.load import feature_specs
from jointrec.errors import JointrecError
from jointrec.experiments.manifest import write_manifest
from jointrec.settings import DataConfig, preset
from jointrec.settings.experiment import merge, resolve_experiment

EXP = """
preset = "tutorial"
name = "shop"

[data]
interactions = "data/events.csv"
user_col = "who"
rating_col = "stars"
rating_scale = [1, 10]

[data.item_features]
path = "data/items.parquet"
id_col = "sku"
features = { price = "numeric", tags = { kind = "multi_categorical", separator = ";" } }

[model]
embedding_dim = 16
retrieval_min_rating = 4

[train]
epochs = 7
learning_rate = 1
"""


def write(tmp_path: Path, text: str, name: str = "exp.toml") -> Path:
    path = tmp_path / "experiments" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_flags_override_the_file_which_overrides_the_preset(tmp_path):
    path = write(tmp_path, EXP)
    flags = flag_settings(epochs=2, seed=9, rating_col="score", embedding_dim=None)
    exp = resolve_experiment(path, flags)
    tutorial = preset("tutorial")
    assert exp.run.preset == "tutorial"
    assert exp.run.train.epochs == 2  # flag over file (7)
    assert exp.run.train.learning_rate == 1.0  # file over preset (0.1), int read as float
    assert exp.run.train.optimizer == tutorial.train.optimizer == "adagrad"  # preset
    assert (exp.run.train.seed, exp.run.split.seed) == (9, 9)  # --seed sets both
    assert exp.run.model.towers.embedding_dim == 16
    assert exp.run.model.retrieval.min_rating == 4.0
    assert exp.data.rating_col == "score"
    assert exp.data.user_col == "who" and exp.data.item_col == "item"  # file, default
    assert exp.data.rating_scale == (1.0, 10.0)
    # Relative paths in the file are relative to the file's folder.
    assert exp.data.interactions == str((tmp_path / "experiments/data/events.csv").resolve())
    table = exp.data.item_features
    assert table.path == str((tmp_path / "experiments/data/items.parquet").resolve())
    assert table.id_col == "sku"
    assert [(s.name, s.kind, s.separator) for s in feature_specs(table)] == [
        ("price", "numeric", "|"),
        ("tags", "multi_categorical", ";"),
    ]
    assert exp.name == "shop"
    # A preset flag replaces the file's preset; the file's own settings still apply on top.
    exp = resolve_experiment(path, {"preset": "default"})
    assert exp.run.train.optimizer == "adam" and exp.run.train.epochs == 7


def test_none_unsets_an_optional_setting(tmp_path):
    path = write(tmp_path, EXP)
    exp = resolve_experiment(path, flag_settings(rating_col="none"))
    assert exp.data.rating_col is None
    exp = resolve_experiment(path, {"model": {"retrieval_min_rating": "none"}})
    assert exp.run.model.retrieval.min_rating is None


def test_flag_paths_and_item_feature_path_merge(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path, EXP)
    flags = flag_settings(interactions=Path("other.csv"), item_features=Path("i2.csv"))
    exp = resolve_experiment(path, flags)
    assert exp.data.interactions == str(tmp_path / "other.csv")  # flags: relative to cwd
    assert exp.data.item_features.path == str(tmp_path / "i2.csv")
    assert exp.data.item_features.id_col == "sku"  # the file's declarations are kept


def test_resolved_experiment_round_trips_through_toml(tmp_path):
    exp = resolve_experiment(write(tmp_path, EXP), {})
    saved = write_manifest(tmp_path / "manifest.toml", exp.to_dict())
    again = resolve_experiment(saved, {})
    assert again.run == exp.run
    assert again.data == exp.data
    assert again.name == exp.name
    text = saved.read_text()
    assert text.startswith("# jointrec run manifest")
    assert "[model.retrieval]" in text and "min_rating = 4.0" in text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "[train]\nepochs = '5'\n",
            r"exp.toml \[train\]: epochs = '5' is invalid: expected an integer",
        ),
        ("[train]\nepoch = 5\n", r"\[train\]: unknown setting 'epoch': expected one of \["),
        ("[model]\nlayer_sizes = 8\n", r"layer_sizes = 8 is invalid: expected a list of integers"),
        ("[model]\nl2_normalize = 1\n", "l2_normalize = 1 is invalid: expected true or false"),
        ("[data]\nrating_scale = [1]\n", r"rating_scale = \[1\] is invalid: expected a list of 2"),
        ("[data]\nrating_col = 3\n", 'rating_col = 3 is invalid: expected a string or "none"'),
        ("[trian]\nepochs = 5\n", r"unknown keys \['trian'\]: expected some of"),
        ("train = 5\n", r"train = 5 must be a table \(\[train\]\)"),
        ("[train\n", "is not valid TOML"),
        ("[model]\ntemperature = -1.0\n", "temperature=-1.0 is invalid: expected > 0"),
        ('[data]\ninteractions = "e.csv"\npath = "ml.zip"\n', "keep one of them"),
        ('[data]\nitem_features = "i.csv"\n', "feature tables .* need your own interactions"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, text, message):
    with pytest.raises(JointrecError, match=message):
        resolve_experiment(write(tmp_path, text), {})


def test_missing_file():
    with pytest.raises(JointrecError, match=r"experiment file 'nope.toml' does not exist"):
        resolve_experiment("nope.toml", {})


def test_output_dir_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert str(resolve_experiment(None, {}).output_dir()) == "runs/joint"
    exp = resolve_experiment(write(tmp_path, "[train]\nepochs = 1\n", "my-exp.toml"), {})
    assert str(exp.output_dir()) == "runs/my-exp"
    (tmp_path / "runs/my-exp").mkdir(parents=True)
    (tmp_path / "runs/my-exp-2").mkdir()
    assert str(exp.output_dir()) == "runs/my-exp-3"  # never replaces an earlier run
    assert str(resolve_experiment(None, {"out": "x/y"}).output_dir()) == "x/y"


def test_merge_is_deep_and_flags_win():
    assert merge({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"b": 5}}) == {
        "a": {"b": 5, "c": 2},
        "d": 3,
    }
    assert merge({"a": "text"}, {"a": {"b": 1}}) == {"a": {"b": 1}}


def test_data_config_dict_drops_what_does_not_apply():
    own = DataConfig(interactions="/e.csv", rating_col="r")
    assert own.to_dict() == {
        "interactions": "/e.csv",
        "user_col": "user",
        "item_col": "item",
        "rating_col": "r",
        "format": "auto",
        "duplicates": "error",
    }
    assert DataConfig(dataset="1m").to_dict() == {"dataset": "1m"}
    assert DataConfig.from_dict(own.to_dict()) == own


def test_split_flags_choose_a_temporal_protocol():
    exp = resolve_experiment(None, flag_settings(split="temporal", test_fraction=0.25))
    assert (exp.run.split.method, exp.run.split.test_fraction) == ("temporal", 0.25)
    exp = resolve_experiment(None, flag_settings(split="leave_last_n", leave_n=2, seed=3))
    assert (exp.run.split.method, exp.run.split.leave_n, exp.run.split.seed) == (
        "leave_last_n",
        2,
        3,
    )
    assert resolve_experiment(None, flag_settings()).run.split.method == "random"
