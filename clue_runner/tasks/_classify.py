"""Helpers shared by the 7 sentence / sentence-pair classification tasks (plain functions, no base class).

Conventions (docs/clue.md §2.2-2.5): labels are the strings from the files; test records carry an `id` and no
label; leaderboard files are JSON lines `{"id": <0-based line index>, "label": "<label string>"}` in file order;
NLI rows labelled '-' are dropped from train/dev and never scored. Segment ids are all zero by default
(bojone's convention, `task.segment_ids: zero`); `pair` gives the usual 0/1 split.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from clue_runner.data import field, iter_jsonl, label_field
from clue_runner.errors import ClueError, DataError, tolerate_missing
from clue_runner.metrics import accuracy
from clue_runner.tasks.base import Features, Task, gold_labels

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from clue_runner.checksums import TaskChecksums
    from clue_runner.config import RunConfig

log = logging.getLogger("clue_runner")

SEGMENT_IDS = ("zero", "pair")


@dataclass(frozen=True)
class TextExample:
    """One record of a classification file.

    `index` is the 0-based record index in its file (the submission id); `record_id` is the record's own `id`
    field when it has one; `source` is `file:line` for messages. `text_a` is a tuple of pieces when the task
    joins them only at encode time, with a configurable joiner (CSL keywords).
    """

    text_a: str | tuple[str, ...]
    text_b: str | None
    label: Any  # the label string (a float target for regression tasks); None when unlabelled
    index: int
    record_id: Any
    source: str


# Builds (text_a, text_b) from one record; raises DataError for missing or malformed fields.
TextMaker = Callable[[dict[str, Any], Path, int], tuple["str | tuple[str, ...]", "str | None"]]


def read_examples(
    path: Path,
    make_texts: TextMaker,
    labels: Sequence[str] | None,
    drop_labels: tuple[str, ...] = (),
) -> list[TextExample]:
    """Read a JSON-lines file. With `labels`, every record needs a label from that set (`drop_labels`,
    e.g. NLI '-', are skipped but still count for the line index); with None the split is unlabelled (test)."""
    examples = []
    for index, (line, record) in enumerate(iter_jsonl(path)):
        label = None
        if labels is not None:
            if record.get("label") in drop_labels:
                continue
            label = label_field(record, labels, path, line)
        text_a, text_b = make_texts(record, path, line)
        examples.append(TextExample(text_a, text_b, label, index, record.get("id"), f"{path}:{line}"))
    if not examples:
        raise DataError(path, "no usable records (every label was dropped)")
    return examples


def empty_texts(examples: Sequence[TextExample], names: tuple[str, str | None]) -> list[DataError]:
    """A note for each record whose text (named by `names`, the fields text_a and text_b come from) is blank.

    Not a reading error: the model still gets [CLS] [SEP] for it, and a test record must be answered anyway, so
    `clue run` keeps such records; `clue check-data` lists them as notes."""
    problems = []
    for example in examples:
        a = example.text_a if isinstance(example.text_a, tuple) else (example.text_a,)
        blank = [names[0]] if not any(piece.strip() for piece in a) else []
        if example.text_b is not None and not example.text_b.strip():
            blank.append(names[1] or "second text")
        if blank:
            path, line = example.source.rsplit(":", 1)
            problems.append(
                DataError(path, f"empty {' and '.join(blank)}: the model sees no text", int(line))
            )
    return problems


def read_split(
    data_dir: Path,
    split: str,
    files: Mapping[str, tuple[str, ...]],
    make_texts: TextMaker,
    labels: Sequence[str],
    drop_labels: tuple[str, ...] = (),
) -> list[TextExample]:
    """Read `split` (train/dev labelled, test splits unlabelled) from its one file."""
    (name,) = files[split]
    labelled = split in ("train", "dev")
    return read_examples(Path(data_dir) / name, make_texts, labels if labelled else None, drop_labels)


def segment_mode(cfg: RunConfig) -> str:
    mode = cfg.task.get("segment_ids", "zero")
    if mode not in SEGMENT_IDS:
        raise ClueError(f"task.segment_ids must be one of {', '.join(SEGMENT_IDS)}, got {mode!r}")
    return str(mode)


def encode_texts(
    examples: Sequence[TextExample],
    tokenizer: PreTrainedTokenizerBase,
    cfg: RunConfig,
    labels: Sequence[str],
    joiner: str = "",
) -> Features:
    """`[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`, truncated longest-first to data.max_len, in one batched call;
    the label is the class index. A tuple `text_a` is joined with `joiner` first."""
    index = {label: i for i, label in enumerate(labels)}
    targets = [index[ex.label] if ex.label is not None else None for ex in examples]
    rows = encode_inputs(examples, tokenizer, cfg, joiner)
    return Features(rows=rows, labels=targets, example_index=list(range(len(examples))))


def encode_inputs(
    examples: Sequence[TextExample], tokenizer: PreTrainedTokenizerBase, cfg: RunConfig, joiner: str = ""
) -> list[dict[str, Any]]:
    """The model inputs of `encode_texts`, one row per example."""
    pair = any(ex.text_b is not None for ex in examples)
    firsts = [ex.text_a if isinstance(ex.text_a, str) else joiner.join(ex.text_a) for ex in examples]
    seconds = [ex.text_b or "" for ex in examples] if pair else None
    enc = tokenizer(firsts, seconds, truncation=True, max_length=cfg.data.max_len)
    zero = segment_mode(cfg) == "zero"
    rows = []
    for i in range(len(examples)):
        ids = enc["input_ids"][i]
        types = [0] * len(ids) if zero or "token_type_ids" not in enc else enc["token_type_ids"][i]
        rows.append({"input_ids": ids, "token_type_ids": types, "attention_mask": [1] * len(ids)})
    return rows


def decode_argmax(outputs: Sequence[Any], labels: Sequence[str]) -> list[str]:
    """One label string per example from its logits."""
    return [labels[int(np.argmax(logits))] for logits in outputs]


def score_accuracy(predictions: Sequence[str], examples: Sequence[TextExample]) -> dict[str, float]:
    return {"accuracy": accuracy(predictions, [ex.label for ex in examples])}


class Keyed(Protocol):
    """What the leaderboard-file helpers need of an example: its 0-based position in the split (the leaderboard
    id), its own `id` field (None when it has none) and `file:line` for messages. TextExample and C3's
    questions fit."""

    @property
    def index(self) -> int: ...

    @property
    def record_id(self) -> Any: ...

    @property
    def source(self) -> str: ...


def warn_foreign_ids(
    examples: Sequence[Keyed], counted: str = "records", position: str = "line index"
) -> None:
    """Leaderboard ids are 0-based positions (docs/clue.md §2.5); say so once when a file's own ids differ."""
    differ = [ex for ex in examples if ex.record_id is not None and _as_int(ex.record_id) != ex.index]
    if differ:
        first = differ[0]
        log.warning(
            "%d of %d test %s have an `id` that differs from their %s (first: %s has id %r); "
            "the leaderboard file uses the 0-based %s, as the official baselines do",
            len(differ),
            len(examples),
            counted,
            position,
            first.source,
            first.record_id,
            position,
        )


