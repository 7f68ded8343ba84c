"""OCNLI: Original Chinese NLI, 3-way inference, trained on the 50k split (task card: tasks/ocnli.md).

Files train.50k.json (not train.json) / dev.json / test.json, JSON lines. Train/dev records carry `sentence1`
(premise), `sentence2` (hypothesis), `label`, plus `level`, `label0`..`label4`, `genre`, `prem_id`, `id`, which
are not used; test records carry `sentence1`, `sentence2`, `id`. Labels entailment / neutral / contradiction;
rows labelled "-" are dropped from train and dev and never scored, but keep their line index. Metric accuracy.
Input `[CLS] premise [SEP] hypothesis [SEP]`, segment ids all 0 by default. Leaderboard file
ocnli_50k_predict.json (`ocnli_predict.json` scored 0, CLUE#104).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clue_runner.tasks import _classify as C

# PaddleNLP's order (the default recipe's); the order never reaches a file, which carries the string.
LABELS = ("entailment", "contradiction", "neutral")
DROP = ("-",)
FILES = {"train": ("train.50k.json",), "dev": ("dev.json",), "test": ("test.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, str]:
    return C.text(record, "sentence1", path, line), C.text(record, "sentence2", path, line)


TASK = C.classification_task(
    name="ocnli",
    labels=LABELS,
    files=FILES,
    submissions={"test": "ocnli_50k_predict.json"},
    texts=texts,
    description="original Chinese natural language inference (train.50k), 3 classes",
    drop_labels=DROP,
)
