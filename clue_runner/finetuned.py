"""Scoring and predicting with a fine-tuned checkpoint, without training: `clue evaluate/predict TASK --model CKPT`.

CKPT is a run's `best/` folder, any local folder or a hub id. A run's `best/` brings its run's config.yaml (the
max_len and task knobs it was trained with); anything else gets the config a run would use (`clue config`).
The checkpoint's labels are matched to the task's by name (`label_order`): a checkpoint whose `id2label` does not
name exactly the task's labels is refused, never relabelled.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clue_runner import config as config_mod
from clue_runner.errors import ClueError

if TYPE_CHECKING:
    from clue_runner.config import RunConfig
    from clue_runner.tasks.base import Example, Task

log = logging.getLogger("clue_runner")


def _preview(names: Sequence[str], n: int = 6) -> str:
    shown = ", ".join(names[:n])
    return shown + (f", ... ({len(names)} in all)" if len(names) > n else "")


def label_order(task: Task, id2label: dict[Any, Any] | None, where: str) -> list[int] | None:
    """For each task label (in task order) the checkpoint's output index; None when they already agree.

    Raises:
        ClueError: the checkpoint does not name exactly the task's labels (other names, generic LABEL_k names,
            another number of classes).
    """
    wanted = [str(label) for label in task.labels]
    names = [str((id2label or {})[k]) for k in sorted(id2label or {}, key=int)]
    if names == wanted:
        return None
    if sorted(names) == sorted(wanted) and len(set(names)) == len(names):
        return [names.index(label) for label in wanted]
    raise ClueError(
        f"{where}: the checkpoint's labels ({_preview(names) or 'none'}) are not {task.name}'s labels "
        f"({_preview(wanted)}); its outputs cannot be matched to the task's labels by name. Use a checkpoint "
        f"fine-tuned on {task.name} whose config.json id2label names its labels as in the data files"
    )


def check_task_file(task: Task, folder: Path) -> None:
    """A clue run's `best/` says which task it was trained on (clue_task.json); other labels are an error."""
    from clue_runner.modeling import TASK_FILE

    path = folder / TASK_FILE
    if not path.is_file():
        return
    saved = json.loads(path.read_text(encoding="utf-8"))
    if saved.get("head") not in (None, task.head):
        raise ClueError(
            f"{folder} is a {saved.get('task')} model ({saved.get('head')} head), not {task.name}"
        )
    if task.head == "entities" and list(saved.get("labels") or []) != list(task.labels):
        raise ClueError(
            f"{folder}: its entity types ({_preview(saved.get('labels') or [])}) are not {task.name}'s "
            f"({_preview(task.labels)})"
        )
    if saved.get("task") not in (None, task.name):
        log.warning("%s was fine-tuned on %s; scoring it on %s", folder, saved.get("task"), task.name)


def run_folder_of(checkpoint: str) -> Path | None:
    """The `clue run` folder a checkpoint folder belongs to (its parent holds config.yaml), or None."""
    folder = Path(checkpoint).expanduser()
    if folder.is_dir() and (folder.parent / "config.yaml").is_file():
        return folder.parent
    return None


def checkpoint_config(
    task: str,
    checkpoint: str,
    config_files: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    recipe: str | None = None,
) -> dict[str, Any]:
    """The config to score `checkpoint` with: its run's config.yaml when it is a run's best/, else what a run
    of `task` from that model would use; then --config and --set."""
    from clue_runner.recipes import DEFAULT_RECIPE

    run = run_folder_of(checkpoint)
    if run is not None:
        layers = [run / "config.yaml", *config_files]
        return config_mod.merged_dict(task, layers, list(sets), {"model": checkpoint})
    return config_mod.merged_dict(
        task, list(config_files), list(sets), {"model": checkpoint}, recipe or DEFAULT_RECIPE
    )


@dataclass
class Scored:
    """One split scored or predicted by a checkpoint."""

    split: str
    examples: list[Example]
    predictions: list[Any]
    scores: list[dict[str, Any]]  # per-example head scores (samples.head_scores)


