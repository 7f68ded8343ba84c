"""TNEWS: Toutiao short-news title classification, 15 classes (task card: tasks/tnews.md).

Input `[CLS] sentence [SEP]` (keywords ignored, as both anchors do). Labels are the category codes "100".."116"
(105 and 111 do not exist); the leaderboard file carries the code, never a class index (an index scored 0,
CLUE#75). Two test sets: test.json (v1.1) -> tnews11_predict.json, test1.0.json -> tnews10_predict.json.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clue_runner.tasks import _classify as C
from clue_runner.tasks.base import Features, Task

# The 15 category codes; 105 and 111 do not exist.
LABELS = tuple(str(code) for code in (*range(100, 105), *range(106, 111), *range(112, 117)))
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",), "test1.0": ("test1.0.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, None]:
    return C.text(record, "sentence", path, line), None


def read(data_dir: Path, split: str) -> list[C.TextExample]:
    return C.read_split(data_dir, split, FILES, texts, LABELS)


def encode(examples: Sequence[C.TextExample], tokenizer: Any, cfg: Any) -> Features:
    return C.encode_texts(examples, tokenizer, cfg, LABELS)


def decode(outputs: Sequence[Any], features: Features, examples: Sequence[Any], cfg: Any) -> list[str]:
    return C.decode_argmax(outputs, LABELS)


def parse(path: Path, examples: Sequence[C.TextExample]) -> list[str]:
    return C.parse_jsonl(path, examples, LABELS)


TASK = Task(
    name="tnews",
    version=1,
    head="classify",
    labels=LABELS,
    num_outputs=len(LABELS),
    main_metric="accuracy",
    metrics=("accuracy",),
    splits=FILES,
    submissions={"test": "tnews11_predict.json", "test1.0": "tnews10_predict.json"},
    read=read,
    encode=encode,
    decode=decode,
    score=C.score_accuracy,
    render=C.render_jsonl,
    parse=parse,
    gold=C.gold_labels,
    description="news title classification, 15 categories (label = category code)",
)
