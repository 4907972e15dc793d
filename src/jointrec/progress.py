"""Rich progress bars that switch off cleanly (tests, ``--quiet``, non-terminals)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

#: A stage that took longer than this many seconds leaves a line saying how long.
STAGE_LINE_SECONDS = 1.0


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
        yield
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    start = time.perf_counter()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        progress.add_task(description, total=None)
        yield
    seconds = time.perf_counter() - start
    if seconds > STAGE_LINE_SECONDS:
        console.print(f"{description} ... {seconds:.1f} s", highlight=False)
