"""CSL: Chinese scientific literature keyword recognition, binary (task card: tasks/csl.md).

JSON lines: `id` (a corpus id, not the line index), `abst` (abstract), `keyword` (list of strings) and, in
train/dev, `label` "0" / "1" ("1" = every keyword is genuine). Metric accuracy. Input
`[CLS] keywords [SEP] abstract [SEP]`, the keywords joined with `task.keyword_joiner` (default '；' U+FF1B, as
bojone; CONFLICT: PaddleNLP and the CLUE baselines join with ' '), segment ids all 0 by default. Leaderboard
file csl_predict.json with `"id"` = 0-based line index (a warning says when that differs from the records' ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clue_runner.data import field
from clue_runner.errors import ClueError, DataError
from clue_runner.tasks import _classify as C
from clue_runner.tasks.base import Features, Task

LABELS = ("0", "1")
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",)}
DEFAULT_JOINER = "\uff1b"  # '；', full-width semicolon


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[tuple[str, ...], str]:
    keywords = field(record, "keyword", list, path, line)
    if not all(isinstance(k, str) for k in keywords):
        raise DataError(path, f"field 'keyword' must be a list of strings, got {keywords!r}", line)
    # Kept as a tuple: the joiner is a config knob, and `read` sees no config.
    return tuple(keywords), C.text(record, "abst", path, line)


def keyword_joiner(cfg: Any) -> str:
    joiner = cfg.task.get("keyword_joiner", DEFAULT_JOINER)
    if not isinstance(joiner, str):
        raise ClueError(f"task.keyword_joiner must be a string, got {joiner!r}")
    return joiner


def read(data_dir: Path, split: str) -> list[C.TextExample]:
    return C.read_split(data_dir, split, FILES, texts, LABELS)


def encode(examples: Sequence[C.TextExample], tokenizer: Any, cfg: Any) -> Features:
    return C.encode_texts(examples, tokenizer, cfg, LABELS, joiner=keyword_joiner(cfg))


def decode(outputs: Sequence[Any], features: Features, examples: Sequence[Any], cfg: Any) -> list[str]:
    return C.decode_argmax(outputs, LABELS)


def parse(path: Path, examples: Sequence[C.TextExample]) -> list[str]:
    return C.parse_jsonl(path, examples, LABELS)


TASK = Task(
    name="csl",
    version=1,
    head="classify",
    labels=LABELS,
    num_outputs=len(LABELS),
    main_metric="accuracy",
    metrics=("accuracy",),
    splits=FILES,
    submissions={"test": "csl_predict.json"},
    read=read,
    encode=encode,
    decode=decode,
    score=C.score_accuracy,
    render=C.render_jsonl,
    parse=parse,
    gold=C.gold_labels,
    description="scientific keyword recognition: are all keywords genuine? (1/0)",
)
