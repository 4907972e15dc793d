"""End-to-end wall time of ``jointrec compare`` (3 models x 5 epochs + evaluation) against the
tutorial's own experiment (the same three models with Keras ``fit`` + ``evaluate``), each run
as a fresh process, one after the other.

Run: ``python benchmarks/compare_wall.py [--quick]`` (writes results/compare_wall.json).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import Any

from common import HERE, ROOT, data_path, write_result


def _wall(args: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), KERAS_BACKEND="jax")
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return seconds


def run(quick: bool = False) -> dict[str, Any]:
    from machine import machine_info
    from reference_tutorial import pipeline_kind

    path = data_path(quick)
    epochs = "1" if quick else "5"
    python = sys.executable
    reference = _wall(
        [python, str(HERE / "reference_tutorial.py"), "--data", path, "--epochs", epochs]
    )
    result: dict[str, Any] = {
        "benchmark": "compare_wall",
        "quick": quick,
        "machine": machine_info(),
        "epochs": int(epochs),
        "reference": {"pipeline": pipeline_kind(), "wall_seconds": reference},
    }
    for name in ("tutorial",) if quick else ("tutorial", "default"):
        seconds = _wall(
            [python, "-m", "jointrec", "compare", "--preset", name, "--data", path,
             "--epochs", epochs, "--quiet", "--json"]
        )  # fmt: skip
        result[f"jointrec_{name}"] = {
            "wall_seconds": seconds,
            "speedup_vs_reference": reference / seconds,
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one epoch per model")
    args = parser.parse_args()
    path = write_result("compare_wall" + ("_quick" if args.quick else ""), run(args.quick))
    print(path.read_text())


if __name__ == "__main__":
    main()
