"""CLUENER2020: fine-grained Chinese NER, 10 entity types (task card: tasks/cluener.md).

Files are JSON lines: train/dev `{"text", "label": {type: {entity: [[start, end], ...]}}}` with 0-based inclusive
character offsets (`text[start:end+1] == entity`, checked), test `{"id", "text"}`. Nested, crossing and repeated
entities are kept span by span. Head: a GlobalPointer with one head per type (types sorted alphabetically, as
bojone), input `[CLS] text [SEP]` with segment ids 0, tokenised one character per token by default
(`task.tokenize: char`, as the CLUENER PyTorch baselines; every entity stays representable) or by word pieces
(`wordpiece`, entities split inside a piece are counted and lost). Texts past `data.max_len - 2` tokens are cut.
Metrics: entity-level micro F1 over (type, start, end) (main, the baselines' dev metric), precision, recall,
`macro_f1`, the official leaderboard score (per-type F1 over entity-string sets, macro over the 10 types), and
that per-type leaderboard F1 itself as `f1_address` ... `f1_scene` (so `clue evaluate`, results.json and
`clue report` show which types pull the score down).
Leaderboard file: cluener_predict.json, one `{"id": <test id>, "label": {...}}` line per test record, in order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clue_runner.data import field, iter_jsonl
from clue_runner.errors import DataError, lenient_scoring, tolerate_missing
from clue_runner.metrics.ner import ENTITY_TYPES, entity_scores, leaderboard_scores
from clue_runner.tasks import _ner
from clue_runner.tasks._ner import EncodeLosses, Entities
from clue_runner.tasks.base import Features, Task, gold_labels

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from clue_runner.config import RunConfig

LABELS = ENTITY_TYPES  # address book company game government movie name organization position scene
FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",)}
SUBMISSION = "cluener_predict.json"


@dataclass(frozen=True)
class NerExample:
    """One CLUENER record. `entities` is None for test records; `record_id` is the test record's `id`
    (the leaderboard key); `index` the 0-based record index; `source` is `file:line` for messages."""

    text: str
    entities: Entities | None
    index: int
    record_id: int | str | None
    source: str


def read(data_dir: Path, split: str) -> list[NerExample]:
    """Read train/dev (labelled, every span checked against its text) or test (needs a unique `id`)."""
    (name,) = FILES[split]
    path = Path(data_dir) / name
    labelled = split in ("train", "dev")
    examples: list[NerExample] = []
    seen: dict[Any, int] = {}
    for index, (line, record) in enumerate(iter_jsonl(path)):
        text = str(field(record, "text", str, path, line))
        entities = record_id = None
        if labelled:
            entities = _ner.parse_label(field(record, "label", dict, path, line), text, LABELS, path, line)
        else:
            record_id = field(record, "id", (int, str), path, line)
            if record_id in seen:
                raise DataError(path, f"duplicate id {record_id!r} (first on line {seen[record_id]})", line)
            seen[record_id] = line
        examples.append(NerExample(text, entities, index, record_id, f"{path}:{line}"))
    return examples


def tokenize_mode(cfg: RunConfig) -> str:
    """`task.tokenize`: char (default) or wordpiece; checked by the encoder."""
    return str(cfg.task.get("tokenize", "char"))


def encode_with_losses(
    examples: Sequence[NerExample], tokenizer: PreTrainedTokenizerBase, cfg: RunConfig
) -> tuple[Features, EncodeLosses]:
    """Features plus the count of gold entities the encoding cannot represent (truncation, token edges)."""
    return _ner.encode_entities(
        [ex.text for ex in examples],
        [ex.entities for ex in examples],
        LABELS,
        tokenizer,
        cfg.data.max_len,
        tokenize_mode(cfg),
    )


def encode(examples: Sequence[NerExample], tokenizer: PreTrainedTokenizerBase, cfg: RunConfig) -> Features:
    """One feature per record (`[CLS] text [SEP]`, cut at data.max_len); warns about unrepresentable entities."""
    features, losses = encode_with_losses(examples, tokenizer, cfg)
    _ner.log_losses("cluener", losses, tokenize_mode(cfg), cfg.data.max_len)
    return features


def decode(
    outputs: Sequence[Any], features: Features, examples: Sequence[NerExample], cfg: RunConfig
) -> list[Entities]:
    """Label objects from the head's positive (type, start token, end token, score) pairs, at character offsets."""
    return _ner.decode_entities(outputs, features, [ex.text for ex in examples], LABELS)


