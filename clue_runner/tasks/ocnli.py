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

from clue_runner.checksums import Digest, TaskChecksums
from clue_runner.tasks import _classify as C

# PaddleNLP's order (the default recipe's); the order never reaches a file, which carries the string.
LABELS = ("entailment", "contradiction", "neutral")
DROP = ("-",)
FILES = {"train": ("train.50k.json",), "dev": ("dev.json",), "test": ("test.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, str]:
    return C.text(record, "sentence1", path, line), C.text(record, "sentence2", path, line)


# Published leaderboard figures (percent; clue report --compare): source -> model short name -> figure.
PUBLISHED = {
    "bojone": {"bert-base-chinese": 71.73, "roberta-wwm-ext": 74.27},
    "paddlenlp": {
        "bert-base-chinese": 75.22,
        "roberta-wwm-ext": 76.92,
        "roberta-wwm-ext-large": 78.81,
        "ernie-3.0-base-zh": 80.10,
        "rbt3": 70.71,
    },
    "clue": {"bert-base-chinese": 74.50, "roberta-wwm-ext-large": 78.80},
}
# The official archive's published digests (PaddleNLP clue.py md5s; Hugging Face `clue` sha256 and size).
CHECKSUMS = TaskChecksums(
    "ocnli",
    Digest(md5="acb426f6f3345076c6ce79239e7bc307"),
    {
        "train.50k.json": Digest(md5="d38ec492ef086a894211590a18ab7596"),
        "dev.json": Digest(md5="3481b456bee57a3c9ded500fcff6834c"),
        "test.json": Digest(md5="680ff24e6b3419ff8823859bc17936aa"),
    },
)


TASK = C.classification_task(
    name="ocnli",
    labels=LABELS,
    files=FILES,
    submissions={"test": "ocnli_50k_predict.json"},
    former_names={"ocnli_predict.json": "ocnli_50k_predict.json"},
    texts=texts,
    text_fields=("sentence1", "sentence2"),
    description="original Chinese natural language inference (train.50k), 3 classes",
    drop_labels=DROP,
    published=PUBLISHED,
    checksums=CHECKSUMS,
    paddle_mirror=True,
)
