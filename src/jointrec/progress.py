"""Rich progress bars that switch off cleanly (tests, ``--quiet``, non-terminals), and the
record of each stage's seconds and peak memory (`recording_stages`)."""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any, Protocol

#: A stage that took longer than this many seconds leaves a line saying how long.
STAGE_LINE_SECONDS = 1.0


@dataclass(frozen=True)
class StageRecord:
    """One stage of a command: its ``description``, wall ``seconds`` and the process's peak
    resident memory so far (``peak_rss_mb``, the high-water mark at the stage's end)."""

    description: str
    seconds: float
    peak_rss_mb: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


_RECORDS: list[list[StageRecord]] = []


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB.

    Example:
        >>> peak_rss_mb() > 0
        True
    """
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS


@contextmanager
def recording_stages() -> Iterator[list[StageRecord]]:
    """Collects a `StageRecord` of every `stage` and `timed` block run inside it.

    Example:
        >>> with recording_stages() as stages:
        ...     with timed("splitting"):
        ...         pass
        >>> [s.description for s in stages]
        ['splitting']
    """
    records: list[StageRecord] = []
    _RECORDS.append(records)
    try:
        yield records
    finally:
        _RECORDS.remove(records)


@contextmanager
def timed(description: str) -> Iterator[None]:
    """Records the block as a stage (`recording_stages`) without drawing anything (for a
    stage with its own progress bar, such as training)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        record = StageRecord(description, time.perf_counter() - start, peak_rss_mb())
        for records in _RECORDS:
            records.append(record)


class ProgressTask(Protocol):
    """What a long job reports to: ``advance(steps, **fields)``."""

    def advance(self, steps: int = 1, description: str | None = None) -> None: ...


class _Silent:
    def advance(self, steps: int = 1, description: str | None = None) -> None:
        return None


class _RichTask:
    def __init__(self, progress: object, task: object) -> None:
        self._progress, self._task = progress, task

    def advance(self, steps: int = 1, description: str | None = None) -> None:
        kwargs = {} if description is None else {"description": description}
        self._progress.update(self._task, advance=steps, **kwargs)  # type: ignore[attr-defined]


@contextmanager
def progress_task(description: str, total: int, enabled: bool = True) -> Iterator[ProgressTask]:
    """Yields a task to ``advance``; draws a rich bar on stderr when ``enabled``.

    Example:
        >>> with progress_task("training", total=3, enabled=False) as task:
        ...     task.advance(3)
    """
    if not enabled:
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as progress:
        yield _RichTask(progress, progress.add_task(description, total=total))


@contextmanager
def stage(description: str, enabled: bool = True) -> Iterator[None]:
    """Shows a spinner with the elapsed time while a stage runs (loading a file, splitting,
    building features, evaluating); a stage longer than `STAGE_LINE_SECONDS` then leaves
    one line on stderr, ``description ... 12.3 s``, so that no minute passes in silence.

    Example:
        >>> with stage("splitting", enabled=False):
        ...     pass
    """
    if not enabled:
        with timed(description):
            yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    start = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with timed(description), Progress(*columns, console=console, transient=True) as progress:
        progress.add_task(description, total=None)
        yield
    seconds = time.perf_counter() - start
    if seconds > STAGE_LINE_SECONDS:
        console.print(f"{description} ... {seconds:.1f} s", highlight=False)
