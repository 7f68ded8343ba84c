"""AFQMC: Ant Financial question matching, sentence-pair binary classification (task card: tasks/afqmc.md).

Files train.json / dev.json / test.json (JSON lines: `sentence1`, `sentence2`, `label`; test records carry an
`id` and no label). Labels "0" / "1" ("1" = same meaning); metric accuracy. Input
`[CLS] sentence1 [SEP] sentence2 [SEP]`, segment ids all 0 by default (`task.segment_ids`). Leaderboard file
afqmc_predict.json, one `{"id": <line index>, "label": "0|1"}` per test record.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clue_runner.tasks import _classify as C
from clue_runner.tasks.base import Features, Task

LABELS = ("0", "1")
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, str]:
    return C.text(record, "sentence1", path, line), C.text(record, "sentence2", path, line)


def read(data_dir: Path, split: str) -> list[C.TextExample]:
    return C.read_split(data_dir, split, FILES, texts, LABELS)


def encode(examples: Sequence[C.TextExample], tokenizer: Any, cfg: Any) -> Features:
    return C.encode_texts(examples, tokenizer, cfg, LABELS)


def decode(outputs: Sequence[Any], features: Features, examples: Sequence[Any], cfg: Any) -> list[str]:
    return C.decode_argmax(outputs, LABELS)


def parse(path: Path, examples: Sequence[C.TextExample]) -> list[str]:
    return C.parse_jsonl(path, examples, LABELS)


TASK = Task(
    name="afqmc",
    version=1,
    head="classify",
    labels=LABELS,
    num_outputs=len(LABELS),
    main_metric="accuracy",
    metrics=("accuracy",),
    splits=FILES,
    submissions={"test": "afqmc_predict.json"},
    read=read,
    encode=encode,
    decode=decode,
    score=C.score_accuracy,
    render=C.render_jsonl,
    parse=parse,
    gold=C.gold_labels,
    description="question matching, sentence pair, binary (1 = same meaning)",
)
