"""`clue bench`: a restartable sweep of (task, grid point, seed) cells, each one `clue run` into
`<out>/<task>/seed<k>/`, or `<out>/<task>/<key>=<value>_.../seed<k>/` for a point of a `--grid` search.

Cells run in this process through `runner.run_task` (not as subprocesses), so `accelerate launch -m clue_runner
bench ...` spreads every cell over the launched processes exactly as it would a single `clue run`.

Restart rule: a cell counts as done only when its results.json says `completed`. An interrupted cell (stopped by
a signal, or `running` with its process gone) that has a checkpoint and the requested configuration is resumed
from it; anything else in a cell folder (a failed run, stray files) is replaced by a fresh run. A done cell is
skipped, but only if it was run with the same model and configuration as requested now: a changed `--set` would
otherwise silently keep stale scores, so that is refused before any work starts. A failing cell is recorded (its
results.json, and `<out>/bench.json`) and the sweep goes on.

Sharing a sweep: each cell is claimed with its run folder's lock (runlock) before it runs, so several `clue bench`
processes over one sweep folder (one per GPU, or a SLURM job array on a shared filesystem) split the cells: a
cell held by a live process is passed over, a cell whose process died is taken over. `--shard K/N` instead
gives each process a fixed share of the cells.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clue_runner import config as config_mod
from clue_runner import runlock
from clue_runner.errors import ClueError, unknown
from clue_runner.recipes import DEFAULT_RECIPE
from clue_runner.registry import TASKS
from clue_runner.results import read_results, write_json

log = logging.getLogger("clue_runner")

BENCH_FILE = "bench.json"


@dataclass
class Cell:
    """One (task, grid point, seed) cell of a sweep and how it ended.

    status: "skipped" (completed earlier), "completed", "failed" (the run failed or raised), "interrupted"
    (stopped by SIGTERM / Ctrl-C, resumable), "elsewhere" (another live process was running it), "pending"
    (not reached: the sweep was interrupted before it).
    """

    task: str
    seed: int
    dir: Path
    status: str = "pending"
    source: str = ""  # the task file a user task comes from (`run` gets this instead of the name)
    metric: str | None = None
    score: float | None = None
    error: str | None = None
    seconds: float | None = None
    grid: dict[str, str] = field(default_factory=dict)  # dotted key -> value text, this cell's grid point
    stopped_at: int | None = field(default=None, repr=False)  # an interrupted cell's last optimizer step
    exit_code: int | None = field(default=None, repr=False)
    config: dict[str, Any] = field(default_factory=dict, repr=False)  # the merged config this cell runs with

    @property
    def sets(self) -> list[str]:
        """The grid point as `--set` assignments (applied after the sweep's own --set)."""
        return [f"{key}={value}" for key, value in self.grid.items()]

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["dir"] = str(self.dir)
        del out["stopped_at"], out["exit_code"], out["config"]
        return out


def parse_tasks(value: str) -> list[str]:
    """`all` (the 11 tasks, registry order) or a comma-separated list of task names and task files (*.yaml, kept
    as given); duplicates dropped."""
    from clue_runner.tasks._custom import is_task_file, load_task_file

    if value.strip().lower() == "all":
        return list(TASKS)
    names: list[str] = []
    for part in value.split(","):
        name = part.strip()
        if is_task_file(name):
            load_task_file(name, reserved=list(TASKS))  # a bad file is refused before any cell runs
        else:
            name = name.lower()
        if not name:
            continue
        if name not in TASKS and not is_task_file(name):
            raise unknown("task", name, TASKS)
        if name not in names:
            names.append(name)
    if not names:
        raise ClueError("--tasks is empty: give `all` or task names separated by commas")
    return names


def parse_seeds(value: str | None) -> list[int]:
    """A comma-separated list of integer seeds (`1,2,3`); None gives [] (= the config's `seed`, see run_bench)."""
    if value is None:
        return []
    seeds: list[int] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        try:
            seed = int(part)
        except ValueError:
            raise ClueError(f"--seeds: {part!r} is not an integer (expected e.g. 1,2,3)") from None
        if seed not in seeds:
            seeds.append(seed)
    if not seeds:
        raise ClueError("--seeds is empty (expected e.g. 1,2,3)")
    return seeds


def parse_grid(values: Sequence[str]) -> list[dict[str, str]]:
    """`--grid key=v1,v2` (repeatable) -> every combination as {key: value text}; no --grid gives [{}].

    The first --grid varies slowest. Values stay text: they go through the same parsing as `--set`.
    """
    axes: list[tuple[str, list[str]]] = []
    for spec in values:
        key, sep, raw = spec.partition("=")
        key = key.strip()
        options = list(dict.fromkeys(v.strip() for v in raw.split(",") if v.strip()))
        if not sep or not key or not options:
            raise ClueError(f"--grid {spec!r}: expected key=value,value,... e.g. --grid train.lr=1e-5,2e-5")
        if key in (k for k, _ in axes):
            raise ClueError(f"--grid {key} is given twice; list all its values in one --grid")
        if key in ("seed", "model"):
            raise ClueError(f"--grid {key}: use --seeds / separate sweeps per model instead")
        axes.append((key, options))
    return [
        dict(zip([k for k, _ in axes], combo, strict=True))
        for combo in itertools.product(*(o for _, o in axes))
    ]


def grid_folder(grid: dict[str, str]) -> str:
    """A folder name that says the grid point's values, e.g. `lr=2e-5_batch_size=32`."""
    short = [key.rsplit(".", 1)[-1] for key in grid]
    names = short if len(set(short)) == len(short) else list(grid)
    return "_".join(
        f"{name}={value}".replace("/", "-") for name, value in zip(names, grid.values(), strict=True)
    )


class SweepInterrupted(Exception):
    """A cell was stopped by SIGTERM / Ctrl-C (with a checkpoint); the sweep stops too."""

    def __init__(self, cell: Cell, step: int | None, exit_code: int) -> None:
        super().__init__(f"{cell.task} seed {cell.seed} interrupted at step {step}")
        self.cell, self.step, self.exit_code = cell, step, exit_code


def parse_shard(value: str | None) -> tuple[int, int] | None:
    """`K/N` (1 <= K <= N) -> (K, N); None -> None."""
    if value is None:
        return None
    parts = value.split("/")
    try:
        k, n = (int(p) for p in parts)
    except ValueError:
        raise ClueError(f"--shard {value!r}: expected K/N, e.g. 2/4 (the second of four shares)") from None
    if not 1 <= k <= n:
        raise ClueError(f"--shard {value!r}: K must be between 1 and N")
    return k, n


def cell_dir(output_dir: Path, task: str, seed: int, grid: dict[str, str] | None = None) -> Path:
    base = Path(output_dir) / task
    return (base / grid_folder(grid) if grid else base) / f"seed{seed}"


def _normalised(tree: dict[str, Any]) -> Any:
    # results.json holds the config after a JSON round trip (tuples -> lists); compare like with like.
    return json.loads(json.dumps(tree, default=str))


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} -> {new!r}"]


