"""AFQMC: Ant Financial question matching, sentence-pair binary classification (task card: tasks/afqmc.md).

Files train.json / dev.json / test.json (JSON lines: `sentence1`, `sentence2`, `label`; test records carry an
`id` and no label). Labels "0" / "1" ("1" = same meaning); metric accuracy. Input
`[CLS] sentence1 [SEP] sentence2 [SEP]`, segment ids all 0 by default (`task.segment_ids`). Leaderboard file
afqmc_predict.json, one `{"id": <line index>, "label": "0|1"}` per test record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clue_runner.tasks import _classify as C

LABELS = ("0", "1")
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, str]:
    return C.text(record, "sentence1", path, line), C.text(record, "sentence2", path, line)


TASK = C.classification_task(
    name="afqmc",
    labels=LABELS,
    files=FILES,
    submissions={"test": "afqmc_predict.json"},
    texts=texts,
    description="question matching, sentence pair, binary (1 = same meaning)",
)
