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

from clue_runner.checksums import Digest, TaskChecksums
from clue_runner.tasks import _classify as C

LABELS = tuple(str(i) for i in range(119))
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, None]:
    return C.text(record, "sentence", path, line), None


# Published leaderboard figures (percent; clue report --compare): source -> model short name -> figure.
PUBLISHED = {
    "bojone": {"bert-base-chinese": 61.19, "roberta-wwm-ext": 61.12},
    "paddlenlp": {
        "bert-base-chinese": 61.29,
        "roberta-wwm-ext": 61.23,
        "roberta-wwm-ext-large": 62.02,
        "ernie-3.0-base-zh": 61.56,
        "rbt3": 59.18,
    },
    "clue": {"bert-base-chinese": 60.37, "roberta-wwm-ext": 60.80},
}
# The official archive's published digests (PaddleNLP clue.py md5s; Hugging Face `clue` sha256 and size).
CHECKSUMS = TaskChecksums(
    "iflytek",
    Digest(md5="19e4b19947db126f69aae18db0da2b87"),
    {
        "train.json": Digest(md5="fc9a21700c32ee3efee3fc283e9ac560"),
        "dev.json": Digest(md5="79b7d95bddeb11cd54198fd077992704"),
        "test.json": Digest(md5="ea764519ddb4369767d07664afde3325"),
        "labels.json": Digest(md5="7f9e794688ffb37fbd42b58325579fdf"),
    },
)


TASK = C.classification_task(
    name="iflytek",
    labels=LABELS,
    files=FILES,
    submissions={"test": "iflytek_predict.json"},
    texts=texts,
    text_fields=("sentence", None),
    description='app description classification, 119 categories (label = "0".."118")',
    published=PUBLISHED,
    checksums=CHECKSUMS,
    paddle_mirror=True,
)