def plan(
    tasks: Sequence[str],
    seeds: Sequence[int],
    output_dir: Path,
    model: str | None,
    config_files: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    recipe: str | None = DEFAULT_RECIPE,
    grid: Sequence[dict[str, str]] = ({},),
    shard: tuple[int, int] | None = None,
) -> list[Cell]:
    """The sweep's cells (with `shard` (K, N), this shard's: every N-th from the K-th, in task / grid point /
    seed order), done ones marked `skipped`; checks every config and every done cell before any work.

    Raises:
        ClueError: a bad --config / --set / --grid, or a completed cell that was run with another model or
            configuration.
    """
    from clue_runner.tasks._custom import is_task_file, load_task_file

    cells = []
    clashes = []
    combos = list(itertools.product(tasks, grid, seeds))
    if shard is not None:
        combos = combos[shard[0] - 1 :: shard[1]]
    for arg, point, seed in combos:
        task = load_task_file(arg).name if is_task_file(arg) else arg
        cell = Cell(task=task, seed=seed, dir=cell_dir(output_dir, task, seed, point), grid=dict(point))
        cell.source = arg if arg != task else ""
        # Merging now surfaces a bad --set or --grid for any task before the first cell spends time training.
        tree = config_mod.merged_dict(
            task, list(config_files), [*sets, *cell.sets], {"model": model, "seed": seed}, recipe
        )
        config_mod.build(tree)
        cell.config = tree
        results = read_results(cell.dir)
        if results is not None and results.get("status") == "completed":
            diff = _differences(_normalised(results.get("config") or {}), _normalised(tree))
            if diff:
                clashes.append(f"{cell.dir}: {'; '.join(diff[:3])}{' ...' if len(diff) > 3 else ''}")
            cell.status = "skipped"
            _fill_score(cell, results)
        cells.append(cell)
    if clashes:
        raise ClueError(
            "completed cells were run with a different model or configuration (use another --output-dir, or "
            "delete those cell folders to re-run them): " + " | ".join(clashes)
        )
    return cells