def render_jsonl(
    predictions: Sequence[str],
    examples: Sequence[Keyed],
    counted: str = "records",
    position: str = "line index",
) -> str:
    """The leaderboard file: one `{"id": i, "label": "..."}` line per test example, in file order."""
    warn_foreign_ids(examples, counted, position)
    lines = [
        json.dumps({"id": ex.index, "label": label}, ensure_ascii=False)
        for ex, label in zip(examples, predictions, strict=True)
    ]
    return "\n".join(lines) + "\n"


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def prediction_label(record: dict[str, Any], labels: Sequence[str], path: Path, line: int) -> str:
    """A leaderboard line's label: a JSON string from the task's label set (docs/clue.md §2.5: a TNEWS code written as
    the number 103, or a class index, scores 0 on the leaderboard)."""
    if "label" in record and not isinstance(record["label"], str):
        value = record["label"]
        as_text = str(value) if isinstance(value, int) and not isinstance(value, bool) else None
        example = as_text if as_text in labels else labels[0]
        raise DataError(
            path,
            f"'label' must be a JSON string such as {json.dumps(example, ensure_ascii=False)}, "
            f"got {json.dumps(value, ensure_ascii=False)}",
            line,
        )
    return label_field(record, labels, path, line)


LabelReader = Callable[[dict[str, Any], Path, int], Any]


