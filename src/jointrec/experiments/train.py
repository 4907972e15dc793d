"""`train` and `evaluate_artifact`: the library calls behind ``jointrec train`` and
``jointrec evaluate``.

Example:
    >>> from jointrec import preset
    >>> result = train(preset("default"), data_path=ZIP, out="runs/joint")  # doctest: +SKIP
    >>> result.report["recall@10"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jointrec.data.interactions import Dataset
from jointrec.errors import JointrecError
from jointrec.experiments.pipeline import PreparedData, TrainedModel, prepare_data, train_model
from jointrec.settings import RunConfig


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
    checkpoint: bool = False,
    resume: bool = False,
    run_info: Mapping[str, Any] | None = None,
) -> TrainResult:
    """Trains the joint model, evaluates it on test and writes an artifact.

    Args:
        config: Run settings (see `jointrec.settings.preset`).
        dataset: Data to use; by default the named MovieLens release is loaded.
        dataset_name: MovieLens release when ``dataset`` is not given.
        data_path: Local zip or folder of that release.
        out: Artifact directory; ``None`` writes nothing.
        overwrite: Replace an existing artifact (and the checkpoints of an interrupted run).
        progress: Show progress bars.
        data_source: How to read ``dataset`` again (a `DataConfig.to_dict`), saved with the
            artifact so that `evaluate_artifact` can reload your own files.
        extra_files: Called with the trained model and the prepared data; returns more
            files for the artifact (name -> writer), written atomically with it.
        checkpoint: Save a checkpoint after every epoch in ``<out>.checkpoints`` (removed once
            the artifact is written), so that the run can be resumed after a crash.
        resume: Continue the interrupted run of ``out`` from its last checkpoint (same
            settings and data, checked); the artifact equals an uninterrupted run's.
        run_info: JSON-ready facts saved with the checkpoints for whoever resumes the run
            (e.g. the experiment settings), returned by `run_info`.
    """
    from jointrec.training.checkpoint import CheckpointDir, checkpoint_dir_for

    store, latest = None, None
    if resume:
        if out is None:
            raise JointrecError("resume=True needs the run's artifact directory (out)")
        store, info = _interrupted_run(out)
    elif out is not None and Path(out).expanduser().exists() and not overwrite:
        raise JointrecError(
            f"{out} already exists: pass --overwrite to replace it or choose another --out"
        )
    elif checkpoint:
        if out is None:
            raise JointrecError(
                "checkpoint=True needs an artifact directory (out): checkpoints live beside it"
            )
        store = CheckpointDir(checkpoint_dir_for(out))
        if store.exists() and not overwrite:
            raise JointrecError(
                f"{store.path} holds the checkpoints of an interrupted run: pass "
                f"--resume {out} to continue it, or --overwrite to start afresh"
            )
        store.remove()
    if dataset is None:
        dataset = load_dataset(dataset_name, data_path, progress=progress)
    if store is not None:
        from jointrec.data.fingerprint import fingerprint

        found = fingerprint(dataset)
        if resume:
            _check_same_run(store, info, config, found, data_path or dataset.name)
            store.clean_temporary()
            out_path = Path(out).expanduser()  # type: ignore[arg-type]
            for leftover in out_path.parent.glob(f".{out_path.name}.tmp-*"):  # killed save
                shutil.rmtree(leftover, ignore_errors=True)
            latest = store.latest()
        else:
            store.write_info(
                {
                    **dict(run_info or {}),
                    "config": config.to_dict(),
                    "dataset": dataset.name,
                    "data_path": None if data_path is None else _absolute(data_path),
                    "data_fingerprint": found,
                }
            )
    data = prepare_data(dataset, config.split)
    trained = train_model(data, config, progress=progress, checkpoints=store, resume=latest)
    artifact = None
    if out is not None:
        from jointrec.artifact.directory import item_records, save_artifact
        from jointrec.scoring.seen import SeenItems

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
    if store is not None:
        store.remove()  # only now: the artifact is complete on disk
    return TrainResult(artifact=artifact, trained=trained, data=data)


def run_info(run: str | os.PathLike[str]) -> dict[str, Any]:
    """What an interrupted run recorded when it started (``config``, ``dataset``,
    ``data_path``, ``data_fingerprint`` and the caller's ``run_info``).

    Raises:
        JointrecError: when ``run`` has no checkpoints or is already finished.
    """
    return _interrupted_run(run)[1]


def resume(
    run: str | os.PathLike[str],
    *,
    dataset: Dataset | None = None,
    data_path: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Continues a run started with ``train(..., checkpoint=True)`` that did not finish.

    Training restarts after the last complete epoch with the saved weights, optimizer state,
    shuffler state and history, so the artifact equals that of an uninterrupted run. (Runs
    started by ``jointrec train`` are resumed by
    `jointrec.experiments.experiment.resume_experiment`, which also rewrites their manifest.)

    Args:
        run: The run's artifact directory (``--out``) or its ``.checkpoints`` directory.
        dataset: The run's data, when it was not a MovieLens release loaded by name.
        data_path: Where the data lives now (default: where it was when the run started);
            its content must be the same.
        progress: Show progress bars.
    """
    from jointrec.training.checkpoint import SUFFIX, checkpoint_dir_for

    store_path = checkpoint_dir_for(run)
    out = store_path.with_name(store_path.name[: -len(SUFFIX)])
    info = run_info(out)
    try:
        config = RunConfig.from_dict(info["config"])
        source = data_path if data_path is not None else info.get("data_path")
        name = str(info.get("dataset", "movielens-100k"))
    except (KeyError, TypeError) as err:
        raise JointrecError(f"{store_path}/run.json is corrupt ({err!r})") from None
    if dataset is None:
        dataset = load_dataset(name, source, progress=progress)
    return train(config, dataset=dataset, data_path=source, out=out, progress=progress, resume=True)


def _interrupted_run(run: str | os.PathLike[str]) -> tuple[Any, dict[str, Any]]:
    from jointrec.training.checkpoint import SUFFIX, CheckpointDir, checkpoint_dir_for

    store = CheckpointDir(checkpoint_dir_for(run))
    out = store.path.with_name(store.path.name[: -len(SUFFIX)])
    if not store.exists():
        if out.exists():
            raise JointrecError(
                f"{out} is a finished run (no checkpoints at {store.path}): nothing to resume"
            )
        raise JointrecError(
            f"no checkpoints at {store.path}: nothing to resume; start the run with "
            f"'jointrec train --out {out}'"
        )
    if out.exists():
        raise JointrecError(
            f"{out} already holds this run's finished artifact: nothing to resume; "
            f"delete {store.path} to clean up"
        )
    return store, store.read_info()


def _check_same_run(
    store: Any, info: dict[str, Any], config: RunConfig, found: str, data: Any
) -> None:
    """A resumed run must have the settings and the data it started with."""
    if info.get("config") != json.loads(json.dumps(config.to_dict())):
        raise JointrecError(
            f"the settings differ from those the run in {store.path} started with: resume it "
            "without changing settings (they are read from the checkpoints)"
        )
    expected = str(info.get("data_fingerprint"))
    if found != expected:
        raise JointrecError(
            f"the data {data} differs from the data this run started with (fingerprint "
            f"{found[:12]}, expected {expected[:12]}): pass the original data with --data"
        )


def _absolute(path: str | os.PathLike[str]) -> str:
    return str(Path(path).expanduser().resolve())


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
    from jointrec.artifact.directory import load_artifact
    from jointrec.data.encoded import encode
    from jointrec.data.splits import split_rows
    from jointrec.evaluation.evaluate import evaluate

    art = load_artifact(path)
    info = art.data_info
    if dataset is None and data_path is None and info.get("source", {}).get("interactions"):
        from jointrec.data.load import load_data
        from jointrec.settings import DataConfig

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
