"""`clue check-data`: validate and describe a task folder before anyone spends GPU hours on it.

Validation is the task's own: `task.read` raises DataError for a record it cannot use (the first per file): those
are problems, and the command exits 1. `task.check` lists what the reader tolerates as the official loaders do
(CMRC2018 answer_start drift, other annotators' answers absent from the context, named by question id): those are
notes on quirks of the official data, as are gold answers a configured `task.max_answer_len` cuts off. For files
with one record per line (`task.record_lines`) the check keeps going past a bad line (blanked in a scratch copy,
so line numbers stay right) to report up to MAX_PER_FILE problems per file. The ids the leaderboard files need
are the readers' to check too. With a tokenizer it adds token-length percentiles, how many examples reach
`data.max_len`, and for span/entity tasks how many gold answers survive encode -> decode exactly.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clue_runner.data import text_lines
from clue_runner.errors import DataError
from clue_runner.modelcheck import coverage_problem

if TYPE_CHECKING:
    from clue_runner.config import RunConfig
    from clue_runner.tasks.base import Task

MAX_PER_FILE = 20
PERCENTILES = (50, 90, 95, 99, 100)


@dataclass
class Problem:
    """One thing wrong: the file, where in it (line number, question id, blank key ...), and what."""

    file: str
    where: int | str | None
    message: str

    def __str__(self) -> str:
        return (
            f"{self.file}:{self.where}: {self.message}"
            if self.where is not None
            else f"{self.file}: {self.message}"
        )


@dataclass
class SplitReport:
    files: list[str]
    present: bool
    examples: int | None = None
    labels: dict[str, int] | None = None
    lengths: dict[str, int] | None = None
    truncated: int | None = None
    windowed: int | None = None
    features: int | None = None
    roundtrip: dict[str, Any] | None = None
    problems: int = 0


@dataclass
class Report:
    task: str
    data_dir: str
    ok: bool = True
    max_len: int | None = None
    model: str | None = None
    splits: dict[str, SplitReport] = field(default_factory=dict)
    extra_files: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)  # quirks the readers tolerate: reported, not failed

    def add(self, problem: Problem, split: str | None = None) -> None:
        self.problems.append(problem)
        self.ok = False
        if split is not None and split in self.splits:
            self.splits[split].problems += 1

    def note(self, note: Problem) -> None:
        self.notes.append(note)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = [{**asdict(p), "text": str(p)} for p in self.problems]
        out["notes"] = [{**asdict(n), "text": str(n)} for n in self.notes]
        return out


def _problem(exc: DataError) -> Problem:
    return Problem(exc.path, exc.line, exc.message)


# ---------------------------------------------------------------------------------------------------- reading


def _read_all(task: Task, data_dir: Path, split: str, report: Report) -> list[Any] | None:
    """Read a split; on failure report it and, for JSON-lines files, keep scanning past the bad line."""
    try:
        return list(task.read(data_dir, split))
    except DataError as exc:
        first = exc
    except Exception as exc:  # a reader bug must not hide the other files' problems
        report.add(
            Problem(
                str(task.split_paths(data_dir, split)[0]), None, f"unreadable: {type(exc).__name__}: {exc}"
            ),
            split,
        )
        return None
    report.add(_problem(first), split)
    if not isinstance(first.line, int) or not task.record_lines(Path(first.path).name):
        return None
    _scan_on(task, data_dir, split, first, report)
    return None


def _scan_on(task: Task, data_dir: Path, split: str, first: DataError, report: Report) -> None:
    """Blank each bad line in a scratch copy of the split and read again, to list later bad lines too."""
    scratch = Path(tempfile.mkdtemp(prefix="clue-check-"))

    def inside(path: str | Path) -> Path | None:
        """Where a file of the split lies within its folder (a task file may use a subfolder), or None."""
        for root in (scratch, data_dir):
            if Path(path).is_relative_to(root):
                return Path(path).relative_to(root)
        return None

    try:
        for path in task.split_paths(data_dir, split):
            copy = scratch / path.relative_to(data_dir)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, copy)
        lines: dict[Path, list[str]] = {}
        exc: DataError | None = first
        count = 1
        while exc is not None and isinstance(exc.line, int) and count < MAX_PER_FILE:
            name = inside(exc.path)
            if name is None or not task.record_lines(name.name) or not (scratch / name).is_file():
                return
            if name not in lines:
                # Bytes that are not UTF-8 are kept as they are (surrogateescape), so each bad line is reported
                # in turn by the reader, not by this copy.
                text = (scratch / name).read_bytes().decode("utf-8-sig", errors="surrogateescape")
                lines[name] = list(text_lines(text))
            if not 1 <= exc.line <= len(lines[name]) or not lines[name][exc.line - 1].strip():
                return
            lines[name][exc.line - 1] = "\n"  # blank lines are skipped but still counted, so numbers hold
            (scratch / name).write_bytes("".join(lines[name]).encode("utf-8", errors="surrogateescape"))
            try:
                task.read(scratch, split)
                exc = None
            except DataError as again:
                exc = again
                count += 1
                if not Path(again.path).is_relative_to(scratch):
                    return
                report.add(
                    Problem(str(data_dir / Path(again.path).relative_to(scratch)), again.line, again.message),
                    split,
                )
            except Exception:
                return
        if exc is not None:
            report.add(
                Problem(
                    str(data_dir / (inside(exc.path) or Path(exc.path).name)),
                    None,
                    f"more problems not listed (first {MAX_PER_FILE} shown)",
                ),
                split,
            )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


# ---------------------------------------------------------------------------------------------------- stats


def label_counts(task: Task, examples: Sequence[Any]) -> dict[str, int] | None:
    """Label distribution: class labels, answer indices, or entity spans per type (CLUENER); None otherwise."""
    try:
        gold = task.gold(examples)
    except Exception:
        return None
    counts: Counter[str] = Counter()
    for item in gold:
        if isinstance(item, (str, int)) and task.head != "span":
            counts[str(item)] += 1
        elif isinstance(item, dict) and task.head == "entities":
            for kind, entities in item.items():
                counts[kind] += sum(len(spans) for spans in entities.values())
        elif isinstance(item, dict):  # CHID-like: blank -> candidate index
            counts.update(str(v) for v in item.values())
        else:
            return None
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _percentiles(values: Sequence[int]) -> dict[str, int]:
    import numpy as np

    if not values:
        return {}
    return {
        ("max" if q == 100 else f"p{q}"): int(np.percentile(values, q, method="higher")) for q in PERCENTILES
    }


def _entity_spans(item: Any) -> set[tuple[str, int, int]]:
    return {(k, int(s), int(e)) for k, ents in item.items() for spans in ents.values() for s, e in spans}


def _roundtrip(task: Task, examples: Sequence[Any], tokenizer: Any, cfg: RunConfig) -> dict[str, Any]:
    from clue_runner.roundtrip import roundtrip

    log = logging.getLogger("clue_runner")
    level = log.level
    log.setLevel(logging.ERROR)  # roundtrip encodes again: its warnings were already shown once
    try:
        predictions, metrics = roundtrip(task, examples, tokenizer, cfg)
    finally:
        log.setLevel(level)
    gold = task.gold(examples)
    if task.head == "entities":
        total = exact = 0
        for pred, want in zip(predictions, gold, strict=True):
            spans = _entity_spans(want)
            total += len(spans)
            exact += len(spans & _entity_spans(pred))
        unit = "entities"
    else:
        total = len(gold)
        exact = sum(
            pred == want or pred in getattr(ex, "answers", ())
            for pred, want, ex in zip(predictions, gold, examples, strict=True)
        )
        unit = "answers"
    return {"unit": unit, "gold": total, "exact": exact, "lost": total - exact, "metrics": metrics}


def describe_tokens(
    task: Task,
    examples: Sequence[Any],
    tokenizer: Any,
    cfg: RunConfig,
    split_report: SplitReport,
    labelled: bool,
) -> None:
    """Fill in token lengths, truncation and (span / entity tasks, labelled splits) the gold round trip."""
    features = task.encode(examples, tokenizer, cfg)
    lengths = features.lengths()
    split_report.features = len(features)
    split_report.lengths = _percentiles(lengths)
    limit = cfg.data.max_len
    hit = {features.example_index[i] for i, n in enumerate(lengths) if n >= limit}
    split_report.truncated = len(hit)
    if task.head == "span":  # long contexts become several windows rather than being cut
        per_example = Counter(features.example_index)
        split_report.windowed = sum(1 for n in per_example.values() if n > 1)
    if labelled and task.head in ("span", "entities"):
        split_report.roundtrip = _roundtrip(task, examples, tokenizer, cfg)


def _note_capped_answers(
    task: Task,
    split: str,
    data_dir: Path,
    examples: Sequence[Any],
    tokenizer: Any,
    cfg: RunConfig,
    report: Report,
) -> None:
    """A span task with `task.max_answer_len` set: how many gold answers are longer, so no prediction can match."""
    cap = cfg.task.get("max_answer_len")
    if task.head != "span" or not cap or split in task.test_splits:
        return
    features = task.encode(examples, tokenizer, cfg)
    shortest: dict[int, int] = {}
    for label, index in zip(features.labels, features.example_index, strict=True):
        if label and tuple(label) != (0, 0):
            length = int(label[1]) - int(label[0]) + 1
            shortest[index] = min(length, shortest.get(index, length))
    cut = sorted(i for i, n in shortest.items() if n > cap)
    if cut:
        names = ", ".join(str(getattr(examples[i], "qid", i)) for i in cut[:5]) + (
            " ..." if len(cut) > 5 else ""
        )
        report.note(
            Problem(
                str(task.split_paths(data_dir, split)[0]),
                None,
                f"{len(cut)} of {len(examples)} gold answers are longer than task.max_answer_len={cap} tokens, "
                f"so they cannot be predicted exactly ({names}); --set task.max_answer_len=null lifts the cap",
            )
        )


# ---------------------------------------------------------------------------------------------------- main


def check_task(
    task: Task,
    data_dir: Path,
    tokenizer: Any = None,
    cfg: RunConfig | None = None,
    model: str | None = None,
) -> Report:
    """Validate and describe `data_dir` for `task`.

    Args:
        task: the task.
        data_dir: the task folder.
        tokenizer: with `cfg`, adds token statistics and the gold round trip.
        cfg: the run config (for `data.max_len` and task options).
        model: the model name, recorded in the report.

    Returns:
        The report; `report.ok` is False when any problem was found.
    """
    data_dir = Path(data_dir)
    report = Report(
        task.name, str(data_dir), model=model, max_len=cfg.data.max_len if cfg and tokenizer else None
    )
    for split, names in task.splits.items():
        present = task.has_split(data_dir, split)
        report.splits[split] = SplitReport(files=list(names), present=present)
        if not present:
            for path in task.split_paths(data_dir, split):
                if not path.is_file() and split in ("train", "dev"):
                    report.add(Problem(str(path), None, "file missing"), split)
            continue
        examples = _read_all(task, data_dir, split, report)
        checker_ok = examples is not None
        if task.check is not None and checker_ok:
            try:
                for quirk in task.check(data_dir, split):
                    report.note(_problem(quirk))
            except DataError as exc:
                report.add(_problem(exc), split)
        if examples is None:
            continue
        report.splits[split].examples = len(examples)
        labelled = split not in task.test_splits
        if labelled:
            report.splits[split].labels = label_counts(task, examples)
        if tokenizer is not None and cfg is not None:
            describe_tokens(task, examples, tokenizer, cfg, report.splits[split], labelled)
            _note_capped_answers(task, split, data_dir, examples, tokenizer, cfg, report)
            uncovered = coverage_problem(task, examples, tokenizer, cfg, model or "the model")
            if uncovered:
                report.add(Problem(str(task.split_paths(data_dir, split)[0]), None, uncovered), split)
    if not any(report.splits[s].present for s in task.test_splits):
        expected = ", ".join(n for s in task.test_splits for n in task.splits[s])
        report.add(Problem(str(data_dir), None, f"no test file (expected {expected})"))
    split_files = {n for names in task.splits.values() for n in names}
    report.extra_files = (
        sorted(
            p.name
            for p in data_dir.iterdir()
            if p.is_file() and p.name not in split_files and not p.name.startswith(".")
        )
        if data_dir.is_dir()
        else []
    )
    return report
