"""`list_runs`: manifests, artifacts from before manifests, and other folders."""

from __future__ import annotations

import json

import pytest

from jointrec.errors import JointrecError
from jointrec.experiments.manifest import build_manifest, write_manifest
from jointrec.experiments.runs import list_runs, plot_runs


def test_lists_manifests_and_older_artifacts_oldest_first(tmp_path):
    new = tmp_path / "new"
    new.mkdir()
    manifest = build_manifest(
        {"name": "new", "preset": "default", "data": {"interactions": "/d/events.parquet"}},
        hashes={},
        metrics={"recall@10": 0.25, "rmse": 0.9},
        data_info={},
        seed=1,
        run_dir=new,
        train_seconds=3.0,
    )
    manifest["provenance"]["created"] = "2026-02-01T00:00:00Z"
    write_manifest(new / "manifest.toml", manifest)
    old = tmp_path / "old"
    old.mkdir()
    (old / "manifest.json").write_text(json.dumps({"created": "2026-01-01T00:00:00Z"}))
    (old / "config.json").write_text(
        json.dumps({"run": {"preset": "tutorial"}, "data": {"dataset": "movielens-100k"}})
    )
    (old / "metrics.json").write_text(json.dumps({"recall@10": 0.1}))
    (tmp_path / "not-a-run").mkdir()
    (tmp_path / ".hidden").mkdir()
    runs = list_runs(tmp_path)
    assert [r.name for r in runs] == ["old", "new"]
    assert (runs[0].has_manifest, runs[0].preset, runs[0].data) == (
        False,
        "tutorial",
        "movielens-100k",
    )
    assert runs[1].data == "events.parquet" and runs[1].metrics["rmse"] == 0.9
    assert runs[1].train_seconds == 3.0
    png = plot_runs(runs, tmp_path / "plot.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_missing_folder_and_bad_manifest(tmp_path):
    with pytest.raises(JointrecError, match="runs folder .* does not exist"):
        list_runs(tmp_path / "nope")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad/manifest.toml").write_text("name = \n")
    with pytest.raises(JointrecError, match="manifest.toml is not valid TOML"):
        list_runs(tmp_path)
    with pytest.raises(JointrecError, match="no runs to plot"):
        plot_runs([], tmp_path / "x.png")
