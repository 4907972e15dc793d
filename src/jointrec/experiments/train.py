"""`train`: from settings to a trained, evaluated artifact; `resume` finishes a run that was
killed. ``jointrec train`` is this function, and so is the Python API's `jointrec.train`.

    settings ─ as_experiment ─> Experiment ─ load ─> Dataset ─ prepare_data ─> PreparedData
      ─ train_model ─> TrainedModel (fitted, exported, evaluated on test)
      ─ save_run ─> run directory: the artifact's files and manifest.toml

With ``checkpoint=True`` every epoch is saved in ``<out>.checkpoints`` (removed once the run
directory is complete), so that `resume` can finish the run with the artifact an
uninterrupted run writes.

Example:
    >>> from jointrec import preset
    >>> result = train(preset("default"), "ml-100k.zip", out="runs/joint")  # doctest: +SKIP
    >>> result.report["recall@10"]  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jointrec.artifact.directory import item_records, save_artifact
from jointrec.data.fingerprint import fingerprint
from jointrec.data.interactions import Dataset
from jointrec.errors import JointrecError
from jointrec.experiments.manifest import MANIFEST, build_manifest, write_manifest
from jointrec.experiments.pipeline import (
    DataArg,
    Loaded,
    Notify,
    PreparedData,
    Settings,
    TrainedModel,
    as_experiment,
    load,
    prepare_data,
    train_model,
)
from jointrec.experiments.run_dir import RunLock, check_out
from jointrec.progress import StageRecord, recording_stages, stage
from jointrec.scoring.seen import SeenItems
from jointrec.settings import DataConfig, Experiment, RunConfig, resolve_experiment
from jointrec.training.checkpoint import SUFFIX, CheckpointDir, checkpoint_dir_for

if TYPE_CHECKING:
    from jointrec.model.build import Tower


@dataclass
class TrainResult:
    """What `train` produced.

    Args:
        experiment: The experiment as resolved (absolute paths, the rating scale, feature
            kinds, the model settings in force).
        trained: The trained model, its exported arrays, history and test report.
        data: The prepared data (split, vocabularies).
        artifact: The run directory, or ``None`` when nothing was written.
        notes: What the user should know (retrieval only, changed data files).
        stages: Seconds and peak memory of each stage (reading, splitting, features,
            training, exporting, evaluating, writing).
    """

    experiment: Experiment
    trained: TrainedModel
    data: PreparedData
    artifact: Path | None = None
    notes: list[str] = field(default_factory=list)
    stages: list[StageRecord] = field(default_factory=list)

    @property
    def report(self) -> dict[str, float]:
        """Test metrics."""
        return self.trained.report

    @property
    def manifest(self) -> Path | None:
        """The run's ``manifest.toml`` (``None`` when nothing was written)."""
        return None if self.artifact is None else self.artifact / MANIFEST


def train(
    settings: Settings = "default",
    data: DataArg = None,
    *,
    out: str | os.PathLike[str] | None = None,
    overwrite: bool = False,
    write: bool | None = None,
    progress: bool = True,
    checkpoint: bool = False,
    resume: bool = False,
    user_tower: Tower | None = None,
    item_tower: Tower | None = None,
    notify: Notify | None = None,
    command: str | None = None,
) -> TrainResult:
    """Trains the joint model, evaluates it on test and writes a run directory.

    Args:
        settings: A preset name, an experiment file, a `jointrec.settings.RunConfig` or a
            `jointrec.settings.Experiment`.
        data: The data when the settings do not say: a MovieLens zip or folder, a
            `jointrec.settings.DataConfig`, or a `jointrec.data.Dataset` in memory.
        out: Run directory (default: the experiment's ``out``, else ``runs/<name>``).
        overwrite: Replace an existing run directory (and the checkpoints of an
            interrupted run).
        write: Write the run directory; by default only when there is somewhere to write:
            ``out``, or an experiment that names its ``out`` or comes from a file.
        progress: Show progress bars.
        checkpoint: Checkpoint every epoch so that `resume` can finish the run after a crash.
        resume: Continue the interrupted run of ``out`` from its last checkpoint (same
            settings and data, checked); used by `resume`.
        user_tower: Your own user tower: a Keras layer from user indices to vectors, or a
            function ``(vocabulary_size, embedding_dim) -> layer``
            (`jointrec.model.build.build_model` says what it must do).
        item_tower: The same for items.
        notify: Called with each note (retrieval only, changed files) before training.
        command: The command line, recorded in the manifest.
    """
    experiment, dataset = as_experiment(settings, data, out)
    if write is None:
        write = experiment.out is not None or experiment.config_path is not None
    out_dir = experiment.output_dir() if write else None
    with contextlib.ExitStack() as stack:
        if out_dir is not None:
            stack.enter_context(RunLock(out_dir, command))  # fails at once when taken
        stages = stack.enter_context(recording_stages())
        result = _train(
            experiment,
            dataset,
            out_dir,
            overwrite=overwrite,
            progress=progress,
            checkpoint=checkpoint,
            resume=resume,
            user_tower=user_tower,
            item_tower=item_tower,
            notify=notify,
            command=command,
        )
        result.stages = list(stages)
        return result
    raise AssertionError("unreachable")  # pragma: no cover - ExitStack re-raises