def infer_splits(
    spec: Task, checkpoint: str, cfg: RunConfig, folder: Path, splits: Sequence[str], progress: bool
) -> list[Scored]:
    """Load the checkpoint once and decode every split in `splits`."""
    from clue_runner import loop
    from clue_runner.modelcheck import check_model_folder
    from clue_runner.modeling import build_model, load_tokenizer
    from clue_runner.progress import Reporter
    from clue_runner.registry import resolve_model
    from clue_runner.runner import featurize, make_accelerator, read_splits
    from clue_runner.samples import head_scores

    local = Path(checkpoint).expanduser()
    check_model_folder(resolve_model(checkpoint))  # a broken folder: one line, before any work
    if local.is_dir():
        check_task_file(spec, local)
    examples = read_splits(spec, folder, list(splits))
    tokenizer = load_tokenizer(checkpoint)
    accelerator = make_accelerator(cfg)
    model = accelerator.prepare(build_model(spec, checkpoint, cfg, trained=True))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    out = []
    with Reporter(enabled=progress and accelerator.is_main_process) as reporter:
        for split in splits:
            features = featurize(spec, split, examples[split], folder, tokenizer, cfg, accelerator)
            outputs = loop.infer(model, spec, features, cfg, accelerator, pad_id, reporter, split)
            predictions = spec.decode(outputs, features, examples[split], cfg)
            scores = head_scores(spec, outputs, features, len(examples[split]))
            out.append(Scored(split, examples[split], predictions, scores))
    return out


def evaluate_checkpoint(
    task: str,
    checkpoint: str,
    data_dir: str | Path | None = None,
    split: str = "dev",
    config_files: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    recipe: str | None = None,
    samples_dir: Path | None = None,
    progress: bool = True,
) -> dict[str, float]:
    """Score `checkpoint` on a labelled split; with `samples_dir`, write samples_dir/predictions/<split>.jsonl."""
    from clue_runner.data import task_data_dir
    from clue_runner.registry import resolve_task
    from clue_runner.samples import sample_lines, write_samples

    spec, data_dir = resolve_task(task, data_dir)
    labelled_split(spec, split)
    cfg = config_mod.build(checkpoint_config(spec.name, checkpoint, config_files, sets, recipe))
    folder = task_data_dir(spec, data_dir)
    (scored,) = infer_splits(spec, checkpoint, cfg, folder, [split], progress)
    if samples_dir is not None:
        write_samples(
            samples_dir, split, sample_lines(spec, scored.examples, scored.predictions, scored.scores, True)
        )
    return spec.score(scored.predictions, scored.examples)


def predict_checkpoint(
    task: str,
    checkpoint: str,
    out_dir: Path,
    data_dir: str | Path | None = None,
    config_files: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    recipe: str | None = None,
    samples_dir: Path | None = None,
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write the leaderboard file of every test split present into `out_dir`; returns {file name: records}.
    Files already in `out_dir` are replaced only with `overwrite`."""
    from clue_runner.data import task_data_dir
    from clue_runner.registry import resolve_task
    from clue_runner.runner import present_test_splits, refuse_to_replace, write_submissions
    from clue_runner.samples import sample_lines, write_samples

    spec, data_dir = resolve_task(task, data_dir)
    cfg = config_mod.build(checkpoint_config(spec.name, checkpoint, config_files, sets, recipe))
    folder = task_data_dir(spec, data_dir)
    tests = present_test_splits(spec, folder)
    if not tests:
        raise ClueError(
            f"{spec.name}: no test file in {folder} (expected one of "
            f"{', '.join(f for s in spec.test_splits for f in spec.splits[s])})"
        )
    refuse_to_replace(spec, tests, out_dir, overwrite)
    scored = infer_splits(spec, checkpoint, cfg, folder, tests, progress)
    if samples_dir is not None:
        for s in scored:
            write_samples(
                samples_dir, s.split, sample_lines(spec, s.examples, s.predictions, s.scores, False)
            )
    return write_submissions(
        spec, {s.split: s.predictions for s in scored}, {s.split: s.examples for s in scored}, out_dir
    )


def labelled_split(spec: Task, split: str) -> None:
    """Refuse a split that is not there or has no public labels."""
    if split not in spec.splits:
        raise ClueError(f"{spec.name} has no split {split!r} (splits: {', '.join(spec.splits)})")
    if split in spec.test_splits:
        raise ClueError(
            f"{spec.name} {split}: test labels are not public; score a labelled split such as dev"
        )
