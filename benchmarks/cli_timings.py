"""Wall time of the CLI as a user runs it: `jointrec compare` (3 models x 5 epochs + evaluation)
for both presets, and `jointrec recommend` including interpreter start-up.

Usage:
    python benchmarks/cli_timings.py --data ../shared/data/movielens/ml-100k.zip
Writes benchmarks/results/cli_timings.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import machine_info

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="MovieLens 100k zip or folder")
    parser.add_argument("--repeats", type=int, default=5, help="recommend calls to time")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "cli_timings.json")
    args = parser.parse_args()
    cli = [sys.executable, "-m", "jointrec"]
    results: dict[str, object] = {"machine": machine_info()}
    for name in ("default", "tutorial"):
        results[f"compare_{name}_seconds"] = timed(
            [*cli, "compare", "--preset", name, "--data", args.data, "--quiet"]
        )
    with tempfile.TemporaryDirectory() as tmp:
        artifact = Path(tmp) / "joint"
        subprocess.run(
            [*cli, "train", "--data", args.data, "--out", str(artifact), "--quiet"],
            check=True,
            capture_output=True,
        )
        runs = [
            timed([*cli, "recommend", str(artifact), "--user", "5", "-k", "10"])
            for _ in range(args.repeats)
        ]
    results["recommend_seconds"] = {
        "median": statistics.median(runs),
        "max": max(runs),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
