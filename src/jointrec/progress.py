"""Rich progress bars that switch off cleanly (tests, ``--quiet``, non-terminals)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


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