def parse_jsonl(
    path: Path,
    examples: Sequence[Keyed],
    labels: Sequence[str],
    counted: str = "records",
    read_label: LabelReader | None = None,
) -> list[Any]:
    """Read a leaderboard file back into one label per example.

    Ids are matched to the examples' 0-based positions (what clue-runner and the official baselines write); a
    file that uses the examples' own `id` fields instead (bojone's convention) is matched on those. Lines whose
    id matches no example (NLI '-' rows the split drops, ids beyond the split) are ignored, labels and all. A
    missing or non-integer id, a duplicate id, a missing prediction, or a matched line whose label is not a
    string from `labels` is an error naming file:line (`counted` names what the examples are in messages).
    `read_label(record, path, line)` reads other kinds of labels (a regression target) instead.
    """
    lines: dict[int, tuple[int, dict[str, Any]]] = {}
    for line, record in iter_jsonl(path):
        ident = _as_int(record.get("id"))
        if ident is None:
            raise DataError(path, f"missing or non-integer 'id': {record.get('id')!r}", line)
        if ident in lines:
            raise DataError(path, f"duplicate id {ident}", line)
        lines[ident] = (line, record)
    keys: list[int] = [ex.index for ex in examples]
    own = [_as_int(ex.record_id) for ex in examples]
    if any(k not in lines for k in keys) and all(o is not None for o in own) and all(o in lines for o in own):
        keys = [o for o in own if o is not None]
    scored = sorted({k: lines[k] for k in keys if k in lines}.items(), key=lambda item: item[1][0])

    def label_of(record: dict[str, Any], line: int) -> Any:
        if read_label is not None:
            return read_label(record, path, line)
        return prediction_label(record, labels, path, line)

    by_id = {k: label_of(record, line) for k, (line, record) in scored}
    tolerate_missing(path, [k for k in keys if k not in by_id], len(keys), counted)
    return [by_id.get(k, "") for k in keys]  # "" (no label) only for a record `clue evaluate` counts as wrong


def text(record: dict[str, Any], name: str, path: Path, line: int) -> str:
    """A required string field."""
    return str(field(record, name, str, path, line))


def classification_task(
    name: str,
    labels: tuple[str, ...],
    files: Mapping[str, tuple[str, ...]],
    submissions: Mapping[str, str],
    texts: TextMaker,
    description: str,
    drop_labels: tuple[str, ...] = (),
    joiner: Callable[[RunConfig], str] | None = None,
    version: int = 1,
    published: Mapping[str, Mapping[str, float]] | None = None,
    checksums: TaskChecksums | None = None,
    paddle_mirror: bool = False,
    former_names: Mapping[str, str] | None = None,
    text_fields: tuple[str, str | None] = ("text", "second text"),
) -> Task:
    """The Task for a sentence / sentence-pair classification task: what differs between the 7 is the label
    set, the files, how a record becomes (text_a, text_b), and the leaderboard file names.

    `joiner(cfg)` joins a tuple `text_a` (CSL's keywords) at encode time, where the config is known;
    `text_fields` names the fields text_a and text_b come from, for `clue check-data`'s empty-text problems.
    """

    def read(data_dir: Path, split: str) -> list[TextExample]:
        return read_split(data_dir, split, files, texts, labels, drop_labels)

    def check(data_dir: Path, split: str) -> list[DataError]:
        return empty_texts(read(data_dir, split), text_fields)

    def encode(
        examples: Sequence[TextExample], tokenizer: PreTrainedTokenizerBase, cfg: RunConfig
    ) -> Features:
        if joiner is None:
            return encode_texts(examples, tokenizer, cfg, labels)
        return encode_texts(examples, tokenizer, cfg, labels, joiner=joiner(cfg))

    def decode(
        outputs: Sequence[Any], features: Features, examples: Sequence[Any], cfg: RunConfig
    ) -> list[str]:
        return decode_argmax(outputs, labels)

    def parse(path: Path, examples: Sequence[TextExample]) -> list[str]:
        return parse_jsonl(path, examples, labels)

    return Task(
        name=name,
        version=version,
        head="classify",
        labels=labels,
        num_outputs=len(labels),
        main_metric="accuracy",
        metrics=("accuracy",),
        splits=files,
        submissions=submissions,
        read=read,
        check=check,
        encode=encode,
        decode=decode,
        score=score_accuracy,
        render=render_jsonl,
        parse=parse,
        gold=gold_labels,
        description=description,
        published=published or {},
        checksums=checksums,
        paddle_mirror=paddle_mirror,
        former_names=former_names or {},
    )
