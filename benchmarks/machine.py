"""Describes the machine a benchmark ran on, for the JSON it writes, and measures its matmul
FLOP/s (the arithmetic limit) and this process's peak memory.

Example:
    >>> info = machine_info()  # doctest: +SKIP
    >>> info["cpu"], info["cores"]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import os
import platform
import resource
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Any


def cpu_model() -> str:
    """CPU model name from /proc/cpuinfo (or the platform string)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> set[str]:
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


def machine_info() -> dict[str, Any]:
    """CPU, cores, vector extensions, memory, load, OS, Python and library versions, and
    the date."""

    def v(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    memory_gb = None
    with contextlib.suppress(ValueError, OSError, AttributeError):
        memory_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    load = None
    with contextlib.suppress(OSError, AttributeError):
        load = [round(x, 2) for x in os.getloadavg()]
    flags = _cpu_flags()
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "avx2": "avx2" in flags,
        "avx512f": "avx512f" in flags,
        "memory_gb": memory_gb,
        "load_average_1_5_15": load,
        "os": platform.platform(),
        "python": platform.python_version(),
        "versions": {n: v(n) for n in ("jointrec", "keras", "keras-rs", "jax", "numpy")},
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
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