def _train(
    experiment: Experiment,
    dataset: Dataset | None,
    out_dir: Path | None,
    *,
    overwrite: bool,
    progress: bool,
    checkpoint: bool,
    resume: bool,
    user_tower: Tower | None,
    item_tower: Tower | None,
    notify: Notify | None,
    command: str | None,
) -> TrainResult:
    """`train`'s steps, with ``out_dir`` locked."""
    store: CheckpointDir | None = None
    latest = None
    info: dict[str, Any] = {}
    if resume:
        if out_dir is None:
            raise JointrecError("resume=True needs the run's directory (out)")
        store, info = _interrupted_run(out_dir)
    elif out_dir is not None:
        check_out(out_dir, overwrite)
        if checkpoint:
            store = CheckpointDir(checkpoint_dir_for(out_dir))
            if store.exists() and not overwrite:
                raise JointrecError(
                    f"{store.path} holds the checkpoints of an interrupted run: pass "
                    f"--resume {out_dir} to continue it, or --overwrite to start afresh"
                )
            store.remove()
    try:
        loaded = load(experiment, dataset, progress=progress, notify=notify)
        if store is not None:
            found = fingerprint(loaded.dataset)
            if resume:
                _check_same_run(store, info, loaded.experiment.run, found, loaded.experiment.data)
                store.clean_temporary()
                assert out_dir is not None
                for leftover in out_dir.parent.glob(f".{out_dir.name}.tmp-*"):  # a killed save
                    shutil.rmtree(leftover, ignore_errors=True)
                latest = store.latest()
            else:
                store.write_info(
                    {
                        "experiment": loaded.experiment.to_dict(),
                        "config": loaded.experiment.run.to_dict(),
                        "in_memory": loaded.in_memory,
                        "data_fingerprint": found,
                        "command": command,
                    }
                )
        run = loaded.experiment.run
        prepared = prepare_data(loaded.dataset, run.split, progress=progress)
        trained = train_model(
            prepared,
            run,
            progress=progress,
            checkpoints=store,
            resume=latest,
            user_tower=user_tower,
            item_tower=item_tower,
        )
        resolved = loaded.experiment.replace(run=trained.config)
        artifact = None
        if out_dir is not None:
            with stage("writing the run directory", progress):
                artifact = save_run(
                    out_dir, trained, prepared, loaded, resolved, overwrite, command
                )
    except BaseException as err:
        _after_failure(store, out_dir, err, resume, notify)
        raise
    if store is not None:
        store.remove()  # only now: the run directory is complete on disk
    return TrainResult(resolved, trained, prepared, artifact, loaded.notes)


def _after_failure(
    store: CheckpointDir | None,
    out: Path | None,
    err: BaseException,
    resumed: bool,
    notify: Notify | None,
) -> None:
    """A failed run leaves a resumable checkpoint, and says so, or nothing.

    Checkpoints of complete epochs are kept (and the error says how to resume) unless the
    run failed in a way resuming would repeat (its settings or data, a diverged loss: a
    `JointrecError`); then they are removed, with the run's ``run.json``, so that the next
    run at ``out`` starts afresh without ``--overwrite``.
    """
    if store is None:
        return
    epochs = store.epochs()
    if epochs and not isinstance(err, JointrecError):
        note = f"the run can be resumed from epoch {epochs[-1]}: jointrec train --resume {out}"
        if notify is not None:
            notify(note)
        add_note = getattr(err, "add_note", None)  # Python 3.11+
        if add_note is not None:
            add_note(note)
        return
    if not resumed:
        store.remove()


