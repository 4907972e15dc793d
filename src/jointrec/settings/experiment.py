"""`Experiment`: everything a command runs on, in one place, and the one resolver that makes
it from a preset, an experiment file and overrides (the command line's flags).

An experiment file (TOML) has the top-level keys ``name``, ``preset`` and ``out`` and the
sections ``[data]`` (`DataConfig`), ``[model]`` (with ``[model.towers]``,
``[model.retrieval]``, ``[model.rating]``, ``[model.multitask]``), ``[train]``, ``[split]``
and ``[eval]``. Settings are resolved in this order, later winning: the preset, the file,
the overrides. Relative paths in a file are relative to the file's folder. TOML has no null:
write ``"none"`` for an empty optional setting (``rating_col = "none"``). A run manifest
(``manifest.toml``) is itself an experiment file, so ``jointrec train --config
runs/X/manifest.toml`` repeats run X; files written by jointrec 0.1 (a flat ``[model]``
table) still read.

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
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jointrec.errors import JointrecError
from jointrec.settings.data import DataConfig, FeatureTableConfig
from jointrec.settings.model import group_legacy_names
from jointrec.settings.presets import preset
from jointrec.settings.run import SECTIONS, RunConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

RUN_SECTIONS = tuple(SECTIONS)
TOP_LEVEL = ("name", "preset", "out", "data", *RUN_SECTIONS, "provenance")
NONE = "none"
DEFAULT_OUT = "runs/joint"


@dataclass(frozen=True)
class Experiment:
    """A fully resolved run: data, settings, and where to write it.

    Args:
        name: Short name (the config file's name by default), used for the run directory.
        run: Model, training, split and evaluation settings.
        data: The data to train on.
        out: Run directory; ``None`` picks one (see `output_dir`).
        config_path: The experiment file it came from, if any.
        provenance: The ``[provenance]`` table when the file is a run manifest.
    """

    name: str = "joint"
    run: RunConfig = field(default_factory=preset)
    data: DataConfig = field(default_factory=DataConfig)
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

    def replace(self, **changes: Any) -> Experiment:
        """A copy with some fields replaced."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The settings as an experiment file holds them (``"none"`` for ``None``)."""
        out: dict[str, Any] = {"name": self.name, "preset": self.run.preset}
        out["data"] = self.data.to_dict()
        run = self.run.to_dict()
        out.update({section: run[section] for section in RUN_SECTIONS})
        return none_to_text(out)


def read_experiment(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Reads an experiment file into plain data; relative data paths become absolute.

    Raises:
        JointrecError: when the file is missing, is not TOML, or has unknown keys.
    """
    file = Path(path).expanduser()
    if file.is_dir():
        raise JointrecError(
            f"experiment file {str(path)!r} is a directory: expected a TOML file (a run's "
            f"settings are in {str(path).rstrip('/')}/manifest.toml)"
        )
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
    config_path: str | os.PathLike[str] | None, overrides: Mapping[str, Any] | None = None
) -> Experiment:
    """The experiment of a file (optional) with ``overrides`` on top: the one way settings
    are made, by every command and by `jointrec.train`.

    Args:
        config_path: Experiment TOML file, or ``None``.
        overrides: Settings shaped like the file (``{"train": {"epochs": 3}}``); they win
            over the file, which wins over the preset.
    """
    data = read_experiment(config_path) if config_path is not None else {}
    where = str(config_path) if config_path is not None else "settings"
    if "model" in data:
        data = {**data, "model": group_legacy_names(data["model"])}
    overrides = dict(overrides or {})
    if "model" in overrides:
        overrides["model"] = group_legacy_names(overrides["model"])
    merged = merge(data, overrides)
    preset_name = merged.get("preset", "default")
    if not isinstance(preset_name, str):
        raise JointrecError(f"{where}: preset = {preset_name!r}: expected a preset name")
    config = preset(preset_name)
    if "provenance" in data:
        # A run's manifest records every setting as resolved: fields added to jointrec since
        # it was written keep their off defaults, not today's preset values, so the run
        # repeats (and matches its artifact's own config).
        config = RunConfig(preset=preset_name)
    sections = {
        name: coerce(type(getattr(config, name)), merged.get(name, {}), f"{where} [{name}]")
        for name in RUN_SECTIONS
    }
    config = config.replace(**sections)
    data_values = coerce(DataConfig, merged.get("data", {}), f"{where} [data]")
    name = merged.get("name")
    if name is None:
        name = Path(config_path).stem if config_path is not None else "joint"
    out = merged.get("out")
    return Experiment(
        name=str(name),
        run=config,
        data=DataConfig(**data_values),
        out=None if out is None or out == NONE else str(out),
        config_path=None if config_path is None else str(config_path),
        provenance=dict(data.get("provenance", {})),
    )


def coerce(cls: type, values: Any, where: str) -> dict[str, Any]:
    """Checks ``values`` against the field types of dataclass ``cls`` (nested ones too);
    ``"none"`` becomes ``None``.

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
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key not in names:
            raise JointrecError(f"{where}: unknown setting {key!r}: expected one of {names}")
        tp = hints[key]
        if isinstance(tp, type) and dataclasses.is_dataclass(tp) and tp is not FeatureTableConfig:
            out[key] = coerce(tp, value, f"{where[:-1]}.{key}]" if where.endswith("]") else where)
            continue
        try:
            out[key] = _check(tp, value)
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
        if value in args and type(value) is type(args[args.index(value)]):
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
    if origin is dict:
        if isinstance(value, Mapping):
            return dict(value)
        raise TypeError("a table")
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
    if origin is typing.Literal:
        return f"one of {list(args)}"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def none_to_text(value: Any) -> Any:
    """``None`` as ``"none"`` all through ``value`` (TOML has no null)."""
    if value is None:
        return NONE
    if isinstance(value, dict):
        return {k: none_to_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [none_to_text(v) for v in value]
    return value
