"""Leaderboard files: validation against the test sets (`clue validate`) and the flat zip (`clue submit`).

A file is matched to its task and test version by name (every registered task's `submissions`), then checked
against that test split's records: JSON shape (the task's `submission_format`: one object per line, or one JSON
object keyed by record), the task's own `parse` (ids, labels, answers), one record per test record, no duplicate
or unknown ids, and the task's own further rules (`submission_check`, e.g. C3 labels within the question's
choices; CHID blanks of one record sharing a candidate are a note, which does not fail the file). Problems are
collected per file so that one run reports everything wrong with a submission, not only the first thing.

The zip is flat (files at the root, docs/clue.md §2.4: a zip with a folder scored 0 on a sibling board) and written to a
temp file beside the target, then renamed, so an interrupted `clue submit` never leaves a half-written zip.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clue_runner.data import data_root, text_lines
from clue_runner.errors import ClueError, DataError, did_you_mean, listed
from clue_runner.registry import TASKS, get_task
from clue_runner.tasks.base import Note

ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed entry times: the same files give a byte-identical zip

log = logging.getLogger("clue_runner")


@dataclass
class FileCheck:
    """The verdict on one leaderboard file: what it is, how many records it holds, and what is wrong."""

    name: str
    task: str | None = None
    split: str | None = None
    records: int | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # accepted by the leaderboard, but worth a look
    source: str = ""  # where it came from (a run folder for `clue submit`)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class Validation:
    """All files of one submission (zip, folder or gathered runs) plus submission-wide problems."""

    target: str
    files: list[FileCheck] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and all(f.ok for f in self.files)

    @property
    def missing(self) -> list[str]:
        """Leaderboard names of the CLUE 1.1 tasks absent from the submission (informational)."""
        from clue_runner.registry import LEADERBOARD_TASKS

        present = {f.name for f in self.files}
        names = leaderboard_names()
        return [n for n, (task, _) in names.items() if task in LEADERBOARD_TASKS and n not in present]

    def all_problems(self) -> list[str]:
        """Every problem as one line naming its file."""
        return [*self.problems, *(f"{f.name}: {p}" for f in self.files for p in f.problems)]


def leaderboard_names() -> dict[str, tuple[str, str]]:
    """Leaderboard file name -> (task, test split), over every registered task, in registry order."""
    names: dict[str, tuple[str, str]] = {}
    for task in TASKS:
        spec = get_task(task)
        for split, name in spec.submissions.items():
            names[name] = (spec.name, split)
    return names


def _unknown_name(name: str, names: Mapping[str, Any]) -> str:
    former = {old: new for task in TASKS for old, new in get_task(task).former_names.items()}
    if name in former:
        return (
            f"unknown leaderboard file name (a name from before the 2021 test-set update; the current one "
            f"is {former[name]!r})"
        )
    hint = did_you_mean(name, names)
    return f"unknown leaderboard file name{hint}; expected one of: {', '.join(names)}"


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    # Task readers and renderers log advice meant for `clue run` (foreign ids, ignored answers); the verdict
    # printed by `validate` already says what matters.
    logger = logging.getLogger("clue_runner")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _shape_problem(text: str, document: bool) -> str | None:
    """Why `text` is not JSON lines (document=False) or one JSON object (document=True), or None."""
    lines = [line for line in text_lines(text) if line.strip()]
    if not lines:
        return "file is empty"
    try:
        whole: Any = json.loads(text)
        parsed_whole = True
    except json.JSONDecodeError:
        whole, parsed_whole = None, False
    if document:
        if parsed_whole and isinstance(whole, dict):
            return None
        if parsed_whole:
            return f"expected one JSON object {{key: value}}, got a JSON {type(whole).__name__}"
        if _all_lines_objects(lines):
            return "expected one JSON object {key: value}, got JSON lines"
        return "not valid JSON"
    if parsed_whole and isinstance(whole, list):
        return "expected one JSON object per line, got a JSON array (a bare list scored 0, docs/clue.md §6)"
    if parsed_whole and isinstance(whole, dict) and len(lines) > 1:
        return "expected one JSON object per line, got one JSON document spread over several lines"
    for number, line in enumerate(text_lines(text), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            return f"line {number}: malformed JSON ({exc.msg})"
        if not isinstance(obj, dict):
            return f"line {number}: expected a JSON object, got {type(obj).__name__}"
    return None


def _all_lines_objects(lines: Sequence[str]) -> bool:
    try:
        return all(isinstance(json.loads(line), dict) for line in lines)
    except json.JSONDecodeError:
        return False


def _pairs_with_duplicates(text: str) -> tuple[dict[str, Any], list[str]]:
    """A JSON object and the keys that occur more than once (json.loads would silently keep the last)."""
    duplicates: list[str] = []

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        counts = Counter(k for k, _ in pairs)
        duplicates.extend(k for k, c in counts.items() if c > 1)
        return dict(pairs)

    doc = json.loads(text, object_pairs_hook=hook)
    return doc, duplicates


def _line_ids(text: str) -> list[str]:
    ids = []
    for line in text_lines(text):
        if line.strip():
            ident = json.loads(line).get("id")
            ids.append(str(ident))
    return ids


def check_file(path: Path, name: str, data_dir: Path | None) -> FileCheck:
    """Check one leaderboard file (`name` as it appears in the submission) against its test split in `data_dir`.

    Args:
        path: the file's content on disk.
        name: its name in the submission (decides the task and test version).
        data_dir: the task's data folder; None = <data root>/<task>.
    """
    names = leaderboard_names()
    check = FileCheck(name=name)
    if name not in names:
        check.problems.append(_unknown_name(name, names))
        return check
    check.task, check.split = names[name]
    task = get_task(check.task)
    folder = Path(data_dir) if data_dir is not None else data_root() / task.name
    missing = [p for p in task.split_paths(folder, check.split) if not p.is_file()]
    if missing:
        check.problems.append(
            f"cannot check against the {task.name} {check.split} set: {missing[0]} not found (pass --data-root)"
        )
        return check
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        check.problems.append("not UTF-8 text")
        return check
    document = task.submission_format == "document"
    shape = _shape_problem(text, document)
    if shape:
        check.problems.append(shape)
        return check
    with _quiet():
        try:
            examples = task.read(folder, check.split)
        except DataError as exc:
            check.problems.append(f"cannot read the test set: {exc}")
            return check
        predictions = None
        try:
            predictions = task.parse(path, examples)
        except DataError as exc:
            where = f"line {exc.line}: " if isinstance(exc.line, int) else f"{exc.line}: " if exc.line else ""
            check.problems.append(where + exc.message)
        except (
            Exception
        ) as exc:  # a parser tripping on a malformed foreign file is still a verdict on the file
            check.problems.append(f"could not be parsed: {type(exc).__name__}: {exc}")
        else:
            canonical = task.render(predictions, examples)
            check.problems += _record_problems(text, canonical, document)
        if task.submission_check is not None:
            for finding in task.submission_check(path, examples, predictions):
                (check.notes if isinstance(finding, Note) else check.problems).append(finding)
    if document:
        doc, _ = _pairs_with_duplicates(text)
        check.records = len(doc)
    else:
        check.records = sum(1 for line in text_lines(text) if line.strip())
    return check


def _record_problems(text: str, canonical: str, document: bool) -> list[str]:
    """What the task parser tolerates but a leaderboard file must not have: extra, duplicate or unknown ids."""
    problems = []
    if document:
        doc, duplicates = _pairs_with_duplicates(text)
        expected = json.loads(canonical)
        if duplicates:
            problems.append(f"{len(duplicates)} duplicate keys: {listed(duplicates)}")
        extra = [k for k in doc if k not in expected]
        if extra:
            problems.append(f"{len(extra)} keys that are not in the test set: {listed(extra)}")
        return problems
    ids = _line_ids(text)
    expected_n = sum(1 for line in text_lines(canonical) if line.strip())
    duplicates = [i for i, c in Counter(ids).items() if c > 1]
    if duplicates:
        problems.append(f"{len(duplicates)} duplicate ids: {listed(duplicates)}")
    if len(ids) != expected_n:
        problems.append(f"{len(ids)} records, expected {expected_n} (one per test record)")
    return problems


# ------------------------------------------------------------------------------------------------ zip / folder


def validate(target: str | Path, data_root_dir: str | Path | None = None) -> Validation:
    """Validate a zip, a folder of leaderboard files, or one file, against the test sets under the data root."""
    path = Path(target)
    root = data_root(data_root_dir)

    def folder_for(task: str) -> Path:
        return root / task

    if not path.exists():
        raise ClueError(f"not found: {path}")
    if path.is_dir():
        return _validate_folder(path, folder_for)
    if zipfile.is_zipfile(path):
        return _validate_zip(path, folder_for)
    if path.suffix == ".zip":
        raise ClueError(f"{path}: not a valid zip file")
    result = Validation(target=str(path))
    result.files.append(_check_named(path, path.name, folder_for))
    return result


def _check_named(path: Path, name: str, folder_for: Callable[[str], Path]) -> FileCheck:
    names = leaderboard_names()
    task = names.get(name, (None, None))[0]
    return check_file(path, name, folder_for(task) if task else None)


def _validate_folder(folder: Path, folder_for: Callable[[str], Path]) -> Validation:
    result = Validation(target=str(folder))
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            result.problems.append(f"{entry.name}/: a folder; leaderboard files must sit at the top level")
        else:
            result.files.append(_check_named(entry, entry.name, folder_for))
    if not result.files:
        result.problems.append("no leaderboard files")
    return result


# A leaderboard file is at most a few MB (CMNLI's 13,880 lines are about 0.5 MB); a zip member that unpacks to
# more is not one, and is not unpacked (a 510 KB zip can otherwise expand to gigabytes).
MAX_MEMBER_BYTES = 64 << 20
MAX_MEMBERS = 1000


def _validate_zip(archive: Path, folder_for: Callable[[str], Path]) -> Validation:
    result = Validation(target=str(archive))
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ClueError(f"{archive}: not a readable zip file ({exc})") from None
    with zf, tempfile.TemporaryDirectory(prefix="clue-validate-") as tmp:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise ClueError(
                f"{archive}: {len(infos)} entries (at most {MAX_MEMBERS} expected): not a submission"
            )
        counts = Counter(i.filename for i in infos)
        for name in sorted(n for n, c in counts.items() if c > 1):
            result.problems.append(f"{name}: appears {counts[name]} times in the zip")
        folders = sorted(
            {i.filename.split("/")[0] + "/" for i in infos if "/" in i.filename.rstrip("/") or i.is_dir()}
        )
        for entry in folders:
            result.problems.append(f"{entry}: a folder in the zip; files must sit at the zip root (flat)")
        for number, info in enumerate(infos):
            if info.is_dir():
                continue
            base = info.filename.rsplit("/", 1)[-1]
            target = Path(tmp) / str(number) / base
            target.parent.mkdir()
            if _unpack(zf, info, target, archive):
                check = _check_named(target, base, folder_for)
            else:
                check = FileCheck(name=base)
                check.problems.append(
                    f"unpacks to more than {MAX_MEMBER_BYTES >> 20} MB, far more than any leaderboard file: not checked"
                )
            if "/" in info.filename:
                check.name = info.filename
                check.problems.insert(0, "inside a folder: move it to the zip root")
            result.files.append(check)
    if not result.files:
        result.problems.append("no leaderboard files in the zip")
    return result


def _unpack(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, archive: Path) -> bool:
    """Stream one member to `target`, stopping past MAX_MEMBER_BYTES (False); zipfile checks the CRC at the
    end, so a damaged member is a ClueError naming it."""
    if info.file_size > MAX_MEMBER_BYTES:
        return False
    written = 0
    try:
        with zf.open(info) as src, target.open("wb") as out:
            while block := src.read(1 << 16):
                written += len(block)
                if written > MAX_MEMBER_BYTES:
                    return False
                out.write(block)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise ClueError(f"{archive}: member {info.filename} is damaged or unreadable ({exc})") from None
    return True


def write_zip(files: Mapping[str, Path], out: str | Path) -> Path:
    """Write `files` (zip name -> file) into a flat zip at `out`, atomically; returns the path."""
    out = Path(out)
    if out.is_dir():
        raise ClueError(f"{out} is a folder; give the zip file's path (-o submit.zip)")
    for name in files:
        if "/" in name or "\\" in name:
            raise ClueError(f"{name}: zip entries must be plain file names (a flat zip)")
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for name in sorted(files):
                    info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    info.external_attr = 0o644 << 16
                    zf.writestr(info, Path(files[name]).read_bytes())
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600; a zip meant for upload gets the usual permissions (the umask still applies).
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out


# ------------------------------------------------------------------------------------------------ gathering


@dataclass
class Chosen:
    """One leaderboard file picked for the submission, and the run it came from."""

    name: str
    path: Path
    run_dir: Path
    task: str
    score: float | None
    data_dir: Path | None
    candidates: int


def gather(paths: Sequence[str | Path], data_root_dir: str | Path | None = None) -> list[Chosen]:
    """One file per leaderboard name from the completed runs under `paths`: the best-dev run's where several.

    The data folder used to validate a file is <data root>/<task> when a data root is given, else the folder the
    run itself read (recorded in its results.json), else <default data root>/<task>.
    """
    from clue_runner.report import figure, find_runs

    names = leaderboard_names()
    pool: dict[str, list[Chosen]] = {}
    for run_dir, results in find_runs(paths):
        if results.get("status") != "completed":
            continue
        task = str(results.get("task"))
        recorded = (results.get("data") or {}).get("dir")
        if data_root_dir is not None:
            folder: Path | None = data_root(data_root_dir) / task
        elif recorded and Path(recorded).is_dir():
            folder = Path(recorded)
        else:
            folder = None
        submission = run_dir / "submission"
        if not submission.is_dir():
            continue
        for file in sorted(submission.iterdir()):
            if file.is_file() and names.get(file.name, (None,))[0] == task:
                pool.setdefault(file.name, []).append(
                    Chosen(file.name, file, run_dir, task, figure(results), folder, 0)
                )
    if not pool:
        shown = ", ".join(str(p) for p in paths)
        raise ClueError(
            f"no leaderboard files in completed runs under {shown} (runs write them to submission/)"
        )
    chosen = []
    for name in (n for n in names if n in pool):
        options = pool[name]
        # Highest dev figure wins; a run without a score ranks last; ties keep the first folder in sorted order.
        best = max(options, key=lambda c: c.score if c.score is not None else float("-inf"))
        best.candidates = len(options)
        chosen.append(best)
    return chosen


def check_chosen(chosen: Sequence[Chosen]) -> Validation:
    """Validate gathered files, each against its own run's test data."""
    result = Validation(target="runs")
    for item in chosen:
        check = check_file(item.path, item.name, item.data_dir)
        check.source = str(item.run_dir)
        result.files.append(check)
    return result
