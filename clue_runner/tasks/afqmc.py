"""AFQMC: Ant Financial question matching, sentence-pair binary classification (task card: tasks/afqmc.md).

Files train.json / dev.json / test.json (JSON lines: `sentence1`, `sentence2`, `label`; test records carry an
`id` and no label). Labels "0" / "1" ("1" = same meaning); metric accuracy. Input
`[CLS] sentence1 [SEP] sentence2 [SEP]`, segment ids all 0 by default (`task.segment_ids`). Leaderboard file
afqmc_predict.json, one `{"id": <line index>, "label": "0|1"}` per test record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clue_runner.checksums import Digest, TaskChecksums
from clue_runner.tasks import _classify as C

LABELS = ("0", "1")
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, str]:
    return C.text(record, "sentence1", path, line), C.text(record, "sentence2", path, line)


# Published leaderboard figures (percent; clue report --compare): source -> model short name -> figure.
PUBLISHED = {
    "bojone": {"bert-base-chinese": 73.37, "roberta-wwm-ext": 73.61},
    "paddlenlp": {
        "bert-base-chinese": 74.63,
        "roberta-wwm-ext": 74.60,
        "roberta-wwm-ext-large": 76.00,
        "ernie-3.0-base-zh": 75.93,
        "rbt3": 70.95,
    },
    "clue": {"bert-base-chinese": 74.16, "roberta-wwm-ext": 74.30},
}
# The official archive's published digests (PaddleNLP clue.py md5s; Hugging Face `clue` sha256 and size).
CHECKSUMS = TaskChecksums(
    "afqmc",
    Digest(
        md5="3377b559bb4e61d03a35282550902ca0",
        sha256="5a4cb1556b833010c329fa2ad2207d9e98fc94071b7e474015e9dd7c385db4dc",
        size=1_195_044,
    ),
    {
        "train.json": Digest(md5="319cf775353af9473140abca4052b89a"),
        "dev.json": Digest(md5="307154b59cb6c3e68a0f39c310bbd364"),
        "test.json": Digest(md5="94b925f23a9615dd08199c4013f761f4"),
    },
)


TASK = C.classification_task(
    name="afqmc",
    labels=LABELS,
    files=FILES,
    submissions={"test": "afqmc_predict.json"},
    texts=texts,
    text_fields=("sentence1", "sentence2"),
    description="question matching, sentence pair, binary (1 = same meaning)",
    published=PUBLISHED,
    checksums=CHECKSUMS,
    paddle_mirror=True,
)
