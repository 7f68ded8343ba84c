"""TNEWS: Toutiao short-news title classification, 15 classes (task card: tasks/tnews.md).

Input `[CLS] sentence [SEP]` (keywords ignored, as both anchors do). Labels are the category codes "100".."116"
(105 and 111 do not exist); the leaderboard file carries the code, never a class index (an index scored 0,
CLUE#75). Two test sets: test.json (v1.1) -> tnews11_predict.json, test1.0.json -> tnews10_predict.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clue_runner.checksums import Digest, TaskChecksums
from clue_runner.errors import DataError
from clue_runner.tasks import _classify as C

# The 15 category codes (105 and 111 do not exist) and their names, as in the archive's labels.json.
LABEL_DESC = {
    "100": "news_story", "101": "news_culture", "102": "news_entertainment", "103": "news_sports",
    "104": "news_finance", "106": "news_house", "107": "news_car", "108": "news_edu", "109": "news_tech",
    "110": "news_military", "112": "news_travel", "113": "news_world", "114": "news_stock",
    "115": "news_agriculture", "116": "news_game",
}  # fmt: skip
LABELS = tuple(LABEL_DESC)
NAMED = frozenset(LABEL_DESC.values())
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",), "test1.0": ("test1.0.json",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, None]:
    _check_label_desc(record, path, line)
    return C.text(record, "sentence", path, line), None


def _check_label_desc(record: dict[str, Any], path: Path, line: int) -> None:
    """`label_desc` repeats the label's name; one that names another category means the record is damaged
    (which of the two is right cannot be told), so it is refused rather than trained on. Other text there is
    not a category name and is ignored, as the field is otherwise."""
    desc, label = record.get("label_desc"), record.get("label")
    if not isinstance(label, str) or label not in LABEL_DESC:
        return  # no label (test records), or one the label check reports
    if desc in NAMED and desc != LABEL_DESC[label]:
        raise DataError(
            path, f"label {label!r} is {LABEL_DESC[label]!r}, but label_desc says {str(desc)[:40]!r}", line
        )


# Published leaderboard figures (percent; clue report --compare): source -> model short name -> figure.
PUBLISHED = {
    "bojone": {"bert-base-chinese": 56.29, "roberta-wwm-ext": 58.35},
    "paddlenlp": {
        "bert-base-chinese": 57.13,
        "roberta-wwm-ext": 58.08,
        "roberta-wwm-ext-large": 59.33,
        "ernie-3.0-base-zh": 58.26,
        "rbt3": 55.53,
    },
    "clue": {"bert-base-chinese": 56.09, "roberta-wwm-ext": 57.51},
}
# The official archive's published digests (PaddleNLP clue.py md5s; Hugging Face `clue` sha256 and size).
CHECKSUMS = TaskChecksums(
    "tnews",
    Digest(md5="38186ed0a751bc33e3ae0c1b59319777"),
    {
        "train.json": Digest(md5="25c021725309a3330736380a230850fd"),
        "dev.json": Digest(md5="f0660a3339a32e764075c801b42ece3c"),
        "test.json": Digest(md5="045a6c4f59bf1a066c4a0d7afe6cd2b4"),
        "test1.0.json": Digest(md5="2d1557c7548c72d5a84c47bbbd3a4e85"),
        "labels.json": Digest(md5="a1a7595e596b202556dedd2a20617769"),
    },
)


TASK = C.classification_task(
    name="tnews",
    labels=LABELS,
    files=FILES,
    submissions={"test": "tnews11_predict.json", "test1.0": "tnews10_predict.json"},
    former_names={"tnews_predict.json": "tnews11_predict.json"},
    texts=texts,
    text_fields=("sentence", None),
    description="news title classification, 15 categories (label = category code)",
    published=PUBLISHED,
    checksums=CHECKSUMS,
    paddle_mirror=True,
)
