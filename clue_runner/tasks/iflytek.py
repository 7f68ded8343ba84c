"""IFLYTEK: app-description long-text classification, 119 classes (task card: tasks/iflytek.md).

Files train.json / dev.json / test.json (JSON lines: `label`, `label_des`, `sentence`; test records carry an `id`
and `sentence` only) and labels.json. Labels are the strings "0".."118"; `label_des` (spelt so, not
`label_desc`) is the category name and is not used as input. Metric accuracy. Input `[CLS] sentence [SEP]`,
truncated to data.max_len (descriptions are long). Leaderboard file iflytek_predict.json,
one `{"id": <line index>, "label": "<0..118>"}` per test record.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clue_runner.tasks import _classify as C
from clue_runner.tasks.base import Features, Task

LABELS = tuple(str(i) for i in range(119))
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",)}


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
    name="iflytek",
    version=1,
    head="classify",
    labels=LABELS,
    num_outputs=len(LABELS),
    main_metric="accuracy",
    metrics=("accuracy",),
    splits=FILES,
    submissions={"test": "iflytek_predict.json"},
    read=read,
    encode=encode,
    decode=decode,
    score=C.score_accuracy,
    render=C.render_jsonl,
    parse=parse,
    gold=C.gold_labels,
    description='app description classification, 119 categories (label = "0".."118")',
)