def _fill_score(cell: Cell, results: dict[str, Any]) -> None:
    from clue_runner.report import figure, figure_metric

    cell.metric = figure_metric(cell.task, results)
    cell.score = figure(results)
    timings = results.get("timings") or {}
    if isinstance(timings.get("total_s"), (int, float)):
        cell.seconds = float(timings["total_s"])


def is_main_process() -> bool:
    """True in a plain process and on rank 0 of a launch."""
    # `accelerate launch` sets RANK for every process; importing accelerate here would cost a second per call.
    return int(os.environ.get("RANK", "0")) == 0


def _barrier() -> None:
    """Line up the processes of a launch before each cell, so that they enter it together (each clears and
    prepares the cell folder). A no-op in a single process, and before the first cell (the runner's Accelerator
    sets up the process group)."""
    if int(os.environ.get("WORLD_SIZE", "1")) < 2:
        return
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def write_summary(output_dir: Path, cells: Sequence[Cell], model: str | None) -> None:
    """`<out>/bench.json`: every cell's status, score and error (main process only)."""
    if is_main_process():
        write_json(Path(output_dir) / BENCH_FILE, {"model": model, "cells": [c.as_json() for c in cells]})


RunFn = Callable[..., Any]


def run_bench(
    tasks: Sequence[str],
    model: str | None,
    seeds: Sequence[int],
    output_dir: str | Path,
    data_root: str | Path | None = None,
    config_files: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    offline: bool = False,
    progress: bool = True,
    on_cell: Callable[[Cell], None] | None = None,
    run: RunFn | None = None,
    recipe: str | None = DEFAULT_RECIPE,
    grid: Sequence[dict[str, str]] = ({},),
    resume: RunFn | None = None,
    shard: tuple[int, int] | None = None,
) -> list[Cell]:
    """Run every (task, grid point, seed) cell not yet completed and not held by another process; returns all
    cells with their status.

    Args:
        tasks: task names (see `parse_tasks`).
        model: model short name, hub id or folder (None = the config's model).
        seeds: one cell per seed per task; empty = the configured `seed` (base.yaml, --config, --set).
        output_dir: the sweep folder; cells go to `<output_dir>/<task>/seed<k>/`.
        data_root: folder holding `<task>/` data folders (None = $CLUE_DATA_DIR or the default cache).
        config_files, sets: as for `clue run`, applied to every cell.
        offline: no hub access.
        progress: show each cell's progress bars.
        on_cell: called before (status "running") and after each cell that runs, for progress lines.
        run, resume: stand in for `runner.run_task` / `runner.resume_run` (tests).
        recipe: the published recipe every cell starts from (`clue recipes`).
        grid: the grid points (see `parse_grid`); each is applied as --set after `sets`.
        shard: (K, N): only this process's fixed share of the cells.

    Raises:
        SweepInterrupted: a cell stopped on SIGTERM / Ctrl-C (it is resumed by the next `clue bench`).
    """
    from clue_runner.data import data_root as resolve_root

    out = Path(output_dir)
    if out.exists() and not out.is_dir():
        raise ClueError(f"--output-dir {out} exists and is not a folder")
    if not seeds:
        seeds = [int(config_mod.merged_dict(None, list(config_files), list(sets))["seed"])]
    cells = plan(tasks, seeds, out, model, config_files, sets, recipe, grid, shard)
    if run is None or resume is None:
        from clue_runner.runner import resume_run, run_task

        run, resume = run or run_task, resume or resume_run
    root = resolve_root(data_root) if data_root else None
    write_summary(out, cells, model)
    try:
        for cell in cells:
            if cell.status == "skipped":
                continue
            _barrier()
            action, lock = _claim(cell)
            try:
                if action == "run":
                    _run_cell(cell, run, model, root, config_files, [*sets, *cell.sets], recipe, offline,
                              progress, on_cell)  # fmt: skip
                elif action == "resume":
                    _resume_cell(cell, resume, root, offline, progress, on_cell)
            finally:
                if lock is not None:
                    lock.release()
            write_summary(out, cells, model)
            if cell.status == "interrupted":
                raise SweepInterrupted(cell, cell.stopped_at, cell.exit_code or 1)
    except KeyboardInterrupt:
        # The interrupted cell stays non-completed on disk and is resumed or re-run next time.
        for cell in cells:
            if cell.status == "running":
                cell.status, cell.error = "interrupted", "interrupted"
        write_summary(out, cells, model)
        raise
    return cells


