"""User tasks described by a YAML file, no Python (task card: tasks/custom.md).

    name: simreg                  # run folders, results.json, submission/<name>_predict.jsonl
    head: regress                 # classify | regress
    format: tsv                   # jsonl | tsv | csv
    columns: [sentence1, sentence2, score]   # tsv/csv without a header row; omit when the first row is one
    text: [sentence1, sentence2]  # one field (single text) or two (a pair)
    label: score
    labels: [neg, pos]            # classify only; optional (default: the sorted labels seen in train)
    files: {train: train.tsv, dev: dev.tsv, test: test.tsv}   # relative to the data folder; test optional
    metric: pearson               # classify: accuracy | macro_f1; regress: pearson | spearman | mse
    sigmoid: false                # regress only: squash the output into (0, 1) for targets in [0, 1]
    description: ...              # optional, for `clue tasks`

The file goes through the config machinery (`config.load_yaml`, `config._merge`): duplicate keys, unknown keys
(with a suggestion) and values of the wrong type are refused with the file and line. The task it describes is a
`Task` like the registered ones, so every command works on it: the classify head trains the checkpoint's
classification head with cross-entropy; the regress head one output with mean squared error (see heads/). Test
predictions are JSON lines `{"id": <0-based record index>, "label": <label string or float>}`.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import math
import random
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clue_runner.data import count_lines, decoded_lines, field, iter_jsonl, label_field
from clue_runner.errors import ClueError, DataError, did_you_mean, official_scoring
from clue_runner.metrics import accuracy, macro_f1, mse, pearson, spearman
from clue_runner.tasks import _classify as C
from clue_runner.tasks.base import Features, Task, gold_labels

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from clue_runner.config import RunConfig

SUFFIXES = (".yaml", ".yml")
HEADS = ("classify", "regress")
FORMATS = ("jsonl", "tsv", "csv")
METRICS = {"classify": ("accuracy", "macro_f1"), "regress": ("pearson", "spearman", "mse")}
SPLITS = ("train", "dev", "test")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")  # it names run folders and files
# Every key a task file may have, with the type its value must have (the config machinery checks both).
SCHEMA: dict[str, Any] = {
    "name": "",
    "description": "",
    "head": "",
    "format": "",
    "columns": [],
    "text": [],
    "label": "",
    "labels": [],
    "files": {"train": "", "dev": "", "test": ""},
    "metric": "",
    "sigmoid": False,
}


@dataclass(frozen=True)
class TaskFile:
    """A checked task file: the schema's values, plus where it is and a digest of its text."""

    path: Path
    name: str
    description: str
    head: str
    format: str
    columns: tuple[str, ...]
    text: tuple[str, ...]
    label: str
    labels: tuple[str, ...]
    files: dict[str, str]
    metric: str
    sigmoid: bool
    digest: str


def is_task_file(arg: str | Path) -> bool:
    """Whether a TASK argument names a task file rather than a registered task."""
    return str(arg).lower().endswith(SUFFIXES)


# ------------------------------------------------------------------------------------------------ the file