def gold(examples: Sequence[NerExample]) -> list[Entities]:
    """The labelled records' own label objects (canonical order), i.e. what a perfect model predicts."""
    return gold_labels(examples, attribute="entities")


def score(predictions: Sequence[Entities], examples: Sequence[NerExample]) -> dict[str, float]:
    """Micro span f1 / precision / recall, the leaderboard macro_f1, and each type's leaderboard F1 as
    `f1_<type>` (the 10 numbers macro_f1 averages), all in percent."""
    golds = gold(examples)
    micro = entity_scores(predictions, golds)  # raises on a length mismatch, which leaderboard_scores ignores
    per_type, macro = leaderboard_scores(predictions, golds, LABELS)
    return {**micro, "macro_f1": macro, **{f"f1_{kind}": per_type[kind] for kind in LABELS}}


def render(predictions: Sequence[Entities], examples: Sequence[NerExample]) -> str:
    """cluener_predict.json: one line per test record in file order; types without entities left out."""
    lines = [
        json.dumps(
            {"id": ex.record_id if ex.record_id is not None else ex.index, "label": pred}, ensure_ascii=False
        )
        for ex, pred in zip(examples, predictions, strict=True)
    ]
    return "\n".join(lines) + "\n"


def parse(path: Path, examples: Sequence[NerExample]) -> list[Entities]:
    """Read a cluener_predict.json back, matched by id; spans are checked against the examples' texts.

    A duplicate or unknown id is an error (the official scorer pairs lines by order and would silently score a
    reordered file); so is a missing id, except under `errors.official_scoring`, where the record counts as
    having no entities and spans are not checked (the leaderboard macro F1 compares entity strings only).
    """
    by_id: dict[str, tuple[int, Any]] = {}
    for line, record in iter_jsonl(path):
        # Keyed as text, so a file that writes the ids as strings ("7") still matches.
        ident = str(field(record, "id", (int, str), path, line))
        if ident in by_id:
            raise DataError(path, f"duplicate id {ident!r}", line)
        by_id[ident] = (line, field(record, "label", dict, path, line))
    keys = [str(ex.record_id if ex.record_id is not None else ex.index) for ex in examples]
    unknown = set(by_id) - set(keys)
    if unknown:
        first = min(unknown, key=lambda k: by_id[k][0])
        raise DataError(
            path,
            f"{len(unknown)} predictions for ids not in the test set (first: {first!r})",
            by_id[first][0],
        )
    tolerate_missing(path, [k for k in keys if k not in by_id], len(keys), "records")
    # The official scorer compares the 10 types' entity strings only: when scoring, spans are not checked.
    strict = not lenient_scoring()
    return [
        _ner.parse_label(by_id[k][1], ex.text, LABELS, path, by_id[k][0], strict) if k in by_id else {}
        for k, ex in zip(keys, examples, strict=True)
    ]


# Published leaderboard figures (percent; clue report --compare): source -> model short name -> figure.
PUBLISHED = {
    "bojone": {"bert-base-chinese": 78.68, "roberta-wwm-ext": 79.38},
}


TASK = Task(
    name="cluener",
    version=1,
    head="entities",
    labels=LABELS,
    num_outputs=len(LABELS),
    main_metric="f1",
    metrics=("f1", "precision", "recall", "macro_f1", *(f"f1_{kind}" for kind in LABELS)),
    splits=FILES,
    submissions={"test": SUBMISSION},
    read=read,
    encode=encode,
    decode=decode,
    score=score,
    render=render,
    parse=parse,
    gold=gold,
    description="fine-grained NER, 10 entity types (GlobalPointer; leaderboard = macro F1 over types)",
    leaderboard_metric="macro_f1",
    published=PUBLISHED,
)
