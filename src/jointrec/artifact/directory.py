"""One self-contained artifact directory per trained model, written atomically.

Layout (all JSON or NumPy ``.npz`` without pickles, plus the Keras model file)::

    artifact.json   format name and version, library versions, creation time, and the
                    SHA-256 of every other file (jointrec 0.1 called it manifest.json)
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
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.data.interactions import FeatureTable
from jointrec.data.vocabulary import Vocabulary
from jointrec.errors import JointrecError
from jointrec.files import atomic_directory, load_npz, sha256_hex
from jointrec.scoring.exported import ExportedModel
from jointrec.scoring.seen import SeenItems
from jointrec.settings import RunConfig

FORMAT = "jointrec-artifact"
FORMAT_VERSION = 1
#: The file that says a directory is an artifact, with its format, versions and checksums.
META = "artifact.json"
#: What jointrec 0.1 called it (loaded when ``META`` is absent).
LEGACY_META = "manifest.json"
REQUIRED = (
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
    meta: dict[str, Any]
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

        import jointrec.model  # noqa: F401  (registers every jointrec Keras class)

        path = self.path / "model.keras"
        if not path.is_file():
            raise JointrecError(
                f"{self.path} has no model.keras: it was saved without the "
                "Keras model; retrain to get one"
            )
        try:
            return keras.saving.load_model(path, safe_mode=True)
        except Exception as err:  # Keras raises many types for a bad or unsafe file
            missing = re.search(r"Could not locate class '([^']+)'", str(err))
            if missing:
                raise JointrecError(
                    f"{path} uses the Keras class {missing.group(1)!r}, which is not "
                    "registered in this process: import the module that defines it (e.g. "
                    "your own tower) before loading"
                ) from None
            message = str(err).replace("\n", " ")[:300]
            raise JointrecError(
                f"{path} cannot be loaded in Keras safe mode ({type(err).__name__}: "
                f"{message}): it is corrupt or holds code (e.g. a Lambda layer); retrain it"
            ) from None

    def append_item(self, item_id: Any, record: dict[str, Any]) -> None:
        """Adds an item to the vocabulary and the item table, in memory (the files on disk
        are not changed); its index is the next one."""
        self.items = Vocabulary(np.append(self.items.ids, item_id), name=self.items.name)
        self.item_table.append(record)

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
    with atomic_directory(target, overwrite=overwrite) as tmp:
        _write_json(tmp / "config.json", {"run": config.to_dict(), "data": data_info or {}})
        exported.save(tmp / "exported.npz")
        _write_json(tmp / "vocab.json", {"users": users.to_json(), "items": items.to_json()})
        _write_json(tmp / "items.json", item_table)
        seen_arrays: dict[str, np.ndarray] = {"indptr": seen.indptr, "indices": seen.indices}
        if seen.values is not None:
            seen_arrays["values"] = seen.values
        with open(tmp / "seen.npz", "wb") as f:
            # Named so mypy does not match **arrays against this bool; loads refuse pickles too.
            np.savez(f, allow_pickle=False, **seen_arrays)
        _write_json(tmp / "metrics.json", metrics)
        _write_json(tmp / "history.json", history or {})
        if keras_model is not None:
            keras_model.save(tmp / "model.keras")
        for name, writer in (extra_files or {}).items():
            writer(tmp / name)
        _write_json(tmp / META, _meta(_checksums(tmp)))  # last: it lists the rest
    return target


def load_artifact(path: str | os.PathLike[str]) -> Artifact:
    """Loads an artifact, with a clear error when it is missing, partial, corrupt or too new.

    Every file listed in ``artifact.json`` is checked against its SHA-256, arrays are read without
    pickles, and the parts are checked against each other (vocabulary sizes, embedding rows,
    seen-item indices), so a damaged artifact fails here instead of giving wrong answers.
    """
    root = Path(path).expanduser()
    if root.is_file():
        raise JointrecError(
            f"artifact {str(root)!r} is a file: expected a run directory written by "
            "'jointrec train' (the folder given to --out)"
        )
    if not root.is_dir():
        previous = sorted(root.parent.glob(f".{root.name}.old-*/{root.name}"))
        hint = (
            f" (a replacement was interrupted; the previous artifact is at {previous[-1]})"
            if previous
            else ""
        )
        raise JointrecError(
            f"artifact {str(root)!r} does not exist: expected a directory "
            f"written by 'jointrec train'{hint}"
        )
    meta_file = root / META if (root / META).is_file() else root / LEGACY_META
    missing = [name for name in REQUIRED if not (root / name).is_file()]
    if not meta_file.is_file():
        missing.insert(0, META)
    if missing:
        raise JointrecError(
            f"artifact {root} is incomplete: missing {', '.join(missing)}; "
            "retrain it with 'jointrec train'"
        )
    meta = _read_json(meta_file)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise JointrecError(
            f"{meta_file} does not describe a {FORMAT}: expected a directory "
            "written by 'jointrec train'"
        )
    version = meta.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise JointrecError(
            f"artifact {root} has an invalid format version {version!r}: expected an "
            f"integer in [1, {FORMAT_VERSION}]; {meta_file.name} is corrupt, retrain it"
        )
    if version > FORMAT_VERSION:
        raise JointrecError(
            f"artifact {root} has format version {version!r}; this jointrec "
            f"reads versions <= {FORMAT_VERSION}: upgrade jointrec"
        )
    _verify_checksums(root, meta.get("files"), meta_file.name)
    config_data = _read_json(root / "config.json")
    vocab = _read_json(root / "vocab.json")
    try:
        config = RunConfig.from_dict(config_data["run"])
        users = Vocabulary.from_json(vocab["users"])
        items = Vocabulary.from_json(vocab["items"])
        seen_data = load_npz(root / "seen.npz", "artifact")
        seen = SeenItems.from_arrays(
            seen_data["indptr"], seen_data["indices"], seen_data.get("values")
        )
        data_info = dict(config_data.get("data", {}))
    except (KeyError, TypeError, ValueError, OSError, AttributeError) as err:
        if isinstance(err, JointrecError):
            raise JointrecError(f"artifact {root} is corrupt: {err}") from None
        raise JointrecError(f"artifact {root} is corrupt ({err!r}): retrain it") from None
    item_table = _read_json(root / "items.json")
    metrics = _read_json(root / "metrics.json")
    history_path = root / "history.json"
    history = _read_json(history_path) if history_path.is_file() else {}
    for name, value, kind in (
        ("items.json", item_table, list),
        ("metrics.json", metrics, dict),
        ("history.json", history, dict),
    ):
        if not isinstance(value, kind):
            raise JointrecError(
                f"{root / name} is corrupt: expected a JSON {kind.__name__}, got "
                f"{type(value).__name__}; retrain the artifact"
            )
    artifact = Artifact(
        path=root,
        meta=meta,
        config=config,
        data_info=data_info,
        exported=ExportedModel.load(root / "exported.npz"),
        users=users,
        items=items,
        item_table=item_table,
        seen=seen,
        metrics=metrics,
        history=history,
    )
    _check_consistent(artifact)
    return artifact


def _checksums(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by relative POSIX path."""
    return {
        p.relative_to(root).as_posix(): sha256_hex(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def _verify_checksums(root: Path, files: Any, meta: str = META) -> None:
    """Checks the files ``meta`` lists (artifacts from before checksums list none)."""
    if files is None:
        return
    if not isinstance(files, dict):
        raise JointrecError(f"{root}/{meta} is corrupt: 'files' must map names to SHA-256")
    for name, expected in files.items():
        path = root / str(name)
        if ".." in Path(str(name)).parts or not path.is_file():
            raise JointrecError(
                f"artifact {root} is incomplete: {name} is listed in {meta} but "
                "missing; retrain it with 'jointrec train'"
            )
        if sha256_hex(path) != expected:
            raise JointrecError(
                f"artifact {root}: {name} is corrupt (its SHA-256 differs from the one in "
                f"{meta}: the file was damaged or edited); retrain the artifact"
            )


def _check_consistent(art: Artifact) -> None:
    """The parts of an artifact must describe the same users and items."""
    ex, n_users, n_items = art.exported, len(art.users), len(art.items)
    problems = []
    if ex.user_embeddings.ndim != 2 or ex.num_users != n_users:
        problems.append(f"exported user embeddings {ex.user_embeddings.shape} for {n_users} users")
    if ex.item_embeddings.ndim != 2 or ex.num_items != n_items:
        problems.append(f"exported item embeddings {ex.item_embeddings.shape} for {n_items} items")
    for name, bias, n in (
        ("user biases", ex.user_bias, n_users),
        ("item biases", ex.item_bias, n_items),
        ("rating shrinkage weights", ex.rating_weight, n_users),
        ("average-user ratings", ex.rating_prior, n_items),
    ):
        if bias is not None and bias.shape != (n,):
            problems.append(f"{name} of shape {bias.shape}, expected ({n},)")
    width = ex.user_embeddings.shape[-1] + ex.item_embeddings.shape[-1]
    for j, (kernel, bias) in enumerate(ex.mlp):
        if kernel.ndim != 2 or kernel.shape[0] != width or bias.shape != (kernel.shape[1],):
            problems.append(f"rating layer {j} of shape {kernel.shape} after width {width}")
            break
        width = kernel.shape[1]
    else:
        if width != 1:
            problems.append(f"rating head output width {width}, expected 1")
    seen = art.seen
    indptr, indices = seen.indptr, seen.indices
    if (
        seen.num_users != n_users
        or indptr[0] != 0
        or (np.diff(indptr) < 0).any()
        or indptr[-1] != len(indices)
    ):
        problems.append(f"seen items with {seen.num_users} users, expected {n_users}")
    elif len(indices) and (indices.min() < 0 or indices.max() >= n_items):
        problems.append(f"seen item indices outside [0, {n_items})")
    elif seen.values is not None and len(seen.values) != len(indices):
        problems.append(f"{len(seen.values)} seen ratings for {len(indices)} seen items")
    if len(art.item_table) != n_items - 1:
        problems.append(f"{len(art.item_table)} item records for {n_items - 1} items")
    if problems:
        raise JointrecError(
            f"artifact {art.path} is corrupt: {'; '.join(problems)}; retrain it with "
            "'jointrec train'"
        )


def _meta(files: dict[str, str] | None = None) -> dict[str, Any]:
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
        "files": files or {},
    }


def _write_json(path: Path, data: Any) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1, default=_json_id)
        f.flush()
        os.fsync(f.fileno())


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, OSError, RecursionError) as err:
        raise JointrecError(f"{path} is corrupt ({err}): retrain the artifact") from None
