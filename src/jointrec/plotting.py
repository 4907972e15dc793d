"""Matplotlib for the PNGs jointrec writes: the file-only Agg backend, and saving a figure.

Example:
    >>> import tempfile, pathlib
    >>> plt = pyplot()
    >>> fig, ax = plt.subplots()
    >>> save_figure(fig, pathlib.Path(tempfile.mkdtemp()) / "a" / "x.png").name
    'x.png'
"""

from __future__ import annotations

import os
from pathlib import Path
from types import ModuleType
from typing import Any


def pyplot() -> ModuleType:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (imported on first use, so
    commands that draw nothing never load matplotlib)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | os.PathLike[str], dpi: int = 110) -> Path:
    """Lays ``fig`` out tightly, writes it to ``path`` (creating its folder) and closes it.

    Args:
        fig: A matplotlib ``Figure``.
        path: Where the image goes; its suffix names the format.
        dpi: Resolution in dots per inch.

    Returns:
        ``path`` as a `Path`.
    """
    import matplotlib.pyplot as plt

    fig.tight_layout()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out
