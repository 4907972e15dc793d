"""Run manifests (``manifest.toml``): what a run was, so that it can be repeated.

A manifest is the experiment file of a run as resolved (every setting, absolute data paths,
the rating scale and feature kinds in use) plus a ``[provenance]`` table: when and how the
run was made, the SHA-256 of each data file, library versions, the seed, data sizes and the
test metrics. ``jointrec train --config runs/X/manifest.toml`` repeats the run (and warns
when a data file changed since).

Example:
    >>> text = HEADER.format(path="runs/x/manifest.toml")
    >>> text.splitlines()[1]
    '# Repeat the run with: jointrec train --config runs/x/manifest.toml'
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from jointrec.files import file_sha256

MANIFEST = "manifest.toml"
HEADER = (
    "# jointrec run manifest: the settings as resolved, and how the run was made.\n"
    "# Repeat the run with: jointrec train --config {path}\n\n"
)
LIBRARIES = ("jointrec", "keras", "keras-rs", "jax", "jaxlib", "numpy", "pyarrow")


def data_hashes(files: list[str]) -> dict[str, str]:
    """Path -> SHA-256 of each existing data file."""
    return {path: file_sha256(path) for path in files if Path(path).is_file()}


def changed_files(provenance: Mapping[str, Any], hashes: Mapping[str, str]) -> list[str]:
    """Warnings for data files whose hash differs from the one a manifest recorded."""
    recorded = provenance.get("data_hashes", {})
    return [
        f"data file {path} changed since the manifest was written "
        f"({recorded[path][:19]}... then, {hashes.get(path, 'missing')[:19]}... now): "
        "the metrics will differ"
        for path in recorded
        if hashes.get(path) != recorded[path]
    ]


def library_versions() -> dict[str, str]:
    """Python and the versions of the libraries a run depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            continue
    return out


def build_manifest(
    settings: Mapping[str, Any],
    *,
    hashes: Mapping[str, str],
    metrics: Mapping[str, float],
    data_info: Mapping[str, Any],
    seed: int,
    run_dir: str | os.PathLike[str],
    command: str | None = None,
    train_seconds: float | None = None,
) -> dict[str, Any]:
    """The manifest: ``settings`` (an `Experiment.to_dict`) plus ``[provenance]``."""
    provenance: dict[str, Any] = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "run_dir": str(Path(run_dir).expanduser().resolve()),
        "seed": seed,
        "versions": library_versions(),
        "platform": f"{platform.system()} {platform.machine()}",
        "backend": os.environ.get("KERAS_BACKEND", "jax"),
        "data_hashes": dict(hashes),
        "data": {k: v for k, v in data_info.items() if isinstance(v, int | float | str)},
        "metrics": {k: float(v) for k, v in metrics.items()},
    }
    if command is not None:
        provenance["command"] = command
    if train_seconds is not None:
        provenance["train_seconds"] = round(float(train_seconds), 3)
    return {**settings, "provenance": provenance}


def write_manifest(
    path: str | os.PathLike[str],
    manifest: Mapping[str, Any],
    shown_path: str | os.PathLike[str] | None = None,
) -> Path:
    """Writes ``manifest`` as TOML (atomically: a temporary file, then a rename).

    Args:
        path: File to write.
        manifest: `build_manifest` output.
        shown_path: Where the file will end up, for the header comment (default ``path``).
    """
    import tomli_w

    target = Path(path)
    header = HEADER.format(path=shown_path if shown_path is not None else target)
    text = header + tomli_w.dumps(_plain(manifest))
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, target)
    return target


def _plain(value: Any) -> Any:
    """TOML-ready data: tuples as lists, NumPy scalars as Python numbers, no ``None``."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


def python_command(argv: list[str] | None = None) -> str:
    """The command line of this process, as ``jointrec ...`` when run through the CLI."""
    import shlex

    args = list(sys.argv if argv is None else argv)
    if not args:
        return "jointrec"
    first = args[0].replace("\\", "/")
    ours = first.rsplit("/", 1)[-1] == "jointrec" or first.endswith("jointrec/__main__.py")
    return shlex.join(["jointrec" if ours else first.rsplit("/", 1)[-1], *args[1:]])
