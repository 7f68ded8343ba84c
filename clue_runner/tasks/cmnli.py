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

from clue_runner.checksums import Digest, TaskChecksums
from clue_runner.tasks import _classify as C

# PaddleNLP's order (the default recipe's); the order never reaches a file, which carries the string.
LABELS = ("contradiction", "entailment", "neutral")
DROP = ("-",)
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, str]:
    return C.text(record, "sentence1", path, line), C.text(record, "sentence2", path, line)


# Published leaderboard figures (percent; clue report --compare): source -> model short name -> figure.
PUBLISHED = {
    "bojone": {"bert-base-chinese": 79.37, "roberta-wwm-ext": 80.81},
    "paddlenlp": {
        "bert-base-chinese": 80.97,
        "roberta-wwm-ext": 81.11,
        "roberta-wwm-ext-large": 83.88,
        "ernie-3.0-base-zh": 83.02,
        "rbt3": 76.20,
    },
    "clue": {"bert-base-chinese": 79.47, "roberta-wwm-ext": 80.70},
}
# The official archive's published digests (PaddleNLP clue.py md5s; Hugging Face `clue` sha256 and size).
CHECKSUMS = TaskChecksums(
    "cmnli",
    Digest(md5="e0e8caefd9b3491220c18b466233f2ff"),
    {
        "train.json": Digest(md5="7d02308650cd2a0e183bf599ca9bb263"),
        "dev.json": Digest(md5="0b16a50a297a9afb1ce5385ee4dd3d9c"),
        "test.json": Digest(md5="804cb0bb67266983d59d1c855e6b03b0"),
    },
)


TASK = C.classification_task(
    name="cmnli",
    labels=LABELS,
    files=FILES,
    submissions={"test": "cmnli_predict.json"},
    texts=texts,
    text_fields=("sentence1", "sentence2"),
    description="natural language inference (MultiNLI + XNLI), 3 classes",
    drop_labels=DROP,
    published=PUBLISHED,
    checksums=CHECKSUMS,
    paddle_mirror=True,
)
