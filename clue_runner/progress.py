"""One progress reporter (rich): steps, loss, throughput and ETA; silent off the main process or when disabled."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


class Reporter:
    """Progress bars for training and inference; `enabled=False` makes every call a no-op."""

    def __init__(self, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True)
        self._progress: Progress | None = None
        self._started: dict[TaskID, float] = {}
        self._done: dict[TaskID, int] = {}

    def __enter__(self) -> Reporter:
        if self.enabled:
            self._progress = Progress(
                TextColumn("[bold]{task.description:<8}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=self.console,
                transient=False,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def start(self, desc: str, total: int) -> TaskID | None:
        if self._progress is None:
            return None
        task_id = self._progress.add_task(desc, total=total, info="")
        self._started[task_id] = time.perf_counter()
        self._done[task_id] = 0
        return task_id

    def advance(self, task_id: TaskID | None, loss: float | None = None) -> None:
        if self._progress is None or task_id is None:
            return
        self._progress.advance(task_id)
        self._done[task_id] += 1
        if loss is not None:
            rate = self._done[task_id] / max(1e-9, time.perf_counter() - self._started[task_id])
            self._progress.update(task_id, info=f"loss {loss:.4f}  {rate:.2f} steps/s")

    def stop(self, task_id: TaskID | None, keep: bool = False) -> None:
        """Finish a bar; inference bars are removed so only the training bar stays on screen."""
        if self._progress is not None and task_id is not None and not keep:
            self._progress.remove_task(task_id)

    def note(self, message: str) -> None:
        if self._progress is not None:
            self._progress.console.print(message, highlight=False, markup=False)
