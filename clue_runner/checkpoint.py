"""Training checkpoints under `<run>/checkpoints/`: complete or absent, never half-written.

    checkpoints/step-00000120/   Accelerate's save_state (model, optimizer, scheduler, grad scaler, the python /
                                 numpy / torch / CUDA RNG states of every process) + loop_state.json (step,
                                 sampler epoch and position, best score so far, dev history, counters)
    checkpoints/best-00000100/   the best dev state so far: model.safetensors + best.json (step, metrics)

A checkpoint is written into a hidden temp folder and renamed into place; older ones are removed only after the
newer one is complete (Accelerate's `total_limit` deletes first, so it is not used). A best-state folder is kept
while a kept checkpoint refers to it, and the newest one always.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clue_runner.results import atomic_write_text

if TYPE_CHECKING:
    import torch
    from accelerate import Accelerator

FOLDER = "checkpoints"
STATE_FILE = "loop_state.json"
BEST_WEIGHTS = "model.safetensors"
BEST_FILE = "best.json"
_STEP = re.compile(r"^step-(\d+)$")
_BEST = re.compile(r"^best-(\d+)$")


def folder(run_dir: Path) -> Path:
    return Path(run_dir) / FOLDER


def _numbered(run_dir: Path, pattern: re.Pattern[str], marker: str) -> list[tuple[int, Path]]:
    root = folder(run_dir)
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        match = pattern.match(path.name)
        if match and (path / marker).is_file():  # the marker is written last: its presence means complete
            found.append((int(match.group(1)), path))
    return sorted(found)


def checkpoints(run_dir: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints as (step, folder), oldest first."""
    return _numbered(run_dir, _STEP, STATE_FILE)


def latest(run_dir: Path) -> Path | None:
    found = checkpoints(run_dir)
    return found[-1][1] if found else None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, final: Path) -> None:
    """Rename a finished temp folder into place (replacing an older folder of the same name)."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    _fsync_dir(final.parent)


def save(accelerator: Accelerator, run_dir: Path, step: int, loop_state: dict[str, Any], keep: int) -> Path:
    """Write a checkpoint of the whole training state (every process takes part); returns its folder."""
    root = folder(run_dir)
    final = root / f"step-{step:08d}"
    tmp = root / f".step-{step:08d}.tmp"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    accelerator.save_state(str(tmp))
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        atomic_write_text(tmp / STATE_FILE, json.dumps(loop_state, ensure_ascii=False) + "\n")
        _publish(tmp, final)
        prune(run_dir, keep)
    accelerator.wait_for_everyone()
    return final


def load(accelerator: Accelerator, checkpoint: Path) -> dict[str, Any]:
    """Restore model, optimizer, scheduler, scaler and RNGs in place; returns the loop state."""
    accelerator.load_state(str(checkpoint))
    state: dict[str, Any] = json.loads((checkpoint / STATE_FILE).read_text(encoding="utf-8"))
    return state


def save_best(run_dir: Path, step: int, state: dict[str, torch.Tensor], metrics: dict[str, float]) -> None:
    """Write the best dev state so far (main process only), atomically."""
    from safetensors.torch import save_file

    root = folder(run_dir)
    final = root / f"best-{step:08d}"
    tmp = root / f".best-{step:08d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp / BEST_WEIGHTS))
    atomic_write_text(tmp / BEST_FILE, json.dumps({"step": step, "metrics": metrics}) + "\n")
    _publish(tmp, final)


def load_best(run_dir: Path, step: int) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    path = folder(run_dir) / f"best-{step:08d}" / BEST_WEIGHTS
    if not path.is_file():
        from clue_runner.errors import ClueError

        raise ClueError(f"{path} is missing: the checkpoint's best state (step {step}) cannot be restored")
    return load_file(str(path))


def prune(run_dir: Path, keep: int) -> None:
    """Keep the newest `keep` checkpoints, the best states they refer to and the newest best state."""
    found = checkpoints(run_dir)
    kept, dropped = found[-keep:] if keep > 0 else [], found[: max(0, len(found) - keep)]
    for _, path in dropped:
        shutil.rmtree(path, ignore_errors=True)
    wanted = set()
    for _, path in kept:
        best_step = json.loads((path / STATE_FILE).read_text(encoding="utf-8")).get("best_step")
        if isinstance(best_step, int):
            wanted.add(best_step)
    bests = _numbered(run_dir, _BEST, BEST_FILE)
    if bests:
        wanted.add(bests[-1][0])
    for step, path in bests:
        if step not in wanted:
            shutil.rmtree(path, ignore_errors=True)


def remove_all(run_dir: Path) -> None:
    shutil.rmtree(folder(run_dir), ignore_errors=True)


@dataclass
class Checkpointer:
    """What the training loop asks about checkpoints: when one is due, where it goes, where to start from.

    every: `train.save_every`: None = after every dev evaluation, 0 = never, N = every N optimizer steps.
    """

    run_dir: Path
    every: int | None
    keep: int
    resume_from: Path | None = None

    @property
    def enabled(self) -> bool:
        return self.every != 0

    def due(self, step: int, evaluated: bool) -> bool:
        if self.every is None:
            return evaluated
        return self.every > 0 and step % self.every == 0

    def save(self, accelerator: Accelerator, step: int, loop_state: dict[str, Any]) -> Path:
        return save(accelerator, self.run_dir, step, loop_state, self.keep)

    def save_best(self, step: int, state: dict[str, torch.Tensor], metrics: dict[str, float]) -> None:
        save_best(self.run_dir, step, state, metrics)
        prune(self.run_dir, self.keep)
