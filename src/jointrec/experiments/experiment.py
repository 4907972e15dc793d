"""Experiment files: one TOML file holds everything ``jointrec train`` flags hold.

An experiment file has the top-level keys ``name``, ``preset`` and ``out`` and the sections
``[data]`` (`jointrec.data.data_config.DataConfig`), ``[model]``, ``[train]``, ``[split]``
and ``[eval]`` (the fields of `jointrec.settings`). Settings are resolved in this order, later
winning: the preset, the file, the command-line flags. Relative paths in a file are relative
to the file's folder. TOML has no null: write ``"none"`` for an empty optional setting (e.g.
``rating_col = "none"``). A run manifest (``manifest.toml``) is itself an experiment file,
so ``jointrec train --config runs/X/manifest.toml`` repeats run X.

Example:
    >>> exp = resolve_experiment(None, {"train": {"epochs": 3}, "data": {"dataset": "100k"}})
    >>> exp.run.train.epochs, exp.run.preset, exp.data.own_data
    (3, 'default', False)
"""

from __future__ import annotations

import dataclasses
import os
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jointrec.data.data_config import DataConfig, FeatureTableConfig
from jointrec.errors import JointrecError
from jointrec.settings import RunConfig, preset

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

RUN_SECTIONS = ("model", "train", "split", "eval")
TOP_LEVEL = ("name", "preset", "out", "data", *RUN_SECTIONS, "provenance")
NONE = "none"
DEFAULT_OUT = "runs/joint"


@dataclass(frozen=True)
class Experiment:
    """A fully resolved training run: data, settings, where to write it.

    Args:
        name: Short name (the config file's name by default), used for the run directory.
        run: Model, training, split and evaluation settings.
        data: The data to train on.
        out: Run directory; ``None`` picks one (see `output_dir`).
        config_path: The experiment file it came from, if any.
        provenance: The ``[provenance]`` table when the file is a run manifest.
    """

    name: str
    run: RunConfig
    data: DataConfig
    out: str | None = None
    config_path: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def output_dir(self) -> Path:
        """``out``; else ``runs/<name>`` (``-2``, ``-3``... if taken) for an experiment file;
        else ``runs/joint``."""
        if self.out is not None:
            return Path(self.out).expanduser()
        if self.config_path is None:
            return Path(DEFAULT_OUT)
        base = Path("runs") / self.name
        candidate, n = base, 1
        while candidate.exists():
            n += 1
            candidate = base.with_name(f"{base.name}-{n}")
        return candidate

    def to_dict(self) -> dict[str, Any]:
        """The settings as an experiment file holds them (``"none"`` for ``None``)."""
        out: dict[str, Any] = {"name": self.name, "preset": self.run.preset}
        out["data"] = self.data.to_dict()
        run = self.run.to_dict()
        out.update({section: run[section] for section in RUN_SECTIONS})
        return _none_to_text(out)


