"""Helpers shared by the benchmark scripts: data paths, FLOP counts, timing, JSON output."""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(HERE))
os.environ.setdefault("KERAS_BACKEND", "jax")
if "JOINTREC_COMPILE_CACHE" not in os.environ:
    # Benchmarks start from an empty persistent compilation cache, so first-epoch figures
    # include compiling (compare_wall measures the warm cache separately).
    import atexit
    import shutil
    import tempfile

    _cache = tempfile.mkdtemp(prefix="jointrec-bench-xla-")
    os.environ["JOINTREC_COMPILE_CACHE"] = _cache
    atexit.register(shutil.rmtree, _cache, True)


def ml100k_path() -> str:
    """The MovieLens 100k zip: ``$JOINTREC_ML100K`` or ``../shared/data/movielens``."""
    path = Path(
        os.environ.get("JOINTREC_ML100K", ROOT.parent / "shared/data/movielens/ml-100k.zip")
    )
    if not path.exists():
        raise SystemExit(f"MovieLens 100k zip not found at {path}: set JOINTREC_ML100K")
    return str(path)


_TINY: list[str] = []


def data_path(quick: bool) -> str:
    """MovieLens 100k, or for ``quick`` runs a tiny zip of the same layout (200 users x 100
    movies, 10k ratings) written once per process, so smoke runs need no real data."""
    if not quick:
        return ml100k_path()
    if not _TINY:
        import tempfile

        from jointrec.testing import write_tiny_ml100k

        folder = Path(tempfile.mkdtemp(prefix="jointrec-bench-"))
        _TINY.append(str(write_tiny_ml100k(folder / "ml-100k.zip", users=200, items=100)))
    return _TINY[0]


def flops_per_example(embedding_dim: int, layer_sizes: tuple[int, ...], batch_size: int) -> int:
    """Matmul FLOPs of one training example, forward and backward (3x forward).

    Forward: the rating MLP on ``[u, v]`` (``2 * sum(fan_in * fan_out)``) plus the example's
    row of the in-batch score matrix (``2 * batch * dim``). Backward costs two matmuls per
    forward matmul (gradients of both operands), so the total is three times the forward.

    Example:
        >>> flops_per_example(32, (256, 128), 1000)  # the tutorial: ~0.49 MFLOP
        487680
    """
    widths = [2 * embedding_dim, *layer_sizes, 1]
    mlp = sum(2 * a * b for a, b in itertools.pairwise(widths))
    retrieval = 2 * batch_size * embedding_dim
    return 3 * (mlp + retrieval)


def distinct_flops_per_example(
    embedding_dim: int,
    layer_sizes: tuple[int, ...],
    batch_size: int,
    user_slots: int,
    item_slots: int,
) -> float:
    """Matmul FLOPs per example that the distinct-id step executes (3x forward).

    The score matrix is ``user_slots x item_slots`` (distinct ids, padded); the rating MLP
    and each row's positive score run per row.

    Example:
        >>> round(distinct_flops_per_example(32, (256, 128), 1000, 576, 640))
        366651
    """
    widths = [2 * embedding_dim, *layer_sizes, 1]
    mlp = batch_size * sum(2 * a * b for a, b in itertools.pairwise(widths))
    scores = 2 * user_slots * item_slots * embedding_dim
    positives = 2 * batch_size * embedding_dim
    return 3 * (scores + mlp + positives) / batch_size


def steady(seconds: list[float]) -> float:
    """Steady-state epoch time: the median of all epochs but the first (which compiles)."""
    return statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]


class EpochClock:
    """Wall and CPU seconds per epoch, read at each epoch end."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.start()

    def start(self) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def lap(self) -> None:
        self.wall.append(time.perf_counter() - self._wall)
        self.cpu.append(time.process_time() - self._cpu)
        self.start()


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(fn(), wall seconds)``."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def write_result(name: str, result: dict[str, Any], out: Path = RESULTS) -> Path:
    """Writes ``out/<name>.json``."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    path.write_text(json.dumps(result, indent=2, default=float) + "\n")
    return path


def header(name: str, quick: bool) -> dict[str, Any]:
    """The fields a benchmark's JSON starts with: its name, quick mode and the machine (read
    now, so the load average and date are those of this call).

    Example:
        >>> list(header("eval_throughput", quick=True))
        ['benchmark', 'quick', 'machine']
    """
    from machine import machine_info

    return {"benchmark": name, "quick": quick, "machine": machine_info()}


def quick_main(
    name: str, run: Callable[[bool], dict[str, Any]], description: str, quick_help: str
) -> None:
    """Command line of a benchmark whose one option is ``--quick``: runs ``run(quick)``,
    writes ``results/<name>.json`` (``<name>_quick.json`` for quick runs) and prints it.

    Args:
        name: The benchmark's name, the JSON file's stem.
        run: The benchmark, given whether this is a quick run.
        description: The ``--help`` description.
        quick_help: The ``--help`` text of ``--quick``.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick_help)
    args = parser.parse_args()
    path = write_result(name + ("_quick" if args.quick else ""), run(args.quick))
    print(path.read_text())
