"""What machine a benchmark ran on, and its measured matmul FLOP/s (the arithmetic limit).

Example:
    >>> info = machine_info()  # doctest: +SKIP
    >>> info["cpu"], info["cores"]  # doctest: +SKIP
"""

from __future__ import annotations

import datetime
import os
import platform
import resource
import time
from typing import Any


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or the platform's description)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """CPU model, cores, memory, load, date and library versions."""
    import jax
    import keras
    import numpy as np

    try:
        load = os.getloadavg()
    except OSError:
        load = (float("nan"),) * 3
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kb = 0
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "")
    except OSError:
        pass
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "avx2": " avx2" in flags,
        "avx512f": " avx512f" in flags,
        "memory_gb": round(mem_kb / 2**20, 1),
        "load_average_1_5_15": [round(v, 2) for v in load],
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def matmul_flops(n: int = 1024, repeats: int = 20) -> float:
    """Best sustained float32 FLOP/s of a jitted ``n x n`` JAX matmul on this machine."""
    import jax
    import jax.numpy as jnp

    a = jnp.ones((n, n), jnp.float32) / n
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        f(a).block_until_ready()
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
