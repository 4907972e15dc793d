"""Backend selection: JAX unless the user already chose another Keras backend.

Import this module before anything imports ``keras``. It never imports Keras itself, so
``import jointrec`` stays cheap.
"""

from __future__ import annotations

import os

DEFAULT_BACKEND = "jax"


def ensure_backend() -> str:
    """Sets ``KERAS_BACKEND`` to JAX when unset and returns the backend in force.

    Example:
        >>> ensure_backend() in {"jax", "tensorflow", "torch", "numpy"}
        True
    """
    return os.environ.setdefault("KERAS_BACKEND", DEFAULT_BACKEND)


ensure_backend()
