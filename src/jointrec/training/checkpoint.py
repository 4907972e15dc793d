"""Per-epoch training checkpoints, written atomically, that resume a run bit-for-bit.

A checkpoint holds everything the next epoch depends on: the model's variables, the
optimizer's variables (step counter and moments included), the state of the NumPy generator
that shuffles each epoch, the epoch counter and the history so far. Resuming from it and
training on gives the same weights and metrics as a run that was never interrupted.

Layout of a checkpoint directory (one per run, beside its artifact)::

    run.json            what the caller needs to restart the run (settings, data fingerprint)
    epoch-0003/
        state.json      format, version, epoch, generator state, history, SHA-256 of arrays.npz
        arrays.npz      model_0000..., optimizer_0000... (NumPy, no pickles)

Each ``epoch-NNNN`` directory is written to a temporary sibling, flushed and renamed, so a kill
at any moment leaves the previous checkpoints intact; only the newest ``keep`` are kept.

Example:
    >>> import tempfile, pathlib
    >>> store = CheckpointDir(pathlib.Path(tempfile.mkdtemp()) / "run.checkpoints")
    >>> rng = np.random.default_rng(0)
    >>> ckpt = TrainingCheckpoint(1, [np.ones(2, np.float32)], [np.zeros(1)], rng_state(rng),
    ...                           history=[{"epoch": 1, "loss": 0.5}])
    >>> _ = store.save(ckpt)
    >>> store.latest().epoch, store.latest().model_values[0].tolist()
    (1, [1.0, 1.0])
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jointrec.errors import JointrecError
from jointrec.files import (
    TMP_MARK,
    atomic_directory,
    load_npz,
    read_json,
    sha256_hex,
    write_bytes_atomic,
    write_json,
)

FORMAT = "jointrec-checkpoint"
FORMAT_VERSION = 1
SUFFIX = ".checkpoints"
_EPOCH_DIR = re.compile(r"^epoch-(\d{4,})$")


def checkpoint_dir_for(out: str | os.PathLike[str]) -> Path:
    """Where the checkpoints of the run writing artifact ``out`` live: ``<out>.checkpoints``.

    Example:
        >>> checkpoint_dir_for("runs/joint").as_posix()
        'runs/joint.checkpoints'
    """
    out = Path(out).expanduser()
    if out.name.endswith(SUFFIX):
        return out
    return out.with_name(out.name + SUFFIX)


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """JSON-ready state of a NumPy generator (restored exactly by `set_rng_state`)."""
    return dict(rng.bit_generator.state)


def set_rng_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    """Restores a state saved by `rng_state`, with a clear error when it does not fit."""
    expected = rng.bit_generator.state.get("bit_generator")
    got = state.get("bit_generator") if isinstance(state, dict) else state
    if got != expected:
        raise JointrecError(
            f"checkpoint generator state is for {got!r}: expected {expected!r}; the "
            "checkpoint does not belong to this trainer"
        )
    try:
        rng.bit_generator.state = state
    except (TypeError, ValueError, KeyError) as err:
        raise JointrecError(f"checkpoint generator state is invalid ({err!r})") from None


@dataclass(frozen=True)
class TrainingCheckpoint:
    """The training state after ``epoch`` complete epochs.

    Args:
        epoch: Epochs completed.
        model_values: The model's trainable then non-trainable variable values.
        optimizer_values: The optimizer's variable values.
        rng: State of the epoch shuffler (`rng_state`).
        history: Per-epoch logs of the completed epochs.
        stopped: Training was stopped early (by an epoch callback) after ``epoch``.
        callback_state: JSON-ready state of the epoch callback (e.g. early stopping's best
            score and patience), from its ``checkpoint_state()``.
        callback_values: Arrays of the epoch callback (e.g. the best epoch's weights).
        path: Directory it was read from, when loaded.

    An epoch callback that keeps state across epochs takes part by having two methods:
    ``checkpoint_state() -> (dict, list[np.ndarray])`` and
    ``restore_checkpoint_state(state, values)``.
    """

    epoch: int
    model_values: list[np.ndarray]
    optimizer_values: list[np.ndarray]
    rng: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped: bool = False
    callback_state: dict[str, Any] = field(default_factory=dict)
    callback_values: list[np.ndarray] = field(default_factory=list)
    path: Path | None = None

    @classmethod
    def capture(
        cls,
        epoch: int,
        model: Any,
        optimizer_values: list[np.ndarray],
        rng: np.random.Generator,
        history: list[dict[str, Any]],
        stopped: bool = False,
        callback: Any = None,
    ) -> TrainingCheckpoint:
        """Copies the current state (the model must hold the epoch's weights)."""
        state, values = {}, []
        if hasattr(callback, "checkpoint_state"):
            state, values = callback.checkpoint_state()
        return cls(
            epoch=epoch,
            model_values=[np.array(v.value, copy=True) for v in model_variables(model)],
            optimizer_values=[np.array(v, copy=True) for v in optimizer_values],
            rng=rng_state(rng),
            history=[dict(entry) for entry in history],
            stopped=stopped,
            callback_state=dict(state),
            callback_values=[np.array(v, copy=True) for v in values],
        )

    def restore_model(self, model: Any) -> None:
        """Assigns the saved values to ``model``'s variables, checking count and shapes."""
        variables = model_variables(model)
        _check_shapes("model", [tuple(v.shape) for v in variables], self.model_values, self.path)
        for var, value in zip(variables, self.model_values, strict=True):
            var.assign(value)

    def check_optimizer(self, current: list[np.ndarray]) -> None:
        """Raises `JointrecError` unless the saved optimizer values fit ``current``'s shapes."""
        _check_shapes(
            "optimizer", [tuple(np.shape(v)) for v in current], self.optimizer_values, self.path
        )

    def restore_training(
        self,
        state: Any,
        rng: np.random.Generator,
        history: Any,
        epochs: int,
        callback: Any = None,
    ) -> int:
        """Restores the optimizer (into a `jointrec.backend.StepRunner`), the shuffler, the
        history and the epoch callback's state.

        Returns:
            The first epoch still to train (``epochs`` when the run had stopped early).
        """
        self.check_optimizer(state.optimizer_values())
        state.set_optimizer_values(self.optimizer_values)
        set_rng_state(rng, self.rng)
        history.epochs = [dict(entry) for entry in self.history]
        if hasattr(callback, "restore_checkpoint_state"):
            callback.restore_checkpoint_state(self.callback_state, self.callback_values)
        return epochs if self.stopped else min(self.epoch, epochs)


def model_variables(model: Any) -> list[Any]:
    """The variables a checkpoint stores, in a fixed order: trainable, then non-trainable."""
    return [*model.trainable_variables, *model.non_trainable_variables]


def _check_shapes(
    what: str, expected: list[tuple[int, ...]], values: list[np.ndarray], where: Path | None
) -> None:
    got = [tuple(np.shape(v)) for v in values]
    if got != expected:
        raise JointrecError(
            f"checkpoint {where or ''} holds {len(got)} {what} variables of shapes "
            f"{got[:4]}...: expected {len(expected)} of shapes {expected[:4]}...; it was "
            "written by a different model or data: start afresh with --overwrite"
        )


class CheckpointDir:
    """The checkpoints of one run: ``run.json`` plus one ``epoch-NNNN`` directory per save.

    Args:
        path: The directory (created on the first write).
        keep: How many of the newest epoch checkpoints to keep (>= 1).
    """

    def __init__(self, path: str | os.PathLike[str], keep: int = 2) -> None:
        if keep < 1:
            raise JointrecError(f"keep={keep} is invalid: expected at least 1 checkpoint")
        self.path = Path(path).expanduser()
        self.keep = keep

    def __repr__(self) -> str:
        return f"CheckpointDir({str(self.path)!r})"

    def exists(self) -> bool:
        """Whether a run has written anything here."""
        return (self.path / "run.json").is_file() or bool(self.epochs())

    def write_info(self, info: dict[str, Any]) -> None:
        """Records what is needed to restart the run (atomically, before the first epoch)."""
        import json

        payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "run": info}
        text = json.dumps(payload, indent=1, default=_json_default)
        write_bytes_atomic(self.path / "run.json", text.encode("utf-8"))

    def read_info(self) -> dict[str, Any]:
        """The ``info`` given to `write_info`."""
        data = read_json(self.path / "run.json", "checkpoint")
        _check_format(data, self.path / "run.json")
        info = data.get("run")
        if not isinstance(info, dict):
            raise JointrecError(f"{self.path / 'run.json'} is corrupt: expected a 'run' mapping")
        return info

    def epochs(self) -> list[int]:
        """Epoch numbers of the complete checkpoints, ascending (temporary dirs ignored)."""
        if not self.path.is_dir():
            return []
        found = []
        for child in self.path.iterdir():
            match = _EPOCH_DIR.match(child.name)
            if match and child.is_dir():
                found.append(int(match.group(1)))
        return sorted(found)

    def save(self, checkpoint: TrainingCheckpoint) -> Path:
        """Writes ``checkpoint`` atomically and prunes all but the newest ``keep``."""
        target = self.path / f"epoch-{checkpoint.epoch:04d}"
        self.path.mkdir(parents=True, exist_ok=True)
        with atomic_directory(target, overwrite=True) as tmp:
            arrays = {f"model_{j:04d}": v for j, v in enumerate(checkpoint.model_values)}
            arrays.update(
                {f"optimizer_{j:04d}": v for j, v in enumerate(checkpoint.optimizer_values)}
            )
            arrays.update(
                {f"callback_{j:04d}": v for j, v in enumerate(checkpoint.callback_values)}
            )
            with open(tmp / "arrays.npz", "wb") as f:
                np.savez(f, **arrays)  # type: ignore[arg-type]
            write_json(
                tmp / "state.json",
                {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "epoch": checkpoint.epoch,
                    "stopped": checkpoint.stopped,
                    "rng": checkpoint.rng,
                    "history": checkpoint.history,
                    "model_variables": len(checkpoint.model_values),
                    "optimizer_variables": len(checkpoint.optimizer_values),
                    "callback": checkpoint.callback_state,
                    "callback_values": len(checkpoint.callback_values),
                    "sha256": {"arrays.npz": sha256_hex(tmp / "arrays.npz")},
                },
            )
        for old in self.epochs()[: -self.keep]:
            shutil.rmtree(self.path / f"epoch-{old:04d}", ignore_errors=True)
        return target

    def latest(self) -> TrainingCheckpoint | None:
        """The newest complete checkpoint, or ``None`` when no epoch was saved yet.

        Raises:
            JointrecError: the newest checkpoint is corrupt or from a newer jointrec.
        """
        epochs = self.epochs()
        return self.load(epochs[-1]) if epochs else None

    def load(self, epoch: int) -> TrainingCheckpoint:
        """Reads the checkpoint of ``epoch``, verifying its format, version and checksum."""
        where = self.path / f"epoch-{epoch:04d}"
        state = read_json(where / "state.json", "checkpoint")
        _check_format(state, where / "state.json")
        expected = (state.get("sha256") or {}).get("arrays.npz")
        if not (where / "arrays.npz").is_file():
            raise JointrecError(f"checkpoint {where} is incomplete: arrays.npz is missing")
        if expected != sha256_hex(where / "arrays.npz"):
            raise JointrecError(
                f"checkpoint {where}/arrays.npz is corrupt (its SHA-256 differs from "
                f"state.json): delete {where} to resume from the checkpoint before it"
            )
        arrays = load_npz(where / "arrays.npz", "checkpoint")
        try:
            n_model, n_opt = int(state["model_variables"]), int(state["optimizer_variables"])
            model_values = [arrays[f"model_{j:04d}"] for j in range(n_model)]
            optimizer_values = [arrays[f"optimizer_{j:04d}"] for j in range(n_opt)]
            history = [dict(entry) for entry in state["history"]]
            n_callback = int(state.get("callback_values", 0))
            callback_values = [arrays[f"callback_{j:04d}"] for j in range(n_callback)]
            checkpoint = TrainingCheckpoint(
                epoch=int(state["epoch"]),
                model_values=model_values,
                optimizer_values=optimizer_values,
                rng=dict(state["rng"]),
                history=history,
                stopped=bool(state.get("stopped", False)),
                callback_state=dict(state.get("callback") or {}),
                callback_values=callback_values,
                path=where,
            )
        except (KeyError, TypeError, ValueError) as err:
            raise JointrecError(f"checkpoint {where} is corrupt ({err!r})") from None
        if checkpoint.epoch != epoch or len(history) != epoch:
            raise JointrecError(
                f"checkpoint {where} is corrupt: it says epoch {checkpoint.epoch} with "
                f"{len(history)} history entries, expected epoch {epoch}"
            )
        return checkpoint

    def remove(self) -> None:
        """Deletes the directory (after the run's artifact is safely written)."""
        shutil.rmtree(self.path, ignore_errors=True)

    def clean_temporary(self) -> None:
        """Removes ``*.tmp-*`` leftovers of a writer that was killed mid-write."""
        if self.path.is_dir():
            for child in self.path.iterdir():
                if TMP_MARK in child.name:
                    if child.is_dir():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink(missing_ok=True)


def _check_format(data: Any, where: Path) -> None:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise JointrecError(f"{where} is not a {FORMAT} file: the checkpoint is corrupt")
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise JointrecError(f"{where} has an invalid format_version {version!r}: expected 1")
    if version > FORMAT_VERSION:
        raise JointrecError(
            f"{where} has format version {version}; this jointrec reads checkpoint versions "
            f"<= {FORMAT_VERSION}: upgrade jointrec to resume this run"
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
