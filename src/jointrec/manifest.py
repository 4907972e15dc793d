"""Run manifests (``manifest.toml``) and the list of past runs.

A manifest is the experiment file of a run as resolved (every setting, absolute data paths,
the rating scale and feature kinds in use) plus a ``[provenance]`` table: when and how the
run was made, the SHA-256 of each data file, library versions, the seed, data sizes and the
test metrics. ``jointrec train --config runs/X/manifest.toml`` repeats the run (and warns
when a data file changed since).

Example:
    >>> runs = list_runs("runs")  # doctest: +SKIP
    >>> runs[0].metrics["recall@10"]  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jointrec.errors import JointrecError

MANIFEST = "manifest.toml"
HEADER = (
    "# jointrec run manifest: the settings as resolved, and how the run was made.\n"
    "# Repeat the run with: jointrec train --config {path}\n\n"
)
LIBRARIES = ("jointrec", "keras", "keras-rs", "jax", "jaxlib", "numpy", "pyarrow")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """``"sha256:<hex>"`` of a file, read in 1 MiB blocks.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "x"
        >>> _ = p.write_bytes(b"abc")
        >>> file_sha256(p)[:15]
        'sha256:ba7816bf'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


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


@dataclass(frozen=True)
class RunSummary:
    """One past run as `list_runs` sees it."""

    path: Path
    name: str
    created: str
    data: str
    preset: str
    metrics: dict[str, float] = field(default_factory=dict)
    train_seconds: float | None = None
    has_manifest: bool = True

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "path": str(self.path),
            "name": self.name,
            "created": self.created,
            "data": self.data,
            "preset": self.preset,
            "metrics": self.metrics,
            "train_seconds": self.train_seconds,
            "has_manifest": self.has_manifest,
        }


def read_summary(run_dir: str | os.PathLike[str]) -> RunSummary | None:
    """The summary of a run directory; ``None`` when it holds no run."""
    root = Path(run_dir)
    manifest = root / MANIFEST
    if manifest.is_file():
        from jointrec.experiment import tomllib

        try:
            data = tomllib.loads(manifest.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
            raise JointrecError(f"{manifest} is not valid TOML ({err}): remove the run") from None
        prov = data.get("provenance", {})
        source = data.get("data", {})
        described = source.get("interactions")
        if described in (None, "none"):
            described = f"movielens-{source.get('dataset', '?')}"
        return RunSummary(
            path=root,
            name=str(data.get("name", root.name)),
            created=str(prov.get("created", "")),
            data=Path(str(described)).name,
            preset=str(data.get("preset", "")),
            metrics=dict(prov.get("metrics", {})),
            train_seconds=prov.get("train_seconds"),
        )
    metrics, config = root / "metrics.json", root / "config.json"
    if metrics.is_file() and config.is_file():  # an artifact written before manifests
        try:
            info = json.loads(config.read_text(encoding="utf-8"))
            created = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
            values = json.loads(metrics.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return RunSummary(
            path=root,
            name=root.name,
            created=str(created.get("created", "")),
            data=str(info.get("data", {}).get("dataset", "")),
            preset=str(info.get("run", {}).get("preset", "")),
            metrics={k: float(v) for k, v in values.items()},
            has_manifest=False,
        )
    return None


def list_runs(root: str | os.PathLike[str] = "runs") -> list[RunSummary]:
    """Runs in the sub-directories of ``root`` (and ``root`` itself), oldest first.

    Raises:
        JointrecError: when ``root`` is not a directory.
    """
    base = Path(root).expanduser()
    if not base.is_dir():
        raise JointrecError(
            f"runs folder {str(root)!r} does not exist: expected a directory of run "
            "directories written by 'jointrec train' (pass it as the argument)"
        )
    summaries = []
    for path in [base, *sorted(p for p in base.iterdir() if p.is_dir())]:
        if path.name.startswith("."):
            continue
        summary = read_summary(path)
        if summary is not None:
            summaries.append(summary)
    return sorted(summaries, key=lambda s: (s.created, str(s.path)))


def python_command(argv: list[str] | None = None) -> str:
    """The command line of this process, as ``jointrec ...`` when run through the CLI."""
    import shlex

    args = list(sys.argv if argv is None else argv)
    if not args:
        return "jointrec"
    first = args[0].replace("\\", "/")
    ours = first.rsplit("/", 1)[-1] == "jointrec" or first.endswith("jointrec/__main__.py")
    return shlex.join(["jointrec" if ours else first.rsplit("/", 1)[-1], *args[1:]])
