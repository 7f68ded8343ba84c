"""CMNLI: Chinese MultiNLI + XNLI, 3-way natural language inference (task card: tasks/cmnli.md).

Files train.json / dev.json / test.json (JSON lines: `sentence1` premise, `sentence2` hypothesis, `label`; test
records carry an `id` and no label). Labels entailment / neutral / contradiction; rows labelled "-" (no
annotator agreement) are dropped from train and dev and never scored, but keep their line index. Metric
accuracy. Input `[CLS] premise [SEP] hypothesis [SEP]`, segment ids all 0 by default. Leaderboard file
cmnli_predict.json. CMNLI is off the CLUE 1.1 board (replaced by OCNLI) but still reported on dev.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clue_runner.tasks import _classify as C

# PaddleNLP's order (the default recipe's); the order never reaches a file, which carries the string.
LABELS = ("contradiction", "entailment", "neutral")
DROP = ("-",)
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, str]:
    return C.text(record, "sentence1", path, line), C.text(record, "sentence2", path, line)


TASK = C.classification_task(
    name="cmnli",
    labels=LABELS,
    files=FILES,
    submissions={"test": "cmnli_predict.json"},
    texts=texts,
    description="natural language inference (MultiNLI + XNLI), 3 classes",
    drop_labels=DROP,
)