def load_task_file(path: str | Path, reserved: Sequence[str] = ()) -> TaskFile:
    """Read and check a task file; every problem is one ClueError naming the file (and line).

    Args:
        path: the YAML file.
        reserved: names the task may not take (the registered tasks).
    """
    from clue_runner import config

    path = Path(path).expanduser()
    if not path.is_file():
        raise ClueError(f"task file not found: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ClueError(f"{path}: not UTF-8 text") from None
    data = config.load_yaml(path, text)
    lines = config.key_lines(text)
    if isinstance(data.get("text"), str):
        data["text"] = [data["text"]]
    tree = copy.deepcopy(SCHEMA)
    config._merge(tree, data, str(path), lines=lines)

    def fail(key: str, message: str) -> ClueError:
        at = f"{path}:{lines[key]}" if key in lines else str(path)
        return ClueError(f"{at}: {message}")

    def word(key: str, value: Any, choices: Sequence[str]) -> str:
        if value not in choices:
            raise fail(
                key,
                f"unknown {key} {value!r}{did_you_mean(str(value), choices)}; choose {' | '.join(choices)}",
            )
        return str(value)

    for key in ("name", "head", "format", "label", "text"):
        if not tree[key]:  # absent, or a bare `key:` (null)
            raise fail(key, f"missing {key!r}")
    name = tree["name"]
    if not NAME.fullmatch(name):
        raise fail(
            "name", f"name {name!r} must be letters, digits, '_', '-' or '.' (it names folders and files)"
        )
    if name.lower() in reserved:
        raise fail("name", f"name {name!r} is a registered task; choose another name")
    head = word("head", tree["head"], HEADS)
    fmt = word("format", tree["format"], FORMATS)
    metric = word("metric", tree["metric"] or METRICS[head][0], METRICS[head])
    columns = _names(tree["columns"] or [], "columns", fail)
    if columns and fmt == "jsonl":
        raise fail(
            "columns", "columns are for tsv/csv files without a header row; JSON lines name their fields"
        )
    fields = _names(tree["text"], "text", fail)
    if not 1 <= len(fields) <= 2:
        raise fail("text", f"text must name one field or two (a pair), got {len(fields)}")
    for key, names in (("text", fields), ("label", (tree["label"],))):
        missing = [n for n in names if columns and n not in columns]
        if missing:
            raise fail(key, f"column {missing[0]!r} is not among columns: {', '.join(columns)}")
    labels = tuple(str(v) for v in tree["labels"] or ())
    if labels and head != "classify":
        raise fail("labels", "labels are for classify tasks")
    if len(set(labels)) != len(labels):
        raise fail("labels", f"labels must be distinct, got {list(labels)}")
    if tree["sigmoid"] and head != "regress":
        raise fail("sigmoid", "sigmoid is for regress tasks")
    files = {split: tree["files"][split] for split in SPLITS if tree["files"][split]}
    for split in ("train", "dev"):
        if split not in files:
            raise fail("files", f"missing files.{split}")
    return TaskFile(
        path=path,
        name=name,
        description=tree["description"] or f"user task ({head}) from {path.name}",
        head=head,
        format=fmt,
        columns=columns,
        text=fields,
        label=tree["label"],
        labels=labels,
        files=files,
        metric=metric,
        sigmoid=bool(tree["sigmoid"]),
        digest=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
    )


def _names(values: Sequence[Any], key: str, fail: Any) -> tuple[str, ...]:
    if not all(isinstance(v, str) and v for v in values):
        raise fail(key, f"{key} must be a list of field names, got {list(values)!r}")
    if len(set(values)) != len(values):
        raise fail(key, f"{key} names a field twice: {list(values)!r}")
    return tuple(values)


# ------------------------------------------------------------------------------------------------ records


def records(spec: TaskFile, path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) of each non-blank line of one data file; `required` fields must be present."""
    if not path.is_file():
        raise DataError(path, "file not found")
    if spec.format == "jsonl":
        for number, record in iter_jsonl(path):
            for name in required:
                if name not in record:
                    raise DataError(path, f"missing field {name!r}", number)
            yield number, record
        return
    yield from _table(spec, path, required)


def _rows(spec: TaskFile, lines: Iterable[str]) -> Any:
    """A csv reader of the task file's format: TSV has no quoting (a quote mark is text); CSV quotes as Excel does."""
    tsv = spec.format == "tsv"
    return csv.reader(
        lines, delimiter="\t" if tsv else ",", quoting=csv.QUOTE_NONE if tsv else csv.QUOTE_MINIMAL
    )


def _table(spec: TaskFile, path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    names: list[str] | None = list(spec.columns) or None
    count = 0
    lines = decoded_lines(path)  # line by line: a byte that is not UTF-8 is reported at its own line
    reader = _rows(spec, lines)
    with closing(lines):
        try:
            for row in reader:
                number = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if names is None:  # the header row
                    names = [cell.strip() for cell in row]
                    absent = [n for n in required if n not in names]
                    if absent:
                        raise DataError(
                            path, f"no column {absent[0]!r} in the header ({', '.join(names)})", number
                        )
                    continue
                # Trailing columns that are not needed may be left out (a test file without its label column).
                short = len(row) < len(names) and not set(names[len(row) :]) & set(required)
                if len(row) != len(names) and not short:
                    raise DataError(
                        path, f"{len(row)} columns, expected {len(names)} ({', '.join(names)})", number
                    )
                count += 1
                yield number, dict(zip(names, row, strict=False))
        except csv.Error as exc:
            raise DataError(path, f"malformed {spec.format.upper()}: {exc}", reader.line_num) from None
    if count == 0:
        raise DataError(path, "file is empty: no records")


def _text(record: dict[str, Any], name: str, path: Path, line: int) -> str:
    return str(field(record, name, str, path, line))


def number(value: Any, name: str, path: Path, line: int) -> float:
    """A regression target: a JSON number or a numeric string, finite."""
    if isinstance(value, bool):
        raise DataError(path, f"{name!r} must be a number, got {value!r}", line)
    try:
        target = float(value)
    except (TypeError, ValueError):
        raise DataError(path, f"{name!r} must be a number, got {value!r}", line) from None
    if not math.isfinite(target):
        raise DataError(path, f"{name!r} must be a finite number, got {value!r}", line)
    return target


def read_split(spec: TaskFile, labels: Sequence[str], data_dir: Path, split: str) -> list[C.TextExample]:
    """The examples of one split; train and dev need a label, test does not (its label column is ignored)."""
    path = Path(data_dir) / spec.files[split]
    labelled = split != "test"
    examples = []
    for index, (line, record) in enumerate(
        records(spec, path, [*spec.text, *([spec.label] if labelled else [])])
    ):
        label: Any = None
        if labelled and spec.head == "classify":
            label = label_field(record, labels, path, line, spec.label)
        elif labelled:
            label = number(record[spec.label], spec.label, path, line)
        text_b = _text(record, spec.text[1], path, line) if len(spec.text) > 1 else None
        source = f"{path}:{line}"
        examples.append(
            C.TextExample(
                _text(record, spec.text[0], path, line), text_b, label, index, record.get("id"), source
            )
        )
    return examples


def labels_seen(spec: TaskFile, data_dir: Path) -> tuple[str, ...]:
    """The sorted label strings of the train file (a classify task that lists no `labels`)."""
    path = Path(data_dir) / spec.files["train"]
    seen = set()
    for line, record in records(spec, path, [spec.label]):
        value = record[spec.label]
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise DataError(path, f"{spec.label!r} must be a label string, got {value!r}", line)
        seen.add(str(value))
    return tuple(sorted(seen))


# ------------------------------------------------------------------------------------------------ subset / count


def _header(spec: TaskFile) -> bool:
    return spec.format != "jsonl" and not spec.columns


def subset_table(spec: TaskFile) -> Any:
    """`clue subset` for tsv/csv: the header row (if any) and n records' lines copied verbatim, stratified by the
    label column when asked (classify train/dev) and every line has it."""
    from clue_runner.subset import choose, stratified

    def labels_of(head: list[str], body: list[str]) -> list[str] | None:
        def cells(line: str) -> list[str]:
            return next(_rows(spec, [line]), [])  # read as `_table` reads it

        names = [
            name.strip().lstrip("\ufeff") for name in (list(spec.columns) or (cells(head[0]) if head else []))
        ]
        if spec.label not in names:
            return None
        column = names.index(spec.label)
        rows = [cells(line) for line in body]
        return [row[column] for row in rows] if all(len(row) > column for row in rows) else None

    def subset(
        split: str, srcs: Sequence[Path], dsts: Sequence[Path], n: int, rng: random.Random, stratify: bool
    ) -> int:
        kept = 0
        for src, dst in zip(srcs, dsts, strict=True):
            with src.open(encoding="utf-8", newline="") as handle:
                lines = [line for line in handle if line.strip()]
            head, body = (lines[:1], lines[1:]) if _header(spec) else ([], lines)
            labels = labels_of(head, body) if stratify else None
            keep = stratified(labels, n, rng) if labels is not None else choose(n, len(body), rng)
            chosen = [body[i] for i in keep]
            text = "".join(line if line.endswith(("\n", "\r")) else line + "\n" for line in [*head, *chosen])
            dst.write_text(text, encoding="utf-8")
            kept += len(chosen)
        return kept

    return subset


# ------------------------------------------------------------------------------------------------ the task


def build_task(spec: TaskFile, data_dir: Path | None) -> Task:
    """The Task a task file describes. A classify task without `labels` takes them from the train file in
    `data_dir`; with no data folder (`clue tasks`, `clue config`) its label set stays empty."""
    from clue_runner.subset import subset_jsonl

    labels = spec.labels
    if spec.head == "classify" and not labels and data_dir is not None:
        labels = labels_seen(spec, data_dir)
    regress = spec.head == "regress"

    def read(data_dir: Path, split: str) -> list[C.TextExample]:
        return read_split(spec, labels, data_dir, split)

    def encode(
        examples: Sequence[C.TextExample], tokenizer: PreTrainedTokenizerBase, cfg: RunConfig
    ) -> Features:
        if not regress:
            return C.encode_texts(examples, tokenizer, cfg, labels)
        rows = C.encode_inputs(examples, tokenizer, cfg)
        return Features(
            rows=rows, labels=[ex.label for ex in examples], example_index=list(range(len(examples)))
        )

    def decode(
        outputs: Sequence[Any], features: Features, examples: Sequence[Any], cfg: RunConfig
    ) -> list[Any]:
        if regress:
            return [float(output[0]) for output in outputs]
        return C.decode_argmax(outputs, labels)

    def score(predictions: Sequence[Any], examples: Sequence[C.TextExample]) -> dict[str, float]:
        golds = gold_labels(examples)
        if regress:
            return {
                "pearson": pearson(predictions, golds),
                "spearman": spearman(predictions, golds),
                "mse": mse(predictions, golds),
            }
        return {"accuracy": accuracy(predictions, golds), "macro_f1": macro_f1(predictions, golds, labels)}

    def read_target(record: dict[str, Any], path: Path, line: int) -> float:
        return number(field(record, "label", (int, float, str), path, line), "label", path, line)

    def parse(path: Path, examples: Sequence[C.TextExample]) -> list[Any]:
        if not regress:
            return C.parse_jsonl(path, examples, labels)
        # `clue evaluate` scores an unanswered record as wrong; a regression target has no "wrong" value, so a
        # missing prediction is an error here, as under --strict (and not first a warning that it counts wrong).
        with official_scoring(strict=True):
            return C.parse_jsonl(path, examples, labels, read_label=read_target)

    metrics = (spec.metric, *(m for m in METRICS[spec.head] if m != spec.metric))
    splits = {split: (name,) for split, name in spec.files.items()}
    return Task(
        name=spec.name,
        version=1,
        head="regress" if regress else "classify",
        labels=labels,
        num_outputs=1 if regress else len(labels),
        main_metric=spec.metric,
        metrics=metrics,
        splits=splits,
        submissions={"test": f"{spec.name}_predict.jsonl"} if "test" in splits else {},
        read=read,
        encode=encode,
        decode=decode,
        score=score,
        render=C.render_jsonl,
        parse=parse,
        gold=gold_labels,
        description=spec.description,
        subset=subset_table(spec) if spec.format != "jsonl" else partial(subset_jsonl, label=spec.label),
        count=(lambda path: max(0, count_lines(path) - 1)) if _header(spec) else None,
        minimize=spec.metric == "mse",
        sigmoid=spec.sigmoid,
        source=str(spec.path),
        fingerprint=hashlib.sha256(f"{spec.digest}:{labels}".encode()).hexdigest()[:16],
    )
