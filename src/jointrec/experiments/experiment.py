"""`run_experiment`: loads an experiment's data, trains, evaluates on test and writes the run
directory with its manifest; `resume_experiment` finishes one that was killed.

Example:
    >>> exp = resolve_experiment(None, {"data": {"path": ZIP}})  # doctest: +SKIP
    >>> run_experiment(exp).report["recall@10"]  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jointrec.errors import JointrecError
from jointrec.settings import DataConfig, Experiment, RunConfig, resolve_experiment


@dataclass
class ExperimentResult:
    """What `run_experiment` produced.

    Args:
        experiment: The experiment as resolved after reading the data (absolute paths, the
            rating scale, feature kinds and, without ratings, rating weight 0).
        result: The training result (artifact path, trained model, prepared data).
        manifest: Path of ``manifest.toml`` (``None`` when nothing was written).
        notes: Things the user should know (retrieval only, changed data files).
    """

    experiment: Experiment
    result: Any
    manifest: Path | None
    notes: list[str] = field(default_factory=list)

    @property
    def report(self) -> dict[str, float]:
        """Test metrics."""
        return dict(self.result.report)


def _with_table_features(config: RunConfig, dataset: Any) -> RunConfig:
    """Uses every feature of a declared feature table unless ``[model]`` names some; the
    names are written out (not ``"auto"``) so that the manifest says what was used."""
    changes = {}
    for side, table in (("user", dataset.users), ("item", dataset.items)):
        if table is None or "feature_specs" not in table.metadata:
            continue
        if tuple(getattr(config.model.towers, f"{side}_features")) in ((), ("auto",)):
            names = [spec["name"] for spec in table.metadata["feature_specs"]]
            changes[f"{side}_features"] = tuple(names)
    return config.replace(model={"towers": changes}) if changes else config


def run_experiment(
    experiment: Experiment,
    *,
    overwrite: bool = False,
    progress: bool = True,
    command: str | None = None,
    write: bool = True,
    notify: Callable[[str], None] | None = None,
    checkpoint: bool = False,
    resume: bool = False,
) -> ExperimentResult:
    """Loads the data, trains, evaluates on test and writes the run directory + manifest.

    Args:
        experiment: What to run (see `resolve_experiment`).
        overwrite: Replace an existing run directory.
        progress: Show progress bars.
        command: The command line, recorded in the manifest.
        write: Write the run directory (``False``: train and evaluate only).
        notify: Called with each note as soon as it is known (before training).
        checkpoint: Checkpoint every epoch, so that `resume_experiment` can finish the run
            after a crash (see `jointrec.experiments.train.train`).
        resume: Continue the interrupted run in the experiment's ``out`` (used by
            `resume_experiment`).
    """
    from jointrec.data.load import load_data
    from jointrec.experiments.manifest import MANIFEST, build_manifest, changed_files, data_hashes
    from jointrec.experiments.train import data_info, train

    out = experiment.output_dir() if write else None
    if out is not None and out.exists() and not overwrite and not resume:
        raise JointrecError(
            f"{out} already exists: pass --overwrite to replace it or choose another --out"
        )
    dataset, data_config = load_data(experiment.data, progress=progress)
    hashes = data_hashes(data_config.files())
    notes = changed_files(experiment.provenance, hashes)
    config = _with_table_features(experiment.run, dataset)
    if not dataset.interactions.has_ratings:
        notes.append(
            "no rating column: training retrieval only (rating loss weight 0; no rating "
            "metrics or predicted stars)"
        )
    if notify is not None:
        for note in notes:
            notify(note)
    resolved = dataclasses.replace(experiment, data=data_config)

    def manifest_file(trained: Any, data: Any) -> dict[str, Any]:
        done = dataclasses.replace(resolved, run=trained.config)
        content = build_manifest(
            done.to_dict(),
            hashes=hashes,
            metrics=trained.report,
            data_info=data_info(dataset, data, data_config.path),
            seed=trained.config.train.seed,
            run_dir=out or ".",
            command=command,
            train_seconds=trained.train_seconds,
        )
        from jointrec.experiments.manifest import write_manifest

        final = None if out is None else out / MANIFEST
        return {MANIFEST: lambda path: write_manifest(path, content, shown_path=final)}

    result = train(
        config,
        dataset=dataset,
        data_path=data_config.path,
        out=out,
        overwrite=overwrite,
        progress=progress,
        data_source=data_config.to_dict(),
        extra_files=manifest_file,
        checkpoint=checkpoint and out is not None,
        resume=resume,
        run_info={"experiment": resolved.to_dict(), "command": command},
    )
    resolved = dataclasses.replace(resolved, run=result.trained.config)
    manifest = None if result.artifact is None else result.artifact / MANIFEST
    return ExperimentResult(resolved, result, manifest, notes)


def resume_experiment(
    run: str | os.PathLike[str],
    *,
    data_path: str | os.PathLike[str] | None = None,
    progress: bool = True,
    notify: Callable[[str], None] | None = None,
) -> ExperimentResult:
    """Finishes a ``jointrec train`` run that was killed: ``jointrec train --resume RUN``.

    The settings and data come from the run's checkpoints (``RUN.checkpoints/run.json``);
    training continues after the last complete epoch and the run directory and manifest are
    those an uninterrupted run would have written.

    Args:
        run: The run directory the interrupted run was writing (its ``--out``).
        data_path: Where the MovieLens release lives now, if it moved (same content).
        progress: Show progress bars.
        notify: Called with each note before training.
    """
    from jointrec.experiments.train import resume as resume_run
    from jointrec.experiments.train import run_info
    from jointrec.training.checkpoint import SUFFIX, checkpoint_dir_for

    store = checkpoint_dir_for(run)
    out = store.with_name(store.name[: -len(SUFFIX)])
    info = run_info(out)
    settings = info.get("experiment")
    if not isinstance(settings, dict):  # started by the library, not by `jointrec train`
        result = resume_run(out, data_path=data_path, progress=progress)
        experiment = Experiment(name=out.name, run=result.trained.config, data=DataConfig())
        return ExperimentResult(experiment, result, None)
    settings = {**settings, "out": str(out)}
    if data_path is not None:
        settings["data"] = {**settings.get("data", {}), "path": _absolute(data_path)}
    experiment = resolve_experiment(None, settings)
    return run_experiment(
        experiment,
        progress=progress,
        command=info.get("command"),
        notify=notify,
        resume=True,
    )


def _absolute(path: str | os.PathLike[str]) -> str:
    return str(Path(path).expanduser().resolve())
