"""JAX's persistent compilation cache, on by default, so a second process skips compiling.

Compiling the training runner takes seconds (more on a busy machine); JAX can keep compiled
executables on disk, keyed by the program, the compile options and the JAX version, and load
them in later processes. jointrec turns this on for its JAX code paths the first time one of
them compiles, in ``$JOINTREC_COMPILE_CACHE`` (default: ``<cache_dir()>/xla``); set it to
``0`` (or ``off``) to disable it. A cache directory configured through JAX itself wins.

Example:
    >>> enable_compilation_cache()  # doctest: +SKIP
    PosixPath('/home/me/.cache/jointrec/xla')
"""

from __future__ import annotations

import os
from pathlib import Path

#: Programs that compile faster than this get no disk entry (JAX's own
#: ``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS`` wins when set). 0: every program, because
#: building a model compiles dozens of small ones (initializers, copies, casts) that cost
#: ~2 s together on the 2-core development machine and load from disk in a fraction of it.
MIN_COMPILE_SECONDS = 0.0
_OFF = {"0", "off", "false", "no"}


def enable_compilation_cache() -> Path | None:
    """Points JAX's persistent compilation cache at jointrec's cache folder (once).

    Returns:
        The cache folder in use, or ``None`` when disabled.
    """
    import jax

    setting = os.environ.get("JOINTREC_COMPILE_CACHE", "").strip()
    if setting.lower() in _OFF:
        return None
    # jax registers its options on Config at run time (setattr), so its inline types lack them.
    current = jax.config.jax_compilation_cache_dir  # type: ignore[attr-defined]
    if current:
        return Path(current)
    from jointrec.data.sources import cache_dir

    folder = Path(setting).expanduser() if setting else cache_dir() / "xla"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # read-only home and the like: compile every time, as without a cache
    jax.config.update("jax_compilation_cache_dir", str(folder))
    if "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS" not in os.environ:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return folder