def _agree(value: Any) -> Any:
    """Under `accelerate launch`, every process takes the main process's `value` (a claim is made once)."""
    if int(os.environ.get("WORLD_SIZE", "1")) < 2:
        return value
    import torch
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    PartialState(cpu=not torch.cuda.is_available())  # forms the process group the first time
    return broadcast_object_list([value])[0]


def _claim(cell: Cell) -> tuple[str, runlock.RunLock | None]:
    """Lock the cell's folder and decide what to do: "run" (fresh), "resume", "done" or "elsewhere".

    The decision is made once, by the process holding the lock (the main process of a launch), and shared.
    """
    from clue_runner import checkpoint

    lock: runlock.RunLock | None = None
    action, holder = "elsewhere", ""
    if is_main_process():
        try:
            lock = runlock.acquire(cell.dir, what="bench cell")
        except runlock.RunBusy:
            found = runlock.holder(cell.dir)
            holder = found.describe() if found else "another process"
        else:
            results = read_results(cell.dir) or {}
            status = results.get("status")
            # We hold the lock now, so a `running` cell's process is gone: it was interrupted.
            resumable = status in ("running", "interrupted") and checkpoint.latest(cell.dir) is not None
            same = not _differences(_normalised(results.get("config") or {}), _normalised(cell.config))
            if status == "completed" and same:
                action = "done"
            elif resumable and same:
                action = "resume"
            else:
                action = "run"
    action, holder = _agree((action, holder))
    if action == "done":
        cell.status = "completed"  # another process finished it since the plan was made
        _fill_score(cell, read_results(cell.dir) or {})
    elif action == "elsewhere":
        cell.status, cell.error = "elsewhere", f"run by {holder}"
    if action in ("done", "elsewhere") and lock is not None:
        lock.release()
        lock = None
    return action, lock


def _resume_cell(
    cell: Cell,
    resume: RunFn,
    root: Path | None,
    offline: bool,
    progress: bool,
    on_cell: Callable[[Cell], None] | None,
) -> None:
    """Take over a cell whose run was interrupted or died: continue it from its last checkpoint."""
    _attempt(cell, on_cell, lambda: resume(cell.dir, data_dir=root / cell.task if root else None,
                                           offline=offline, progress=progress))  # fmt: skip


def _run_cell(
    cell: Cell,
    run: RunFn,
    model: str | None,
    root: Path | None,
    config_files: Sequence[str | Path],
    sets: Sequence[str],
    recipe: str | None,
    offline: bool,
    progress: bool,
    on_cell: Callable[[Cell], None] | None,
) -> None:
    _attempt(
        cell,
        on_cell,
        lambda: run(
            cell.source or cell.task,
            model=model,
            data_dir=root / cell.task if root and not cell.source else None,  # a task file: its own folder
            output_dir=cell.dir,
            config_files=tuple(config_files),
            sets=tuple(sets),
            seed=cell.seed,
            recipe=recipe,
            # Whatever sits in a cell folder that is not a completed or resumable run is leftover from a killed
            # or failed attempt; every process of a launch must agree, so this is decided by the claim.
            overwrite=True,
            offline=offline,
            progress=progress,
        ),
    )


def _attempt(cell: Cell, on_cell: Callable[[Cell], None] | None, start: Callable[[], Any]) -> None:
    """Run one cell, recording how it ended; a crash is recorded and the sweep goes on."""
    cell.status = "running"
    if on_cell:
        on_cell(cell)
    began = time.perf_counter()
    try:
        outcome = start()
    except ClueError as exc:
        cell.status, cell.error = "failed", str(exc)
    except Exception as exc:  # one broken cell must not cost the rest of a long sweep
        log.exception("%s seed %d crashed", cell.task, cell.seed)
        cell.status, cell.error = "failed", f"{type(exc).__name__}: {exc}"
    else:
        results = getattr(outcome, "results", None) or read_results(cell.dir) or {}
        status = getattr(outcome, "status", None)
        cell.status = status if status in ("completed", "interrupted") else "failed"
        cell.error = results.get("error") if cell.status == "failed" else None
        cell.stopped_at = getattr(outcome, "step", None)
        cell.exit_code = getattr(outcome, "exit_code", None)
        _fill_score(cell, results)
    cell.seconds = round(time.perf_counter() - began, 3)
    if on_cell:
        on_cell(cell)
