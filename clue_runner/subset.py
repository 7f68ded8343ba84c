"""`clue subset`: a smaller copy of a task folder in exactly the official layout (CI smoke runs, quick tries).

It works on the raw files, so whatever a record holds survives untouched. How a split is cut is the task's own
(`Task.subset`); the default here copies the chosen lines of JSON-lines files verbatim, in file order, and
stratifies classification train/dev by their `label` field. Tasks with other layouts (single JSON documents,
answer files beside the records) keep whole records and rebuild the documents around them. Every test version present is subset; files that belong to no split (labels.json, README.md) are copied.
The result is built beside the destination, read back with the task's own reader, then renamed into place.

`overwrite` replaces only a folder that looks like a task folder: every entry is a file the task reads, a file
the subset writes (the source's extra files, labels.json, README), or a hidden file (temp files). Anything else
(a user's notes, a sub-folder) makes it refuse, as does a destination that is or holds the source folder or the
current directory: the swap removes the old folder whole.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clue_runner.data import BOM, Line, has_bom, jsonl_lines
from clue_runner.errors import ClueError, DataError
from clue_runner.results import current_umask

if TYPE_CHECKING:
    from clue_runner.tasks.base import Task

SKIP_FILES = (".clue-download.json",)  # the download record describes the full data, not the subset
# Files a task folder may hold beside its split files (official extras; `--overwrite` replaces them too).
EXTRA_FILES = ("labels.json", "README", "README.md", "README.txt")


def read_lines(path: Path) -> tuple[bool, list[Line]]:
    """(had a BOM, the non-blank lines) of a JSON-lines file, through the one reader (`data.jsonl_lines`)."""
    return has_bom(path), list(jsonl_lines(path))


def join_lines(bom: bool, lines: Sequence[Line]) -> str:
    """The chosen lines as a file: verbatim, each ending with a newline (the file's last line may lack one)."""
    body = "".join(line.raw if line.raw.endswith(("\n", "\r")) else line.raw + "\n" for line in lines)
    return (BOM if bom else "") + body


def dump_json(doc: Any) -> str:
    """A single-document JSON file as the subsets write them: indented, non-ASCII kept."""
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def choose(n: int, size: int, rng: random.Random) -> list[int]:
    """`n` of range(size) at random, returned in ascending (file) order; everything when n >= size."""
    if n >= size:
        return list(range(size))
    return sorted(rng.sample(range(size), n))


def stratified(labels: Sequence[Any], n: int, rng: random.Random) -> list[int]:
    """`n` indices keeping each label's share (largest remainders), every label at least once if n allows."""
    if n >= len(labels):
        return list(range(len(labels)))
    groups: dict[Any, list[int]] = {}
    for i, label in enumerate(labels):
        groups.setdefault(label, []).append(i)
    order = sorted(groups, key=lambda k: (-len(groups[k]), str(k)))
    exact = {k: n * len(groups[k]) / len(labels) for k in order}
    quota = {k: int(exact[k]) for k in order}
    for k in sorted(order, key=lambda k: -(exact[k] - quota[k]))[: n - sum(quota.values())]:
        quota[k] += 1
    if n >= len(order):
        # A rare label would round to nothing; a smoke run still needs to see it, so the biggest label pays.
        for k in order:
            if quota[k] == 0:
                donor = max(order, key=lambda d: quota[d])
                quota[donor] -= 1
                quota[k] = 1
    picked = [i for k in order for i in rng.sample(groups[k], quota[k])]
    return sorted(picked)


# ---------------------------------------------------------------------------------------------- JSON lines


def subset_jsonl(
    split: str,
    srcs: Sequence[Path],
    dsts: Sequence[Path],
    n: int,
    rng: random.Random,
    stratify: bool,
    label: str = "label",
) -> int:
    """The default subset: `n` lines of each file copied verbatim in file order, stratified by the `label` field
    when asked and every record has one."""
    kept = 0
    for src, dst in zip(srcs, dsts, strict=True):
        bom, lines = read_lines(src)
        if stratify and all(label in line.record for line in lines):
            keep = stratified([str(line.record[label]) for line in lines], n, rng)
        else:
            keep = choose(n, len(lines), rng)
        dst.write_text(join_lines(bom, [lines[i] for i in keep]), encoding="utf-8")
        kept += len(keep)
    return kept


# ---------------------------------------------------------------------------------------------- main


def subset_split(task: Task, split: str, src_dir: Path, dst_dir: Path, n: int, rng: random.Random) -> int:
    """Write a subset of one split's files from `src_dir` into `dst_dir`; returns the records kept."""
    srcs = task.split_paths(src_dir, split)
    dsts = task.split_paths(dst_dir, split)
    for dst in dsts:  # a task file may keep its data in a subfolder (`files: {train: simreg/train.tsv}`)
        dst.parent.mkdir(parents=True, exist_ok=True)
    stratify = split not in task.test_splits and task.head == "classify"
    return (task.subset or subset_jsonl)(split, srcs, dsts, n, rng, stratify)


def subset_task(
    task: Task,
    src: Path,
    dst: Path,
    sizes: Mapping[str, int],
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write the subset of `src` (a task folder) to `dst`; returns records kept per split.

    Args:
        task: the task whose folder this is.
        src: the task folder to subset.
        dst: the new task folder (must not exist or be empty, unless `overwrite`); never the source folder, the
            current directory, or a folder holding either.
        sizes: records per split kind: keys "train", "dev", "test" (every test split), "other" (e.g. trial).
        seed: random seed; the same seed and data give the same subset.
        overwrite: replace a non-empty `dst`, provided it looks like a task folder (`check_destination`).

    Raises:
        ClueError: missing source files, a destination in the way or not safe to replace, or a source the task
            cannot read.
    """
    src, dst = Path(src).expanduser(), Path(dst).expanduser()
    if not src.is_dir():
        raise ClueError(f"data folder not found: {src}")
    extras = _extra_files(task, src)
    check_destination(task, src, dst, overwrite, extras)
    for split in ("train", "dev"):
        for path in task.split_paths(src, split):
            if not path.is_file():
                raise ClueError(f"{task.name}: {split} file missing: {path}")
    tests = [s for s in task.test_splits if task.has_split(src, s)]
    if not tests and _test_names(task):  # a task file without a test file has nothing to look for
        raise ClueError(f"{task.name}: no test file in {src} (expected one of: {_test_names(task)})")
    others = [
        s
        for s in task.splits
        if s not in ("train", "dev") and s not in task.test_splits and task.has_split(src, s)
    ]
    for key, n in sizes.items():
        if n < 1:
            raise ClueError(f"--{key} must be at least 1, got {n}")

    rng = random.Random(seed)
    dst.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dst.name}.tmp-", dir=dst.parent))
    os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes it owner-only; the subset is a normal folder
    kept: dict[str, int] = {}
    try:
        for split in ["train", "dev", *tests, *others]:
            kind = split if split in ("train", "dev") else "test" if split in tests else "other"
            kept[split] = subset_split(task, split, src, staging, sizes.get(kind, sizes.get("dev", 1)), rng)
        for name in extras:
            shutil.copy2(src / name, staging / name)
        for split in kept:  # the subset must be what the runner reads, before it takes dst's place
            try:
                task.read(staging, split)
            except DataError as exc:
                where = Path(exc.path)
                inside = where.relative_to(staging) if where.is_relative_to(staging) else Path(where.name)
                raise DataError(dst / inside, f"(subset) {exc.message}", exc.line) from None
        check_destination(task, src, dst, overwrite, extras)  # again: the folder may have changed meanwhile
        _swap(staging, dst)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return kept


def _test_names(task: Task) -> str:
    return ", ".join(n for s in task.test_splits for n in task.splits[s])


def _extra_files(task: Task, src: Path) -> list[str]:
    """The source's files that belong to no split and that the subset copies (not hidden, not SKIP_FILES)."""
    split_files = {name for files in task.splits.values() for name in files}
    return sorted(
        p.name
        for p in src.iterdir()
        if p.is_file()
        and p.name not in split_files
        and not p.name.startswith(".")
        and p.name not in SKIP_FILES
    )


def _inside(path: Path, folder: Path) -> bool:
    """Whether `path` is `folder` or lies below it (both resolved, so links and `..` count)."""
    return path == folder or folder in path.parents


def check_destination(task: Task, src: Path, dst: Path, overwrite: bool, extras: Sequence[str] = ()) -> None:
    """Refuse a destination the subset may not take the place of (see the module docstring).

    Raises:
        ClueError: `dst` is or holds the source folder or the current directory; it exists and is not a folder;
            it is not empty and `overwrite` is off; or `overwrite` is on and it holds an entry no task folder of
            `task` would (named in the message).
    """
    where = dst.resolve()
    if _inside(src.resolve(), where):
        raise ClueError(f"--out {dst} is or contains the --data-dir folder {src}; choose another --out")
    if _inside(Path.cwd().resolve(), where):
        raise ClueError(f"--out {dst} is or contains the current directory; choose another --out")
    if not dst.exists() and not dst.is_symlink():
        return
    if not dst.is_dir():
        raise ClueError(f"{dst} exists and is not a folder")
    entries = sorted(dst.iterdir())
    if not entries:
        return
    if not overwrite:
        raise ClueError(f"{dst} exists and is not empty (use --overwrite to replace it)")
    split_files = {Path(name) for files in task.splits.values() for name in files}
    subfolders = {path.parts[0] for path in split_files if len(path.parts) > 1}  # `files: {train: sub/x.tsv}`
    known = {path.parts[0] for path in split_files} | set(extras) | set(EXTRA_FILES)
    for entry in entries:
        if entry.is_symlink() or not (entry.is_file() or entry.name in subfolders):
            kind = "link" if entry.is_symlink() else "folder"
            raise ClueError(
                f"not overwriting {dst}: it holds {entry.name!r}, a {kind}, so it does not look like a "
                f"{task.name} task folder"
            )
        if entry.name not in known and not entry.name.startswith("."):
            raise ClueError(
                f"not overwriting {dst}: it holds {entry.name!r}, which is not a {task.name} data file "
                "(move it away or choose another --out)"
            )
    # A data subfolder goes with the rest: it may hold the task's files and nothing else.
    inner_folders = {parent for path in split_files for parent in path.parents}
    for folder in sorted(subfolders & {entry.name for entry in entries}):
        for item in sorted((dst / folder).rglob("*")):
            inside = item.relative_to(dst)
            expected = inner_folders if item.is_dir() and not item.is_symlink() else split_files
            if inside not in expected:
                raise ClueError(
                    f"not overwriting {dst}: it holds {inside.as_posix()!r}, which is not a {task.name} data "
                    "file (move it away or choose another --out)"
                )


def _swap(staging: Path, dst: Path) -> None:
    """Put `staging` in the place of `dst` (an empty or checked folder, or nothing); the old folder goes last."""
    if dst.is_dir():
        aside = dst.with_name(f".{dst.name}.old-{staging.name[-8:]}")
        dst.rename(aside)
        try:
            staging.rename(dst)
        except BaseException:
            aside.rename(dst)
            raise
        if aside.is_symlink():  # a link to a folder: drop the link, never what it points at
            aside.unlink()
        else:
            shutil.rmtree(aside, ignore_errors=True)
    else:
        staging.rename(dst)
