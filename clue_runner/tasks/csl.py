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

from clue_runner.checksums import Digest, TaskChecksums
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


# Published leaderboard figures (percent; clue report --compare): source -> model short name -> figure.
PUBLISHED = {
    "bojone": {"bert-base-chinese": 84.03, "roberta-wwm-ext": 85.33},
    "paddlenlp": {
        "bert-base-chinese": 81.90,
        "roberta-wwm-ext": 80.77,
        "roberta-wwm-ext-large": 83.67,
        "ernie-3.0-base-zh": 82.63,
        "rbt3": 76.63,
    },
    "clue": {"bert-base-chinese": 79.63, "roberta-wwm-ext": 80.67},
}
# The official archive's published digests (PaddleNLP clue.py md5s; Hugging Face `clue` sha256 and size).
CHECKSUMS = TaskChecksums(
    "csl",
    Digest(md5="394a2ccbf6ddd7e331be4d5d7798f0f6"),
    {
        "train.json": Digest(md5="e927948b4e0eb4992fe9f45a77446bf5"),
        "dev.json": Digest(md5="6c2ab8dd3b4785829ead94b05a1cb957"),
        "test.json": Digest(md5="ebfb89575355f00dcd9b18f8353547cd"),
    },
)


TASK = C.classification_task(
    name="csl",
    labels=LABELS,
    files=FILES,
    submissions={"test": "csl_predict.json"},
    texts=texts,
    text_fields=("keyword", "abst"),
    description="scientific keyword recognition: are all keywords genuine? (1/0)",
    joiner=keyword_joiner,
    published=PUBLISHED,
    checksums=CHECKSUMS,
    paddle_mirror=True,
)