def read_experiment(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Reads an experiment file into plain data; relative data paths become absolute.

    Raises:
        JointrecError: when the file is missing, is not TOML, or has unknown keys.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise JointrecError(f"experiment file {str(path)!r} does not exist: expected a TOML file")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise JointrecError(f"experiment file {str(path)!r} is not valid TOML: {err}") from None
    unknown = sorted(set(data) - set(TOP_LEVEL))
    if unknown:
        raise JointrecError(
            f"experiment file {str(path)!r} has unknown keys {unknown}: expected some of "
            f"{list(TOP_LEVEL)}"
        )
    for section in ("data", *RUN_SECTIONS, "provenance"):
        if section in data and not isinstance(data[section], dict):
            raise JointrecError(
                f"experiment file {str(path)!r}: {section} = {data[section]!r} must be a "
                f"table ([{section}])"
            )
    return _absolute_paths(data, file.resolve().parent)


def _absolute_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    """Makes the data paths (and ``out``) of ``data`` absolute, relative to ``base``."""

    def fix(value: Any) -> Any:
        if not isinstance(value, str) or value.lower() == NONE:
            return value
        path = Path(value).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())

    data = dict(data)
    if "out" in data:
        data["out"] = fix(data["out"])
    section = dict(data.get("data", {}))
    for key in ("interactions", "path"):
        if key in section:
            section[key] = fix(section[key])
    for key in ("user_features", "item_features"):
        table = section.get(key)
        if isinstance(table, str):
            section[key] = fix(table)
        elif isinstance(table, dict) and "path" in table:
            section[key] = {**table, "path": fix(table["path"])}
    if section:
        data["data"] = section
    return data


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` on top, tables merged key by key.

    Example:
        >>> merge({"train": {"epochs": 5, "seed": 1}}, {"train": {"epochs": 2}})
        {'train': {'epochs': 2, 'seed': 1}}
    """
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def resolve_experiment(
    config_path: str | os.PathLike[str] | None, flags: Mapping[str, Any]
) -> Experiment:
    """The experiment of a file (optional) with ``flags`` on top.

    Args:
        config_path: Experiment TOML file, or ``None``.
        flags: Settings from the command line, shaped like the file (``{"train":
            {"epochs": 3}}``); they win over the file, which wins over the preset.
    """
    data = read_experiment(config_path) if config_path is not None else {}
    where = str(config_path) if config_path is not None else "settings"
    merged = merge(data, flags)
    preset_name = merged.get("preset", "default")
    if not isinstance(preset_name, str):
        raise JointrecError(f"{where}: preset = {preset_name!r}: expected a preset name")
    config = preset(preset_name)
    sections = {
        name: coerce(type(getattr(config, name)), merged.get(name, {}), f"{where} [{name}]")
        for name in RUN_SECTIONS
    }
    config = config.replace(**sections)
    data_values = coerce(DataConfig, merged.get("data", {}), f"{where} [data]")
    data_config = DataConfig(**data_values)
    name = merged.get("name")
    if name is None:
        name = Path(config_path).stem if config_path is not None else "joint"
    out = merged.get("out")
    return Experiment(
        name=str(name),
        run=config,
        data=data_config,
        out=None if out is None else str(out),
        config_path=None if config_path is None else str(config_path),
        provenance=dict(data.get("provenance", {})),
    )


def coerce(cls: type, values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Checks ``values`` against the field types of dataclass ``cls``; ``"none"`` -> ``None``.

    Raises:
        JointrecError: naming the key, the value and the expected type.

    Example:
        >>> from jointrec.settings import TrainConfig
        >>> coerce(TrainConfig, {"learning_rate": 1}, "exp.toml [train]")
        {'learning_rate': 1.0}
    """
    if not isinstance(values, Mapping):
        raise JointrecError(f"{where} must be a table of settings, got {values!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    out = {}
    for key, value in values.items():
        if key not in names:
            raise JointrecError(f"{where}: unknown setting {key!r}: expected one of {names}")
        try:
            out[key] = _check(hints[key], value)
        except TypeError as err:
            raise JointrecError(f"{where}: {key} = {value!r} is invalid: expected {err}") from None
    return out


def _check(tp: Any, value: Any) -> Any:
    """``value`` converted to type ``tp``; raises TypeError(description of ``tp``)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if type(None) in args and (value is None or (isinstance(value, str) and value == NONE)):
            return None
        options = [a for a in args if a is not type(None)]
        for option in options:
            try:
                return _check(option, value)
            except TypeError:
                continue
        raise TypeError(" or ".join([_describe(o) for o in options] + ['"none"']))
    if origin is typing.Literal:
        if value in args:
            return value
        raise TypeError(f"one of {list(args)}")
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise TypeError("true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise TypeError("an integer")
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        raise TypeError("a number")
    if tp is str:
        if isinstance(value, str):
            return value
        raise TypeError("a string")
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise TypeError(_describe(tp))
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_check(args[0], v) for v in value)
        if len(value) != len(args):
            raise TypeError(_describe(tp))
        return tuple(_check(a, v) for a, v in zip(args, value, strict=True))
    if tp is FeatureTableConfig:
        if isinstance(value, str | dict):
            return value
        raise TypeError("a file path or a table with 'path', 'id_col' and 'features'")
    return value


def _describe(tp: Any) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {_describe(args[0]).removeprefix('a ').removeprefix('an ')}s"
        return f"a list of {len(args)} numbers"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _none_to_text(value: Any) -> Any:
    if value is None:
        return NONE
    if isinstance(value, dict):
        return {k: _none_to_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_none_to_text(v) for v in value]
    return value


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
        if tuple(getattr(config.model, f"{side}_features")) in ((), ("auto",)):
            names = [spec["name"] for spec in table.metadata["feature_specs"]]
            changes[f"{side}_features"] = tuple(names)
    return config.replace(model=changes) if changes else config


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
    from jointrec.data.data_config import load_data
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
