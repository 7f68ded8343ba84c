"""OCNLI: Original Chinese NLI, 3-way inference, trained on the 50k split (task card: tasks/ocnli.md).

Files train.50k.json (not train.json) / dev.json / test.json, JSON lines. Train/dev records carry `sentence1`
(premise), `sentence2` (hypothesis), `label`, plus `level`, `label0`..`label4`, `genre`, `prem_id`, `id`, which
are not used; test records carry `sentence1`, `sentence2`, `id`. Labels entailment / neutral / contradiction;
rows labelled "-" are dropped from train and dev and never scored, but keep their line index. Metric accuracy.
Input `[CLS] premise [SEP] hypothesis [SEP]`, segment ids all 0 by default. Leaderboard file
ocnli_50k_predict.json (`ocnli_predict.json` scored 0, CLUE#104).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from clue_runner.tasks import _classify as C
from clue_runner.tasks.base import Features, Task

# PaddleNLP's order (the default recipe's); the order never reaches a file, which carries the string.
LABELS = ("entailment", "contradiction", "neutral")
DROP = ("-",)
FILES = {"train": ("train.50k.json",), "dev": ("dev.json",), "test": ("test.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, str]:
    return C.text(record, "sentence1", path, line), C.text(record, "sentence2", path, line)


def read(data_dir: Path, split: str) -> list[C.TextExample]:
    return C.read_split(data_dir, split, FILES, texts, LABELS, drop_labels=DROP)


def encode(examples: Sequence[C.TextExample], tokenizer: Any, cfg: Any) -> Features:
    return C.encode_texts(examples, tokenizer, cfg, LABELS)


def decode(outputs: Sequence[Any], features: Features, examples: Sequence[Any], cfg: Any) -> list[str]:
    return C.decode_argmax(outputs, LABELS)


def parse(path: Path, examples: Sequence[C.TextExample]) -> list[str]:
    return C.parse_jsonl(path, examples, LABELS)


TASK = Task(
    name="ocnli",
    version=1,
    head="classify",
    labels=LABELS,
    num_outputs=len(LABELS),
    main_metric="accuracy",
    metrics=("accuracy",),
    splits=FILES,
    submissions={"test": "ocnli_50k_predict.json"},
    read=read,
    encode=encode,
    decode=decode,
    score=C.score_accuracy,
    render=C.render_jsonl,
    parse=parse,
    gold=C.gold_labels,
    description="original Chinese natural language inference (train.50k), 3 classes",
)
