"""End-to-end wall time of ``jointrec compare`` (3 models x 5 epochs + evaluation) against the
tutorial's own experiment (the same three models with Keras ``fit`` + ``evaluate``), each run
as a fresh process, one after the other. jointrec runs twice: with an empty persistent
compilation cache (cold, the headline figure) and again with it filled (warm).

Run: ``python benchmarks/compare_wall.py [--quick]`` (writes results/compare_wall.json).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from typing import Any

from common import HERE, ROOT, data_path, header, quick_main


def _wall(args: list[str], **env_extra: str) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), KERAS_BACKEND="jax", **env_extra)
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return seconds


def run(quick: bool = False) -> dict[str, Any]:
    from reference_tutorial import pipeline_kind

    path = data_path(quick)
    epochs = "1" if quick else "5"
    python = sys.executable
    reference = _wall(
        [python, str(HERE / "reference_tutorial.py"), "--data", path, "--epochs", epochs]
    )
    result: dict[str, Any] = {
        **header("compare_wall", quick),
        "epochs": int(epochs),
        "reference": {"pipeline": pipeline_kind(), "wall_seconds": reference},
    }
    for name in ("tutorial",) if quick else ("tutorial", "default"):
        command = [python, "-m", "jointrec", "compare", "--preset", name, "--data", path,
                   "--epochs", epochs, "--quiet", "--json"]  # fmt: skip
        # Cold: an empty persistent compilation cache, as on a first run. Warm: the same
        # command again, loading the compiled runners from that cache.
        with tempfile.TemporaryDirectory(prefix="jointrec-xla-") as cache:
            cold = _wall(command, JOINTREC_COMPILE_CACHE=cache)
            warm = None if quick else _wall(command, JOINTREC_COMPILE_CACHE=cache)
        result[f"jointrec_{name}"] = {
            "wall_seconds": cold,
            "speedup_vs_reference": reference / cold,
            "warm_cache_wall_seconds": warm,
            "warm_cache_speedup_vs_reference": None if warm is None else reference / warm,
        }
    return result


def main() -> None:
    quick_main("compare_wall", run, __doc__.splitlines()[0], "one epoch per model")


if __name__ == "__main__":
    main()
