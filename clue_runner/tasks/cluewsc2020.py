"""CLUEWSC2020: Chinese Winograd schema, pronoun/noun coreference, binary (task card: tasks/cluewsc2020.md).

JSON lines: `text`, `target` {`span1_index`, `span1_text` (the noun), `span2_index`, `span2_text` (the
pronoun)}, `label` "true" / "false" in train/dev (`idx` unused); test records carry `id`, `target`, `text`.
The indices are character offsets into `text`; a span whose text is not found there is a DataError (file:line).
Input: the text with the noun wrapped as `_noun_` and the pronoun as `[pronoun]`, in either order, classified
as one sentence `[CLS] marked text [SEP]` (PaddleNLP, CLUE and bojone agree). Metric accuracy. Two test sets:
test.json (v1.1) -> cluewsc11_predict.json, test1.0.json -> cluewsc10_predict.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clue_runner.checksums import Digest, TaskChecksums
from clue_runner.data import field
from clue_runner.errors import DataError
from clue_runner.tasks import _classify as C

LABELS = ("true", "false")  # PaddleNLP's order; files carry the string, so the order is internal only
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",), "test1.0": ("test1.0.json",)}


def mark(text: str, noun: str, noun_at: int, pronoun: str, pronoun_at: int) -> str:
    """`_noun_` and `[pronoun]` inserted at their character offsets, exactly as the reference baselines do."""
    chars = list(text)
    # Insert the left span's markers first; the right span's offsets then move by the two inserted characters.
    if pronoun_at > noun_at:
        chars.insert(noun_at, "_")
        chars.insert(noun_at + len(noun) + 1, "_")
        chars.insert(pronoun_at + 2, "[")
        chars.insert(pronoun_at + len(pronoun) + 3, "]")
    else:
        chars.insert(pronoun_at, "[")
        chars.insert(pronoun_at + len(pronoun) + 1, "]")
        chars.insert(noun_at + 2, "_")
        chars.insert(noun_at + len(noun) + 3, "_")
    return "".join(chars)


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, None]:
    text = C.text(record, "text", path, line)
    target = field(record, "target", dict, path, line)
    spans = []
    for n in ("1", "2"):
        at = field(target, f"span{n}_index", int, path, line)
        span = field(target, f"span{n}_text", str, path, line)
        if not span or at < 0 or text[at : at + len(span)] != span:
            found = text[at : at + len(span)] if at >= 0 else ""
            message = f"target.span{n}_text {span!r} is not at span{n}_index {at} (text there: {found!r})"
            raise DataError(path, message, line)
        spans.append((span, at))
    (noun, noun_at), (pronoun, pronoun_at) = spans
    return mark(text, noun, noun_at, pronoun, pronoun_at), None


# Published leaderboard figures (percent; clue report --compare): source -> model short name -> figure.
PUBLISHED = {
    "bojone": {"bert-base-chinese": 73.85, "roberta-wwm-ext": 82.28},
    "paddlenlp": {
        "bert-base-chinese": 81.91,
        "roberta-wwm-ext": 88.49,
        "roberta-wwm-ext-large": 90.79,
        "ernie-3.0-base-zh": 86.18,
        "rbt3": 67.11,
    },
    "clue": {"bert-base-chinese": 59.60, "roberta-wwm-ext": 67.20},
}
# The official archive's published digests (PaddleNLP clue.py md5s; Hugging Face `clue` sha256 and size).
CHECKSUMS = TaskChecksums(
    "cluewsc2020",
    Digest(md5="2e387e20e93eeab0ffaded5b0d2dfd3d"),
    {
        "train.json": Digest(md5="afd235dcf8cdb89ee1a21d0a4823eecc"),
        "dev.json": Digest(md5="bad8cd6fa0916fc37ac96b8ce316714a"),
        "test.json": Digest(md5="27614454cc26be6fcab5bbd9a45967ff"),
        "test1.0.json": Digest(md5="0e9e8ffd8ee90ddf1f58d6dc2e02de7b"),
    },
)


TASK = C.classification_task(
    name="cluewsc2020",
    labels=LABELS,
    files=FILES,
    submissions={"test": "cluewsc11_predict.json", "test1.0": "cluewsc10_predict.json"},
    former_names={
        "cluewsc2020_predict.json": "cluewsc11_predict.json",
        "wsc_predict.json": "cluewsc11_predict.json",
    },
    texts=texts,
    text_fields=("text", None),
    description="Winograd coreference: does the [pronoun] refer to the _noun_? (true/false)",
    published=PUBLISHED,
    checksums=CHECKSUMS,
    paddle_mirror=True,
)
