"""Every command that trains takes your own data and an experiment file, as ``train`` does:
``compare`` and ``sweep`` on a small generated shop (in-process CLI)."""

from __future__ import annotations

import csv
import json

import pytest
from typer.testing import CliRunner

from jointrec.cli.app import app
from jointrec.testing import write_shop

QUICK = ["--epochs", "2", "--batch-size", "64", "--quiet", "--json"]


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.fixture
def shop(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return write_shop(tmp_path / "data", users=40, items=20, per_user=6)


@pytest.mark.slow
def test_compare_runs_on_your_own_csv(shop):
    result = invoke(
        "compare",
        "--interactions",
        str(shop["events"]),
        "--user-col",
        "user",
        "--item-col",
        "item",
        "--rating-col",
        "stars",
        "--baselines",
        *QUICK,
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    names = [m["name"] for m in out["models"]]
    assert names[:3] == ["rating-specialised", "retrieval-specialised", "multi-task"]
    assert {"popularity", "biased-mf", "ease"} <= set(names)
    assert out["data"]["dataset"] == "events.csv"
    assert out["config"]["train"]["epochs"] == 2
    joint = out["models"][2]["metrics"]
    assert 0 <= joint["recall@10"] <= 1 and joint["rmse"] > 0


@pytest.mark.slow
def test_compare_over_seeds_gives_spread_paired_intervals_json_and_plot(shop, tmp_path):
    data = ["--interactions", str(shop["events"]), "--user-col", "user", "--item-col", "item"]
    result = invoke(
        "compare", *data, "--rating-col", "stars", "--seeds", "3,4,5", "--out", "cmp", *QUICK
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["seeds"] == [3, 4, 5] and len(out["runs"]) == 3
    assert [run["config"]["split"]["seed"] for run in out["runs"]] == [3, 4, 5]
    joint = out["models"]["multi-task"]["rmse"]
    values = [run["models"][2]["metrics"]["rmse"] for run in out["runs"]]
    assert joint["values"] == values and joint["mean"] == pytest.approx(sum(values) / 3)
    for metric in ("rmse", "recall@10", "ndcg@10"):
        d = out["joint_vs_best_other"][metric]
        assert d["other"] != "multi-task" and d["n"] == 3 and d["low"] <= d["mean"] <= d["high"]
    written = json.loads((tmp_path / "cmp" / "compare_seeds.json").read_text())
    assert written["seeds"] == [3, 4, 5]
    assert (tmp_path / "cmp" / "compare_seeds.png").stat().st_size > 10_000


@pytest.mark.parametrize("seeds", ["42,x", "42,42", "-1", ""])
def test_compare_refuses_bad_seeds_in_one_line(shop, seeds):
    result = invoke("compare", "--interactions", str(shop["events"]), "--seeds", seeds, *QUICK)
    assert result.exit_code != 0
    assert result.output.count("error:") == 1 and "Traceback" not in result.output
    assert "--seeds" in result.output


@pytest.mark.slow
def test_compare_without_ratings_leaves_out_the_rating_specialist(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    files = write_shop(tmp_path, users=30, items=16, per_user=6, ratings=False)
    result = invoke("compare", "--interactions", str(files["events"]), *QUICK)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [m["name"] for m in out["models"]] == ["retrieval-specialised", "multi-task"]
    assert "rmse" not in out["models"][1]["metrics"]


@pytest.mark.slow
def test_sweep_takes_an_experiment_file(shop, tmp_path):
    (tmp_path / "exp.toml").write_text(
        'name = "shop"\n[data]\ninteractions = "data/events.csv"\nrating_col = "stars"\n'
        "[train]\nbatch_size = 64\n[model.towers]\nembedding_dim = 8\n"
    )
    result = invoke("sweep", "--config", "exp.toml", "--ratios", "1:0,1:10", "--out", "sw", *QUICK)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["split"] == "validation"
    assert [p["ratio"] for p in out["points"]] == ["1:0", "1:10", "1:20"]  # + the default
    assert out["config"]["model"]["towers"]["embedding_dim"] == 8
    assert (tmp_path / "sw" / "sweep.json").is_file() and (tmp_path / "sw" / "sweep.png").is_file()


def test_evaluate_takes_the_data_options(shop):
    trained = invoke(
        "train",
        "--interactions",
        str(shop["events"]),
        "--rating-col",
        "stars",
        "--out",
        "r",
        *QUICK,
    )
    assert trained.exit_code == 0, trained.output
    metrics = json.loads(trained.stdout)["metrics"]
    again = invoke("evaluate", "r", "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == pytest.approx(metrics)
    moved = shop["events"].rename(shop["events"].with_name("moved.csv"))
    lost = invoke("evaluate", "r", "--json")
    assert lost.exit_code == 1 and "does not exist" in lost.stderr
    found = invoke("evaluate", "r", "--interactions", str(moved), "--rating-col", "stars", "--json")
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout) == pytest.approx(metrics)


@pytest.mark.slow
def test_compare_on_a_time_cut_counts_the_users_only_the_test_period_has(shop, tmp_path):
    """``--split temporal`` from the CLI, baselines included; users who arrive after the cut
    (no training rows, no user table) are scored by the popularity fallback and counted."""
    with open(shop["events"], newline="") as f:
        rows = list(csv.DictReader(f))
    last = max(int(r["time"]) for r in rows)
    items = sorted({r["item"] for r in rows})
    newcomers = [  # 12 users, 5 distinct items each, all after everyone else
        {"user": f"n{k:02d}", "item": items[(k + 4 * m) % len(items)],
         "stars": 2 if m == 0 else 5, "time": last + 3600 * (1 + 5 * k + m)}
        for k in range(12) for m in range(5)
    ]  # fmt: skip
    path = tmp_path / "events_with_newcomers.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, *newcomers])
    flags = ["--user-col", "user", "--item-col", "item", "--rating-col", "stars"]
    result = invoke(
        "compare", "--interactions", str(path), *flags, "--time-col", "time",
        "--split", "temporal", "--test-fraction", "0.25", "--baselines", *QUICK,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["config"]["split"]["method"] == "temporal"
    for model in out["models"]:
        metrics = model["metrics"]
        if "recall@10" not in metrics:
            continue
        assert metrics["users_evaluated"] == metrics["known_users_evaluated"] + 12, model["name"]
        assert 0 <= metrics["recall@10_known"] <= 1
