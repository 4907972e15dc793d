"""``jointrec train`` on your own files, run manifests, ``jointrec runs`` (in-process CLI)."""

from __future__ import annotations

import json
import sys

import pytest
from typer.testing import CliRunner

from jointrec.cli.app import app
from jointrec.experiments.manifest import file_sha256
from jointrec.settings.experiment import tomllib
from jointrec.testing import write_shop

QUICK = ["--epochs", "2", "--batch-size", "64", "--quiet"]


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def shop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return write_shop(tmp_path / "data", users=40, items=20, per_user=6)


@pytest.mark.slow
def test_manifest_reproduces_the_run(shop, tmp_path, monkeypatch):
    (tmp_path / "exp.toml").write_text(
        'name = "shop"\n[data]\ninteractions = "data/events.csv"\nrating_col = "stars"\n'
        'time_col = "time"\n[split]\nmethod = "temporal"\n[train]\nbatch_size = 64\n'
    )
    args = ["train", "--config", "exp.toml", "--epochs", "2", "--quiet", "--json"]
    monkeypatch.setattr(sys, "argv", ["/venv/bin/jointrec", *args])  # as the shell runs it
    first = invoke(*args)
    assert first.exit_code == 0, first.output
    out = json.loads(first.stdout)
    assert out["artifact"] == "runs/shop"
    assert [n.split(" inferred")[0] for n in out["notes"]] == ["rating scale 1..5"]
    # Every stage, in order, with its seconds and the peak memory by its end.
    stages = out["stages"]
    assert [s["description"] for s in stages] == [
        "reading the data",
        "splitting and encoding",
        "building features and the model",
        "training joint",
        "exporting joint",
        "evaluating joint on test",
        "writing the run directory",
    ]
    assert all(s["seconds"] >= 0 for s in stages)
    peaks = [s["peak_rss_mb"] for s in stages]
    assert peaks == sorted(peaks) and peaks[0] > 50  # a high-water mark: never falls
    manifest = tomllib.loads((tmp_path / "runs/shop/manifest.toml").read_text())
    # The settings as resolved: the flag's epochs, the file's split, the inferred scale.
    assert manifest["train"]["epochs"] == 2 and manifest["split"]["method"] == "temporal"
    assert manifest["data"]["rating_scale"] == [1.0, 5.0]
    assert manifest["data"]["interactions"] == str(shop["events"].resolve())
    prov = manifest["provenance"]
    assert prov["data_hashes"] == {str(shop["events"].resolve()): file_sha256(shop["events"])}
    assert prov["seed"] == 42
    assert {"python", "jointrec", "keras", "jax", "numpy", "pyarrow"} <= set(prov["versions"])
    assert prov["metrics"] == pytest.approx(out["metrics"])
    assert prov["data"]["train"] + prov["data"]["test"] == 240
    assert prov["command"] == "jointrec " + " ".join(args)
    # Re-running the manifest gives the same metrics, in a new run directory.
    again = invoke("train", "--config", "runs/shop/manifest.toml", "--quiet", "--json")
    assert again.exit_code == 0, again.output
    repeat = json.loads(again.stdout)
    assert repeat["artifact"] == "runs/shop-2"
    assert repeat["metrics"] == pytest.approx(out["metrics"], rel=1e-9, abs=1e-12)
    # `jointrec evaluate` reloads the own data from the run directory.
    evaluated = invoke("evaluate", "runs/shop", "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout) == pytest.approx(out["metrics"])
    # `jointrec runs` lists both runs with their key metrics.
    listed = json.loads(invoke("runs", "--json").stdout)
    assert [r["path"] for r in listed] == ["runs/shop", "runs/shop-2"]
    assert listed[0]["metrics"]["recall@10"] == pytest.approx(out["metrics"]["recall@10"])
    table = invoke("runs", "--plot", "runs.png")
    assert table.exit_code == 0 and "runs/shop-2" in table.stdout and "events.csv" in table.stdout
    assert (tmp_path / "runs.png").read_bytes()[:4] == b"\x89PNG"
    # A changed data file is reported when the manifest is re-run.
    shop["events"].write_text(shop["events"].read_text() + "u000,b00,5,1\n")
    changed = invoke("train", "--config", "runs/shop/manifest.toml", "--quiet", "--json")
    assert changed.exit_code == 0, changed.output
    assert "changed since the manifest was written" in json.loads(changed.stdout)["notes"][0]


@pytest.mark.slow
def test_parquet_without_ratings_trains_retrieval_only_and_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = write_shop(tmp_path, users=40, items=20, per_user=6, fmt="parquet", ratings=False)
    result = invoke("train", "--interactions", str(files["events"]), "--out", "run", *QUICK)
    assert result.exit_code == 0, result.output
    assert "note: no rating column: training retrieval only" in result.stderr
    manifest = tomllib.loads((tmp_path / "run/manifest.toml").read_text())
    assert manifest["model"]["multitask"]["rating_weight"] == 0.0
    assert "rmse" not in manifest["provenance"]["metrics"]
    rec = invoke("recommend", "run", "--user", "u001", "-k", "3", "--json")
    assert rec.exit_code == 0, rec.output
    items = json.loads(rec.stdout)["recommendations"]
    assert len(items) == 3 and all(r["predicted_rating"] is None for r in items)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user-col", "who"], "has no column 'who' (named by --user-col)"),
        (["--rating-col", "item"], "column 'item' holds string"),
        (["--time-col", "user"], "column 'user' holds string"),
        (["--data", "x.zip"], "keep one of them"),
    ],
)
def test_bad_columns_print_one_error_line(shop, args, message):
    result = invoke("train", "--interactions", str(shop["events"]), *args, *QUICK)
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]


def test_runs_on_a_missing_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("runs")
    assert result.exit_code == 1
    assert "error: runs folder 'runs' does not exist" in result.stderr
    (tmp_path / "runs").mkdir()
    assert "no runs in runs" in invoke("runs").stdout


def test_python_command_is_recorded_as_jointrec():
    from jointrec.experiments.manifest import python_command

    assert (
        python_command(["/x/bin/jointrec", "train", "--out", "a b"]) == "jointrec train --out 'a b'"
    )
    assert python_command(["/src/jointrec/__main__.py", "runs"]) == "jointrec runs"
    assert python_command(["/usr/bin/python3", "-c"]) == "python3 -c"


def test_a_csv_with_blank_rating_cells_trains_and_evaluates(tmp_path, monkeypatch):
    import numpy as np

    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    lines = ["u,i,r"]
    for user in range(1, 61):
        for item in rng.choice(np.arange(1, 41), 15, replace=False):
            rated = rng.random() < 0.4
            lines.append(f"{user},{item},{rng.integers(1, 6) if rated else ''}")
    (tmp_path / "mixed.csv").write_text("\n".join(lines) + "\n")
    columns = ["--user-col", "u", "--item-col", "i", "--rating-col", "r"]
    result = invoke("train", "--interactions", "mixed.csv", *columns, "--out", "run", *QUICK)
    assert result.exit_code == 0, result.output
    metrics = tomllib.loads((tmp_path / "run/manifest.toml").read_text())["provenance"]["metrics"]
    assert np.isfinite(metrics["rmse"]) and 0.0 < metrics["rmse"] < 4.0
    assert 0.0 <= metrics["recall@10"] <= 1.0 and metrics["users_evaluated"] > 0
    again = invoke("evaluate", "run", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["rmse"] == pytest.approx(metrics["rmse"], rel=1e-5)
