"""IFLYTEK: app-description long-text classification, 119 classes (task card: tasks/iflytek.md).

Files train.json / dev.json / test.json (JSON lines: `label`, `label_des`, `sentence`; test records carry an `id`
and `sentence` only) and labels.json. Labels are the strings "0".."118"; `label_des` (spelt so, not
`label_desc`) is the category name and is not used as input. Metric accuracy. Input `[CLS] sentence [SEP]`,
truncated to data.max_len (descriptions are long). Leaderboard file iflytek_predict.json,
one `{"id": <line index>, "label": "<0..118>"}` per test record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clue_runner.tasks import _classify as C

LABELS = tuple(str(i) for i in range(119))
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, None]:
    return C.text(record, "sentence", path, line), None


TASK = C.classification_task(
    name="iflytek",
    labels=LABELS,
    files=FILES,
    submissions={"test": "iflytek_predict.json"},
    texts=texts,
    description='app description classification, 119 categories (label = "0".."118")',
)
