"""The benchmark suite: FLOP accounting, and one quick run of every benchmark end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from common import flops_per_example  # noqa: E402


def test_flops_per_example_hand_worked():
    # Tutorial: MLP 64-256-128-1 forward 2*(64*256 + 256*128 + 128*1) = 98,560 FLOPs, the
    # example's row of the 1000 x 1000 x 32 score matrix 2*1000*32 = 64,000; backward is two
    # matmuls per forward matmul, so 3 * 162,560 = 487,680 (the "~0.5 MFLOP").
    assert flops_per_example(32, (256, 128), 1000) == 487_680
    assert flops_per_example(2, (3,), 4) == 3 * (2 * (4 * 3 + 3 * 1) + 2 * 4 * 2)


@pytest.mark.slow
def test_quick_run_writes_every_result_and_the_table(tmp_path):
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / "run.py"), "--quick", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    names = ("train_throughput", "compare_wall", "eval_throughput", "scaling")
    results = {n: json.loads((tmp_path / f"{n}_quick.json").read_text()) for n in names}
    for result in results.values():
        assert result["quick"] is True
        assert result["machine"]["cores"] >= 1 and result["machine"]["cpu"]
    train = results["train_throughput"]
    for key in ("reference", "jointrec_tutorial", "jointrec_default"):
        assert train[key]["examples_per_second"] > 0
    for key in ("reference", "jointrec_tutorial"):  # the tutorial architecture's FLOPs
        assert 0 < train[key]["fraction_of_arithmetic_limit"] < 10
    assert train["jointrec_default"]["fraction_of_arithmetic_limit"] is None  # another model
    assert results["compare_wall"]["jointrec_tutorial"]["wall_seconds"] > 0
    for case in results["eval_throughput"]["cases"]:
        assert {r["ranker"] for r in case["runs"]} == {"numpy", "jax"}
        recalls = {round(r["recall@10"], 12) for r in case["runs"]}
        assert len(recalls) == 1  # both rankers compute the same report
    sizes = results["scaling"]["sizes"]
    assert [r["preset"] for r in sizes] == ["tutorial", "default"]  # both, through the CLI
    for size in sizes:
        assert size["train_examples"] + size["test_examples"] == 20_000
        assert size["peak_rss_mb"] > 0 and size["command_seconds"] > size["epoch_seconds"] > 0
        assert "evaluating joint on test" in {s["description"] for s in size["stages"]}
        q = size["quality_sample"]
        assert q["model_recall@10"] == pytest.approx(size["report"]["recall@10"], abs=1e-9)
    table = (tmp_path / "summary_quick.md").read_text()
    assert "Quick mode" in table and "jointrec, tutorial preset" in table
    assert "quick-20k" in table
