"""What every settings dataclass checks on construction, and how values are replaced.

The settings are the one validation layer for run settings: whether they come from Python,
an experiment file or command-line flags, a bad value fails here, as one `JointrecError`
naming the setting, the value and what is allowed.

- Choices are `typing.Literal` fields; `check_choices` checks them all.
- Every ``float`` setting must be finite (`check_finite`): ``inf`` and ``nan`` are always
  mistakes, and a diverging run would only report them epochs later.

Example:
    >>> import typing
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class S:
    ...     mode: typing.Literal["a", "b"] = "a"
    ...     def __post_init__(self): check_fields(self)
    >>> S(mode="c")
    Traceback (most recent call last):
    ...
    jointrec.errors.JointrecError: mode='c' is invalid: expected one of ['a', 'b']
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any

from jointrec.errors import JointrecError


def check(ok: bool, name: str, value: Any, expected: str) -> None:
    """Raises `JointrecError` ``"{name}={value!r} is invalid: expected {expected}"`` unless ok."""
    if not ok:
        raise JointrecError(f"{name}={value!r} is invalid: expected {expected}")


def _hints(cls: type) -> dict[str, Any]:
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


_HINTS: dict[type, dict[str, Any]] = {}


def check_fields(obj: Any, prefix: str = "") -> None:
    """Checks every `Literal` field of dataclass ``obj`` and that every float is finite;
    ``prefix`` (e.g. ``"rating."``) is put before the field names in messages."""
    for name, tp in _hints(type(obj)).items():
        value = getattr(obj, name)
        options = _literal_options(tp)
        if options is not None:
            if value is None and _allows_none(tp):
                continue
            check(value in options, prefix + name, value, f"one of {list(options)}")
        elif _is_float(tp) and isinstance(value, int | float) and not isinstance(value, bool):
            check(math.isfinite(value), prefix + name, value, "a finite number")


def _literal_options(tp: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(tp) is typing.Literal:
        return typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            if typing.get_origin(arg) is typing.Literal:
                return typing.get_args(arg)
    return None


def _allows_none(tp: Any) -> bool:
    return type(None) in typing.get_args(tp)


def _is_float(tp: Any) -> bool:
    if tp is float:
        return True
    return typing.get_origin(tp) in (typing.Union, types.UnionType) and float in typing.get_args(tp)


def replace_fields(section: Any, values: Mapping[str, Any], where: str = "") -> Any:
    """A copy of dataclass ``section`` with ``values`` replaced; a mapping given for a field
    that holds a dataclass replaces fields of that dataclass (recursively).

    Raises:
        JointrecError: for unknown names or values of the wrong shape.
    """
    if not isinstance(values, Mapping):
        raise JointrecError(f"{where or type(section).__name__} must be a mapping, got {values!r}")
    names = {f.name for f in dataclasses.fields(section)}
    unknown = sorted(set(values) - names)
    label = where or type(section).__name__
    if unknown:
        raise JointrecError(f"unknown {label} settings {unknown}: expected some of {sorted(names)}")
    changes: dict[str, Any] = {}
    for key, value in values.items():
        current = getattr(section, key)
        if dataclasses.is_dataclass(current) and isinstance(value, Mapping):
            changes[key] = replace_fields(current, value, f"{label}.{key}")
        else:
            changes[key] = value
    try:
        return dataclasses.replace(section, **changes)
    except TypeError as err:  # e.g. a string where a tuple of ints was expected
        raise JointrecError(f"bad value in {label}: {err}") from None


def to_plain(section: Any) -> dict[str, Any]:
    """JSON-ready nested dicts of a settings dataclass (tuples become lists)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(section):
        value = getattr(section, f.name)
        if dataclasses.is_dataclass(value):
            out[f.name] = to_plain(value)
        elif isinstance(value, tuple):
            out[f.name] = list(value)
        else:
            out[f.name] = value
    return out
