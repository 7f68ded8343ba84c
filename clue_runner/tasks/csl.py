"""CSL: Chinese scientific literature keyword recognition, binary (task card: tasks/csl.md).

JSON lines: `id` (a corpus id, not the line index), `abst` (abstract), `keyword` (list of strings) and, in
train/dev, `label` "0" / "1" ("1" = every keyword is genuine). Metric accuracy. Input
`[CLS] keywords [SEP] abstract [SEP]`, the keywords joined with `task.keyword_joiner` (default '；' U+FF1B, as
bojone; CONFLICT: PaddleNLP and the CLUE baselines join with ' '), segment ids all 0 by default. Leaderboard
file csl_predict.json with `"id"` = 0-based line index (a warning says when that differs from the records' ids).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clue_runner.data import field
from clue_runner.errors import ClueError, DataError
from clue_runner.tasks import _classify as C

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


TASK = C.classification_task(
    name="csl",
    labels=LABELS,
    files=FILES,
    submissions={"test": "csl_predict.json"},
    texts=texts,
    description="scientific keyword recognition: are all keywords genuine? (1/0)",
    joiner=keyword_joiner,
)
