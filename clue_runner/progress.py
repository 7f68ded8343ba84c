"""One progress reporter with two renderings: live bars in a terminal, timestamped lines anywhere else.

What a run reports is the same either way: the run folder first, then each phase (load the model, tokenise each
split, train, evaluate dev, predict, write), the opening plan before training (examples and windows per split,
steps, epochs, device, precision, world size, recipe), training progress (step, epoch, loss, learning rate,
throughput, time left), every dev evaluation and every other event (a checkpoint, an interruption).

- In a terminal (stderr is a TTY) phases and bars are rich progress rows and the plan is a panel.
- Otherwise (`nohup`, SLURM, CI: stderr is a file) each event is one line, `<UTC time> <task> <kind>: <text>`, and
  a heartbeat repeats the current status every `log_every_s` seconds, so a log never goes quiet for longer
  than that, even while a large split is tokenised. `grep ' train: '` gives the training curve.
- `enabled=False` (`--quiet`, or a process other than the main one) makes every call a no-op.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

DEFAULT_LOG_EVERY_S = 30.0


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class _Bar:
    """One counted activity (train, dev, predict): what both renderings need to describe it."""

    def __init__(self, desc: str, total: int) -> None:
        self.desc = desc
        self.total = total
        self.done = 0
        self.started = time.perf_counter()
        self.fields: dict[str, float] = {}

    def rate(self) -> float:
        return self.done / max(1e-9, time.perf_counter() - self.started)

    def status(self) -> str:
        """`step 40/150 (27%) | epoch 0.80 | loss 2.3100 | lr 9.10e-04 | 3.21 steps/s | eta 0:34`."""
        unit, units = ("step", "steps") if self.desc == "train" else ("batch", "batches")
        parts = [f"{unit} {self.done}/{self.total} ({100 * self.done / max(1, self.total):.0f}%)"]
        if "epoch" in self.fields:
            parts.append(f"epoch {self.fields['epoch']:.2f}")
        if "loss" in self.fields:
            parts.append(f"loss {self.fields['loss']:.4f}")
        if "lr" in self.fields:
            parts.append(f"lr {self.fields['lr']:.2e}")
        rate = self.rate()
        parts.append(f"{rate:.2f} {units}/s")
        if self.done and rate > 0:
            parts.append(f"eta {_clock((self.total - self.done) / rate)}")
        return " | ".join(parts)


class Reporter:
    """Progress for a run, rendered for a terminal or as plain lines; see the module docstring.

    Args:
        enabled: False makes every call a no-op.
        console: where to write (default: stderr, so stdout keeps only results).
        log_every_s: seconds between heartbeat lines when not in a terminal.
        label: what each plain line is about (the task name), e.g. `tnews`.
        terminal: force a rendering (default: the console's own detection).
    """

    def __init__(
        self,
        enabled: bool = True,
        console: Console | None = None,
        log_every_s: float = DEFAULT_LOG_EVERY_S,
        label: str = "",
        terminal: bool | None = None,
    ) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True, highlight=False)
        self.terminal = self.console.is_terminal if terminal is None else terminal
        self.log_every_s = max(0.1, float(log_every_s))
        self.label = label
        self._progress: Progress | None = None
        self._bars: dict[TaskID, _Bar] = {}
        self._next_id = 0
        self._phase: tuple[str, float, TaskID | None] | None = None
        self._plan: dict[str, str] = {}
        self._lock = threading.Lock()
        self._last_line = time.monotonic()
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._open = False

    # ------------------------------------------------------------------------------------------- lifecycle

    def __enter__(self) -> Reporter:
        self.open()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is KeyboardInterrupt:
            self.interrupted()
        self.close()

    def open(self) -> None:
        """Start the live display or the heartbeat (idempotent)."""
        if not self.enabled or self._open:
            return
        self._open = True
        if self.terminal:
            self._progress = Progress(
                SpinnerColumn(finished_text="[green]✓[/]"),
                TextColumn("[bold]{task.description:<14}"),
                BarColumn(),
                TextColumn("{task.fields[count]}"),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TextColumn("{task.fields[eta]}"),
                console=self.console,
                transient=False,
            )
            self._progress.start()
        else:
            self._heartbeat = threading.Thread(target=self._beat, name="clue-progress", daemon=True)
            self._heartbeat.start()

    def close(self) -> None:
        """Finish the current phase and stop the display or heartbeat (idempotent)."""
        if not self._open:
            return
        self._end_phase()
        self._stop.set()
        if self._heartbeat is not None:
            self._heartbeat.join(timeout=2)
            self._heartbeat = None
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._open = False

    # ------------------------------------------------------------------------------------------- events

    def heading(self, run_dir: Any) -> None:
        """The first thing a run shows: where its files go."""
        self._event("run", f"run folder {run_dir}", style="bold")

    def phase(self, name: str, detail: str = "") -> None:
        """Start a named phase (`load model`, `tokenise train`, `write`); the previous one ends here."""
        if not self.enabled:
            return
        self.open()
        self._end_phase()
        text = f"{name} ({detail})" if detail else name
        task_id = None
        if self._progress is not None:
            task_id = self._progress.add_task(name, total=None, info=detail, eta="", count="")
        else:
            self._line("phase", f"{text}: started")
        self._phase = (text, time.perf_counter(), task_id)

    def plan(self, fields: Mapping[str, str]) -> None:
        """Remember facts for the opening panel (shown by `opening`); later calls add or replace fields."""
        self._plan.update({k: str(v) for k, v in fields.items()})

    def opening(self, fields: Mapping[str, str] | None = None) -> None:
        """Show the opening panel: the run folder first, then the plan gathered so far plus `fields`."""
        if fields:
            self.plan(fields)
        if not self.enabled or not self._plan:
            return
        self.open()
        self._end_phase()
        if self._progress is not None:
            grid = Table.grid(padding=(0, 2))
            grid.add_column(style="bold")
            grid.add_column()
            for key, value in self._plan.items():
                grid.add_row(key, value)
            title = f"clue run {self.label}".strip()
            self._progress.console.print(Panel(grid, title=title, expand=False))
        else:
            for key, value in self._plan.items():
                self._line("plan", f"{key}: {value}")

    def start(self, desc: str, total: int) -> TaskID | None:
        """A counted activity: `train` (optimizer steps), `dev` / `predict ...` (batches)."""
        if not self.enabled:
            return None
        self.open()
        self._end_phase()
        bar = _Bar(desc, total)
        with self._lock:
            if self._progress is not None:
                task_id = self._progress.add_task(desc, total=total, info="", eta="", count=f"0/{total}")
            else:
                task_id = TaskID(self._next_id)
                self._next_id += 1
            self._bars[task_id] = bar
        if self._progress is None and desc == "train":
            self._line("train", bar.status())
        return task_id

    def advance(
        self,
        task_id: TaskID | None,
        loss: float | None = None,
        lr: float | None = None,
        epoch: float | None = None,
    ) -> None:
        if task_id is None or task_id not in self._bars:
            return
        bar = self._bars[task_id]
        bar.done += 1
        for key, value in (("loss", loss), ("lr", lr), ("epoch", epoch)):
            if value is not None:
                bar.fields[key] = float(value)
        if self._progress is not None:
            info = " ".join(
                part
                for part in (
                    f"ep {bar.fields['epoch']:.2f}" if "epoch" in bar.fields else "",
                    f"loss {bar.fields['loss']:.4f}" if "loss" in bar.fields else "",
                    f"lr {bar.fields['lr']:.1e}" if "lr" in bar.fields else "",
                    f"{bar.rate():.2f}/s" if bar.desc == "train" else "",
                )
                if part
            )
            eta = ""
            if bar.rate() > 0 and bar.done < bar.total:
                eta = "eta " + _clock((bar.total - bar.done) / bar.rate())
            self._progress.update(task_id, advance=1, info=info, eta=eta, count=f"{bar.done}/{bar.total}")

    def stop(self, task_id: TaskID | None, keep: bool = False) -> None:
        """Finish a bar; inference bars are removed so only the training bar stays on screen."""
        if task_id is None or task_id not in self._bars:
            return
        bar = self._bars.pop(task_id)
        if self._progress is not None:
            if not keep:
                self._progress.remove_task(task_id)
        elif bar.desc == "train":
            self._line("train", f"{bar.status()} | finished in {_clock(time.perf_counter() - bar.started)}")

    def note(self, message: str, kind: str = "note") -> None:
        """One event worth a line of its own: a dev evaluation, a checkpoint, a warning about the run."""
        self._event(kind, message)

    def finish(self, message: str) -> None:
        """The last line: the current phase ends, then `message` (how the run ended)."""
        self._end_phase()
        self._event("done", message, style="green")

    def interrupted(self) -> None:
        """Ctrl-C: say where the run stopped (the caller's handler decides what happens next)."""
        where = self._phase[0] if self._phase else None
        for bar in self._bars.values():
            where = f"{bar.desc} {bar.status()}"
        self._event("interrupted", f"stopped by Ctrl-C{f' during {where}' if where else ''}", style="yellow")

    # ------------------------------------------------------------------------------------------- internals

    def _end_phase(self) -> None:
        if self._phase is None:
            return
        text, started, task_id = self._phase
        self._phase = None
        took = _clock(time.perf_counter() - started)
        if self._progress is not None and task_id is not None:
            self._progress.update(task_id, total=1, completed=1, info=f"done in {took}")
        elif self._progress is None:
            self._line("phase", f"{text}: done in {took}")

    def _event(self, kind: str, message: str, style: str = "") -> None:
        if not self.enabled:
            return
        if not self.terminal:
            self._line(kind, message)
        elif self._progress is not None:
            self._progress.console.print(message, style=style or None, highlight=False, markup=False)
        else:
            self.console.print(message, style=style or None, highlight=False, markup=False)

    def _line(self, kind: str, message: str) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        head = f"{stamp} {self.label} {kind}:" if self.label else f"{stamp} {kind}:"
        with self._lock:
            self.console.print(f"{head} {message}", highlight=False, markup=False, soft_wrap=True)
            self.console.file.flush()
            self._last_line = time.monotonic()

    def _beat(self) -> None:
        """Plain rendering: repeat the current status when nothing was written for `log_every_s` seconds."""
        while not self._stop.wait(min(1.0, self.log_every_s / 4)):
            if time.monotonic() - self._last_line < self.log_every_s:
                continue
            bars = list(self._bars.values())
            if bars:
                bar = bars[-1]  # the innermost activity: a dev pass inside training, else training itself
                if bar.desc == "train":
                    self._line("train", bar.status())
                else:
                    self._line(bar.desc.split()[0], f"{bar.desc} {bar.status()}")
            elif self._phase is not None:
                text, started, _ = self._phase
                self._line("phase", f"{text}: working ({_clock(time.perf_counter() - started)} so far)")
