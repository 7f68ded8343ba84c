"""TNEWS: Toutiao short-news title classification, 15 classes (task card: tasks/tnews.md).

Input `[CLS] sentence [SEP]` (keywords ignored, as both anchors do). Labels are the category codes "100".."116"
(105 and 111 do not exist); the leaderboard file carries the code, never a class index (an index scored 0,
CLUE#75). Two test sets: test.json (v1.1) -> tnews11_predict.json, test1.0.json -> tnews10_predict.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clue_runner.tasks import _classify as C

# The 15 category codes; 105 and 111 do not exist.
LABELS = tuple(str(code) for code in (*range(100, 105), *range(106, 111), *range(112, 117)))
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",), "test1.0": ("test1.0.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, None]:
    return C.text(record, "sentence", path, line), None


TASK = C.classification_task(
    name="tnews",
    labels=LABELS,
    files=FILES,
    submissions={"test": "tnews11_predict.json", "test1.0": "tnews10_predict.json"},
    texts=texts,
    description="news title classification, 15 categories (label = category code)",
)