def save_run(
    out: Path,
    trained: TrainedModel,
    data: PreparedData,
    loaded: Loaded,
    experiment: Experiment,
    overwrite: bool = False,
    command: str | None = None,
) -> Path:
    """Writes the run directory: the artifact (`jointrec.artifact.save_artifact`) with the
    run's ``manifest.toml`` among its files, all or nothing."""
    info = data.info(experiment.data.path)
    if not loaded.in_memory:
        info["source"] = experiment.data.to_dict()
    manifest = build_manifest(
        experiment.to_dict(),
        hashes=loaded.hashes,
        metrics=trained.report,
        data_info=info,
        seed=trained.config.train.seed,
        run_dir=out,
        command=command,
        train_seconds=trained.train_seconds,
    )
    return save_artifact(
        out,
        config=trained.config,
        exported=trained.exported,
        users=data.users,
        items=data.items,
        item_table=item_records(data.items, data.dataset.items),
        seen=SeenItems(data.train.user, data.train.item, len(data.users), values=data.train.rating),
        metrics=trained.report,
        history=trained.history.to_dict(),
        data_info=info,
        keras_model=trained.model,
        overwrite=overwrite or (out.is_dir() and not any(out.iterdir())),  # an empty folder
        extra_files={MANIFEST: lambda path: _write(path, manifest, out / MANIFEST)},
    )


def _write(path: Path, manifest: dict[str, Any], shown: Path) -> None:
    write_manifest(path, manifest, shown_path=shown)


def resume(
    run: str | os.PathLike[str],
    *,
    data: DataArg = None,
    progress: bool = True,
    notify: Notify | None = None,
) -> TrainResult:
    """Finishes a run started with ``checkpoint=True`` (``jointrec train`` does) that was
    killed: ``jointrec train --resume RUN``.

    The settings come from the run's checkpoints (``RUN.checkpoints/run.json``); training
    continues after the last complete epoch with the saved weights, optimizer state,
    shuffler state and history, and the run directory and manifest are those an
    uninterrupted run would have written.

    Args:
        run: The run directory the interrupted run was writing (its ``--out``), or its
            ``.checkpoints`` directory.
        data: Where the MovieLens release lives now, if it moved (same content), or the
            `jointrec.data.Dataset` of a run whose data was given in memory.
        progress: Show progress bars.
        notify: Called with each note before training.
    """
    store_path = checkpoint_dir_for(run)
    out = store_path.with_name(store_path.name[: -len(SUFFIX)])
    _, info = _interrupted_run(out)
    experiment = _experiment_of(info, out)
    if info.get("in_memory") and data is None:
        raise JointrecError(
            f"the run in {out} was trained on data given in memory: pass the same Dataset "
            "again, e.g. resume(run, data=dataset)"
        )
    if isinstance(data, str | os.PathLike):
        path = str(Path(data).expanduser().resolve())
        data = experiment.data.replace(path=path) if not experiment.data.own_data else None
        if data is None:
            raise JointrecError(
                f"--data moves a MovieLens release, but the run in {out} read your own files "
                "(its settings name them): move them back, or train afresh"
            )
    return train(
        experiment,
        data,
        progress=progress,
        notify=notify,
        resume=True,
        command=info.get("command"),
    )


def _experiment_of(info: dict[str, Any], out: Path) -> Experiment:
    """The experiment an interrupted run recorded (also what jointrec 0.1 recorded: the run
    settings and a MovieLens release, for runs started from Python)."""
    try:
        if isinstance(info.get("experiment"), dict):
            return resolve_experiment(None, {**info["experiment"], "out": str(out)})
        config = RunConfig.from_dict(info["config"])
        dataset = str(info.get("dataset", "100k")).removeprefix("movielens-")
        data = DataConfig(dataset=dataset, path=info.get("data_path"))
    except (KeyError, TypeError) as err:
        raise JointrecError(f"{checkpoint_dir_for(out)}/run.json is corrupt ({err!r})") from None
    return Experiment(name=out.name, run=config, data=data, out=str(out))


def _interrupted_run(run: str | os.PathLike[str]) -> tuple[CheckpointDir, dict[str, Any]]:
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
    store: CheckpointDir, info: dict[str, Any], config: RunConfig, found: str, data: DataConfig
) -> None:
    """A resumed run must have the settings and the data it started with."""
    recorded = info.get("config") or {}
    if recorded != json.loads(json.dumps(config.to_dict())) and (
        RunConfig.from_dict(recorded) != config  # written by jointrec 0.1: flat settings
    ):
        raise JointrecError(
            f"the settings differ from those the run in {store.path} started with: resume "
            "it without changing settings (they are read from the checkpoints)"
        )
    expected = str(info.get("data_fingerprint"))
    if found != expected:
        where = data.path or data.interactions or "in memory"
        raise JointrecError(
            f"the data {where} differs from the data this run started with (fingerprint "
            f"{found[:12]}, expected {expected[:12]}): pass the original data with --data"
        )
