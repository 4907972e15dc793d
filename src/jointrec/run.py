"""`train` and `evaluate_artifact`: the library calls behind ``jointrec train`` and
``jointrec evaluate``.

Example:
    >>> from jointrec import preset
    >>> result = train(preset("default"), data_path=ZIP, out="runs/joint")  # doctest: +SKIP
    >>> result.report["recall@10"]  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jointrec.config import RunConfig
from jointrec.data.interactions import Dataset
from jointrec.errors import JointrecError
from jointrec.pipeline import PreparedData, TrainedModel, prepare_data, train_model


def load_dataset(
    dataset: str = "movielens-100k",
    path: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
) -> Dataset:
    """Loads a named dataset: ``movielens-<variant>`` (``100k``, ``1m``, ...) or a variant.

    Args:
        dataset: ``"movielens-100k"`` or just ``"100k"``.
        path: Local zip or folder instead of the cache or a download.
        progress: Show download progress.
    """
    from jointrec.data.movielens import load_movielens

    variant = dataset.removeprefix("movielens-").removeprefix("ml-")
    return load_movielens(variant, path=path, progress=progress)


def data_info(
    dataset: Dataset,
    data: PreparedData,
    path: str | os.PathLike[str] | None,
) -> dict[str, Any]:
    """Where the data came from and how it was split, for the artifact."""
    return {
        "dataset": dataset.name,
        "path": None if path is None else str(Path(path).expanduser().resolve()),
        "interactions": len(dataset.interactions),
        "train": len(data.train),
        "validation": len(data.validation),
        "test": len(data.test),
    }


#: ``(trained, data) -> {file name: writer(path)}``: more files for a run directory.
ExtraFiles = Callable[[TrainedModel, PreparedData], Mapping[str, Callable[[Path], None]]]


@dataclass
class TrainResult:
    """What `train` produced."""

    artifact: Path | None
    trained: TrainedModel
    data: PreparedData

    @property
    def report(self) -> dict[str, float]:
        """Test metrics."""
        return self.trained.report


def train(
    config: RunConfig,
    *,
    dataset: Dataset | None = None,
    dataset_name: str = "100k",
    data_path: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    progress: bool = True,
    data_source: Mapping[str, Any] | None = None,
    extra_files: ExtraFiles | None = None,
) -> TrainResult:
    """Trains the joint model, evaluates it on test and writes an artifact.

    Args:
        config: Run settings (see `jointrec.config.preset`).
        dataset: Data to use; by default the named MovieLens release is loaded.
        dataset_name: MovieLens release when ``dataset`` is not given.
        data_path: Local zip or folder of that release.
        out: Artifact directory; ``None`` writes nothing.
        overwrite: Replace an existing artifact.
        progress: Show progress bars.
        data_source: How to read ``dataset`` again (a `DataConfig.to_dict`), saved with the
            artifact so that `evaluate_artifact` can reload your own files.
        extra_files: Called with the trained model and the prepared data; returns more
            files for the artifact (name -> writer), written atomically with it.
    """
    from jointrec.artifact import item_records, save_artifact
    from jointrec.retrieval.seen import SeenItems

    if out is not None and Path(out).expanduser().exists() and not overwrite:
        raise JointrecError(
            f"{out} already exists: pass --overwrite to replace it or choose another --out"
        )
    if dataset is None:
        dataset = load_dataset(dataset_name, data_path, progress=progress)
    data = prepare_data(dataset, config.split)
    trained = train_model(data, config, progress=progress)
    artifact = None
    if out is not None:
        info = data_info(dataset, data, data_path)
        if data_source is not None:
            info["source"] = dict(data_source)
        artifact = save_artifact(
            out,
            config=trained.config,
            exported=trained.exported,
            users=data.users,
            items=data.items,
            item_table=item_records(data.items, dataset.items),
            seen=SeenItems(
                data.train.user, data.train.item, len(data.users), values=data.train.rating
            ),
            metrics=trained.report,
            history=trained.history.to_dict(),
            data_info=info,
            keras_model=trained.model,
            overwrite=overwrite,
            extra_files=None if extra_files is None else dict(extra_files(trained, data)),
        )
    return TrainResult(artifact=artifact, trained=trained, data=data)


def evaluate_artifact(
    path: str | os.PathLike[str],
    *,
    data_path: str | os.PathLike[str] | None = None,
    dataset: Dataset | None = None,
) -> dict[str, float]:
    """Re-computes an artifact's test report from its data and split settings.

    The split is re-derived from the saved settings (it is seeded and deterministic) and
    checked against the saved sizes, so the report is on the same test set as at training.
    """
    from jointrec.artifact import load_artifact
    from jointrec.data.encoded import encode
    from jointrec.data.splits import split_rows
    from jointrec.evaluation.evaluate import evaluate

    art = load_artifact(path)
    info = art.data_info
    if dataset is None and data_path is None and info.get("source", {}).get("interactions"):
        from jointrec.data.data_config import DataConfig, load_data

        dataset, _ = load_data(DataConfig.from_dict(info["source"]), progress=False)
    if dataset is None:
        source = data_path if data_path is not None else info.get("path")
        dataset = load_dataset(str(info.get("dataset", "movielens-100k")), source)
    x = dataset.interactions
    train_rows, _, test_rows = split_rows(x, art.config.split)
    if "train" in info and len(train_rows) != info["train"]:
        raise JointrecError(
            f"the data gives a train split of {len(train_rows)} rows but the "
            f"artifact was trained on {info['train']}: pass the same data with "
            "--data"
        )
    train = encode(x.take(train_rows), art.users, art.items)
    test = encode(x.take(test_rows), art.users, art.items)
    return evaluate(art.exported, train, test, art.config.eval)
