"""One self-contained artifact directory per trained model, written atomically.

Layout (all JSON or NumPy ``.npz`` without pickles, plus the Keras model file)::

    manifest.json   format name and version, library versions, creation time
    config.json     the resolved `RunConfig` and where the data came from
    model.keras     the Keras model (weights + architecture), loaded in safe mode
    exported.npz    the NumPy arrays used for scoring and serving (`ExportedModel`)
    vocab.json      user and item vocabularies
    items.json      item titles, years and genres
    seen.npz        each user's training items and ratings (CSR)
    metrics.json    the evaluation report
    history.json    per-epoch training losses

Example:
    >>> art = load_artifact("runs/joint")  # doctest: +SKIP
    >>> art.metrics["recall@10"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.config import RunConfig
from jointrec.data.interactions import FeatureTable
from jointrec.data.vocabulary import Vocabulary
from jointrec.errors import JointrecError
from jointrec.exported import ExportedModel
from jointrec.retrieval.seen import SeenItems

FORMAT = "jointrec-artifact"
FORMAT_VERSION = 1
REQUIRED = (
    "manifest.json",
    "config.json",
    "exported.npz",
    "vocab.json",
    "items.json",
    "seen.npz",
    "metrics.json",
)


@dataclass
class Artifact:
    """A loaded artifact. The Keras model is loaded only on demand (`keras_model`)."""

    path: Path
    manifest: dict[str, Any]
    config: RunConfig
    data_info: dict[str, Any]
    exported: ExportedModel
    users: Vocabulary
    items: Vocabulary
    item_table: list[dict[str, Any]]
    seen: SeenItems
    metrics: dict[str, Any]
    history: dict[str, Any] = field(default_factory=dict)

    def keras_model(self) -> Any:
        """Loads ``model.keras`` (safe mode: no arbitrary code)."""
        import keras

        import jointrec.model  # noqa: F401  (registers the custom classes)

        path = self.path / "model.keras"
        if not path.is_file():
            raise JointrecError(
                f"{self.path} has no model.keras: it was saved without the "
                "Keras model; retrain to get one"
            )
        return keras.saving.load_model(path, safe_mode=True)

    def title(self, item_index: int) -> str:
        """Title of an item index ('' when unknown)."""
        if 1 <= item_index <= len(self.item_table):
            return str(self.item_table[item_index - 1].get("title", ""))
        return ""


def item_records(items: Vocabulary, table: FeatureTable | None) -> list[dict[str, Any]]:
    """One record per item index ``1..n``: id, title, year and genre names."""
    ids = items.ids
    records: list[dict[str, Any]] = [{"id": _json_id(i)} for i in ids]
    if table is None:
        return records
    names = list(table.metadata.get("genres", []))
    pos = {(_json_id(i)): j for j, i in enumerate(table.ids)}
    titles = table.columns.get("title")
    years = table.columns.get("year")
    genres = table.columns.get("genres")
    for record in records:
        j = pos.get(record["id"])
        if j is None:
            continue
        if titles is not None and titles[j] is not None:
            record["title"] = str(titles[j])
        year = None if years is None else _year(years[j])
        if year is not None and year > 0:
            record["year"] = year
        if genres is not None and names:
            record["genres"] = [names[g] for g in np.flatnonzero(genres[j])]
    return records


def _year(value: Any) -> int | None:
    """A year as an int; ``None`` when missing or not a number (own item tables)."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _json_id(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def save_artifact(
    path: str | os.PathLike[str],
    *,
    config: RunConfig,
    exported: ExportedModel,
    users: Vocabulary,
    items: Vocabulary,
    item_table: list[dict[str, Any]],
    seen: SeenItems,
    metrics: dict[str, Any],
    history: dict[str, Any] | None = None,
    data_info: dict[str, Any] | None = None,
    keras_model: Any = None,
    overwrite: bool = False,
    extra_files: dict[str, Callable[[Path], None]] | None = None,
) -> Path:
    """Writes an artifact directory atomically: all files or none.

    The files are written into a temporary sibling directory, flushed to disk, then renamed
    into place; an existing directory is replaced only with ``overwrite=True`` and only once
    the new one is complete.

    Args:
        path: Target directory.
        config: The run's settings.
        exported: The NumPy model.
        users: User vocabulary.
        items: Item vocabulary.
        item_table: One record per item index (see `item_records`).
        seen: Training items (and ratings) per user.
        metrics: Evaluation report.
        history: Training history.
        data_info: Where the data came from.
        keras_model: The Keras model, saved as ``model.keras`` when given.
        overwrite: Replace an existing directory.
        extra_files: File name -> writer, for additional content (plots, indexes).
    """
    target = Path(path).expanduser()
    if target.exists() and not overwrite:
        raise JointrecError(
            f"{target} already exists: pass --overwrite to replace it or choose another --out"
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        _write_json(tmp / "manifest.json", _manifest())
        _write_json(tmp / "config.json", {"run": config.to_dict(), "data": data_info or {}})
        exported.save(tmp / "exported.npz")
        _write_json(tmp / "vocab.json", {"users": users.to_json(), "items": items.to_json()})
        _write_json(tmp / "items.json", item_table)
        seen_arrays = {"indptr": seen.indptr, "indices": seen.indices}
        if seen.values is not None:
            seen_arrays["values"] = seen.values
        with open(tmp / "seen.npz", "wb") as f:
            np.savez(f, **seen_arrays)
        _write_json(tmp / "metrics.json", metrics)
        _write_json(tmp / "history.json", history or {})
        if keras_model is not None:
            keras_model.save(tmp / "model.keras")
        for name, writer in (extra_files or {}).items():
            writer(tmp / name)
        _fsync_tree(tmp)
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.replace(target, old)
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def load_artifact(path: str | os.PathLike[str]) -> Artifact:
    """Loads an artifact, with a clear error when it is missing, partial, corrupt or too new."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise JointrecError(
            f"artifact {str(root)!r} does not exist: expected a directory "
            "written by 'jointrec train'"
        )
    missing = [name for name in REQUIRED if not (root / name).is_file()]
    if missing:
        raise JointrecError(
            f"artifact {root} is incomplete: missing {', '.join(missing)}; "
            "retrain it with 'jointrec train'"
        )
    manifest = _read_json(root / "manifest.json")
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise JointrecError(f"{root}/manifest.json does not describe a {FORMAT}")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise JointrecError(
            f"artifact {root} has format version {version!r}; this jointrec "
            f"reads versions <= {FORMAT_VERSION}: upgrade jointrec"
        )
    config_data = _read_json(root / "config.json")
    vocab = _read_json(root / "vocab.json")
    try:
        config = RunConfig.from_dict(config_data["run"])
        users = Vocabulary.from_json(vocab["users"])
        items = Vocabulary.from_json(vocab["items"])
        with np.load(root / "seen.npz", allow_pickle=False) as data:
            seen = SeenItems.from_arrays(
                data["indptr"], data["indices"], data["values"] if "values" in data.files else None
            )
    except (KeyError, TypeError, ValueError, OSError) as err:
        raise JointrecError(f"artifact {root} is corrupt ({err!r}): retrain it") from None
    history_path = root / "history.json"
    return Artifact(
        path=root,
        manifest=manifest,
        config=config,
        data_info=dict(config_data.get("data", {})),
        exported=ExportedModel.load(root / "exported.npz"),
        users=users,
        items=items,
        item_table=list(_read_json(root / "items.json")),
        seen=seen,
        metrics=dict(_read_json(root / "metrics.json")),
        history=dict(_read_json(history_path)) if history_path.is_file() else {},
    )


def _manifest() -> dict[str, Any]:
    from importlib.metadata import PackageNotFoundError, version

    def v(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "versions": {name: v(name) for name in ("jointrec", "keras", "keras-rs", "jax", "numpy")},
        "backend": os.environ.get("KERAS_BACKEND", "jax"),
    }


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, default=_json_id)
        f.flush()
        os.fsync(f.fileno())


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise JointrecError(f"{path} is corrupt ({err}): retrain the artifact") from None


def _fsync_tree(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as f:
                os.fsync(f.fileno())
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
