"""C3: multiple-choice reading comprehension, dialogues (d-) and mixed-genre texts (m-) (task card: tasks/c3.md).

Files d-/m-train.json (train), d-/m-dev.json (dev), test1.1.json (split `test`) and test1.0.json (`test1.0`),
each one JSON list of items [context lines, questions, item id]; one example per question. Train/dev questions
carry `answer`, which must be one of their 1-4 `choice` strings (more than 4 choices is an error). Choices are
padded to 4 with '无效答案' (both anchors); the padding is never predicted. One encoder pass per choice:
`[CLS] passage [SEP] question [SEP] choice [SEP]`, passage = context lines joined with `task.passage_joiner`;
when too long, the passage tail is cut first, to one length for all 4 choices; segment ids all 0
(`task.segment_ids: zero`, bojone) or 0/1 (`pair`, PaddleNLP). Metric: accuracy. Leaderboard files
c311_predict.json (test1.1) and c310_predict.json (test1.0): JSON lines `{"id": <0-based question index in
file order>, "label": "<choice index>"}`.
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clue_runner.data import field, read_json
from clue_runner.errors import ClueError, DataError, listed
from clue_runner.metrics import accuracy
from clue_runner.subset import choose
from clue_runner.tasks import _choice as K
from clue_runner.tasks._classify import parse_jsonl, render_jsonl, segment_mode
from clue_runner.tasks.base import Features, Task, gold_labels

FILES = {
    "train": ("d-train.json", "m-train.json"),
    "dev": ("d-dev.json", "m-dev.json"),
    "test": ("test1.1.json",),
    "test1.0": ("test1.0.json",),
}
NUM_CHOICES = 4
LABELS = tuple(str(i) for i in range(NUM_CHOICES))
FILLER = "无效答案"  # the dummy choice both anchors pad with ("invalid answer")
SPECIALS = 4  # [CLS] passage [SEP] question [SEP] choice [SEP]


@dataclass(frozen=True)
class C3Example:
    """One question. `choices` are as in the file (1-4, before padding); `label` is the answer's index (None in
    test files); `index` is the 0-based question index in its split, in file order (the leaderboard id);
    `question_id` is the question's own `id` (test files); `source` is `file:item id question k`."""

    passage: tuple[str, ...]
    question: str
    choices: tuple[str, ...]
    label: int | None
    index: int
    question_id: Any
    source: str

    @property
    def record_id(self) -> Any:
        """The question's own `id` under the name the shared leaderboard helpers read."""
        return self.question_id


def _strings(value: Any, name: str, path: Path, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise DataError(path, f"{name} must be a list of strings, got {value!r}", where)
    return tuple(value)


def load(path: Path, labelled: bool, start: int = 0) -> list[C3Example]:
    """Read one C3 file; question indices count on from `start`. Errors name the item id and question."""
    if not path.is_file():
        raise DataError(path, "file not found")
    doc = read_json(path)
    if not isinstance(doc, list):
        raise DataError(path, "expected a JSON list of [context lines, questions, item id] items")
    examples: list[C3Example] = []
    for i, item in enumerate(doc):
        if not isinstance(item, list) or len(item) < 2:
            raise DataError(path, "item must be a list [context lines, questions, item id]", f"item {i}")
        where = str(item[2]) if len(item) > 2 and isinstance(item[2], (str, int)) else f"item {i}"
        passage = _strings(item[0], "context", path, where)
        if not isinstance(item[1], list):
            raise DataError(path, f"questions must be a list, got {item[1]!r}", where)
        for k, q in enumerate(item[1]):
            at = f"{where} question {k}"
            if not isinstance(q, dict):
                raise DataError(path, "question must be an object with 'question' and 'choice'", at)
            question = field(q, "question", str, path, at)
            choices = _strings(field(q, "choice", list, path, at), "choice", path, at)
            if not 1 <= len(choices) <= NUM_CHOICES:
                # Never silently dropped: a 5th choice could be the answer, and the model has 4 slots.
                raise DataError(path, f"{len(choices)} choices; C3 questions have 1 to {NUM_CHOICES}", at)
            label = None
            if labelled:
                answer = field(q, "answer", str, path, at)
                if answer not in choices:
                    raise DataError(path, f"answer {answer!r} is not one of the choices {list(choices)}", at)
                label = choices.index(answer)
            examples.append(
                C3Example(
                    passage, question, choices, label, start + len(examples), q.get("id"), f"{path}:{at}"
                )
            )
    if not examples:
        raise DataError(path, "no questions")
    return examples


def read(data_dir: Path, split: str) -> list[C3Example]:
    labelled = split in ("train", "dev")
    examples: list[C3Example] = []
    for name in FILES[split]:
        examples += load(Path(data_dir) / name, labelled, len(examples))
    return examples


def _fit(q_len: int, c_len: int, budget: int) -> tuple[int, int]:
    """Question and choice lengths kept: whole unless together over `budget`, then longest-first."""
    while q_len + c_len > budget:
        if q_len >= c_len:
            q_len -= 1
        else:
            c_len -= 1
    return q_len, c_len


def encode(examples: Sequence[C3Example], tokenizer: Any, cfg: Any) -> Features:
    """Four rows per question; the passage tail is cut first (see the module docstring)."""
    budget = cfg.data.max_len - SPECIALS
    if budget < 2:
        raise ClueError(f"c3: data.max_len {cfg.data.max_len} leaves no room for a question and a choice")
    pair = segment_mode(cfg) == "pair"
    joiner = str(cfg.task.get("passage_joiner", "\n"))
    texts = [joiner.join(ex.passage) for ex in examples]
    unique = list(dict.fromkeys(texts))  # questions of one item share their passage: tokenise it once
    passage_ids = dict(zip(unique, K.tokenize(tokenizer, unique), strict=True))
    question_ids = K.tokenize(tokenizer, [ex.question for ex in examples])
    padded = [c for ex in examples for c in (*ex.choices, *[FILLER] * (NUM_CHOICES - len(ex.choices)))]
    choice_ids = K.tokenize(tokenizer, padded)
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    rows = []
    for i in range(len(examples)):
        choices = choice_ids[NUM_CHOICES * i : NUM_CHOICES * (i + 1)]
        kept = [_fit(len(question_ids[i]), len(c), budget) for c in choices]
        # One passage length for all choices (the longest question+choice decides), so that the choices are
        # compared on the same text; PaddleNLP's shared, mutated passage list does nearly this.
        passage = [cls, *passage_ids[texts[i]][: budget - max(q + c for q, c in kept)], sep]
        ids, types = [], []
        for (q_len, c_len), choice in zip(kept, choices, strict=True):
            second = [*question_ids[i][:q_len], sep, *choice[:c_len], sep]
            ids.append(passage + second)
            if pair:
                types.append([0] * len(passage) + [1] * len(second))
        rows.append(K.choice_row(ids, types if pair else None))
    labels = [ex.label for ex in examples]
    return Features(rows=rows, labels=labels, example_index=list(range(len(examples))))


def decode(outputs: Sequence[Any], features: Features, examples: Sequence[C3Example], cfg: Any) -> list[str]:
    """The best real choice of each question, as the label string "0".."3"."""
    predictions: list[str | None] = [None] * len(examples)
    for logits, i in zip(outputs, features.example_index, strict=True):
        predictions[i] = LABELS[K.masked_argmax(logits, len(examples[i].choices))]
    if any(p is None for p in predictions):
        raise ValueError("c3.decode: some questions have no feature")
    return [str(p) for p in predictions]


def gold(examples: Sequence[C3Example]) -> list[str]:
    return gold_labels(examples, lambda label: LABELS[label], lambda ex: "question has no answer")


def score(predictions: Sequence[str], examples: Sequence[C3Example]) -> dict[str, float]:
    return {"accuracy": accuracy(predictions, gold(examples))}


def render(predictions: Sequence[str], examples: Sequence[C3Example]) -> str:
    """One `{"id": <question index>, "label": "<choice index>"}` line per question, in file order (docs/clue.md §2.5);
    a warning says when the questions' own ids differ from their indices."""
    return render_jsonl(predictions, examples, "questions", "question index in the file")


def parse(path: Path, examples: Sequence[C3Example]) -> list[str]:
    """Read a c31x_predict.json back into one label per question: the string "0".."3". Ids are matched to the
    question index; a file keyed by the questions' own `id` fields instead (bojone) is matched on those. Lines
    for no question are ignored; a missing or duplicate id, or a bad label on a matched line, is an error."""
    return parse_jsonl(path, examples, LABELS, "questions")


def submission_check(
    path: Path, examples: Sequence[C3Example], predictions: Sequence[str] | None
) -> list[str]:
    """`clue validate`: a label must index one of the question's own choices (some have 2 or 3, not 4)."""
    if predictions is None:
        return []
    bad = [
        f"id {ex.index} has {len(ex.choices)} choices, label {label!r}"
        for ex, label in zip(examples, predictions, strict=True)
        if int(label) >= len(ex.choices)
    ]
    return [f"{len(bad)} labels beyond their question's choices: {listed(bad)}"] if bad else []


def subset(
    split: str, srcs: Sequence[Path], dsts: Sequence[Path], n: int, rng: random.Random, stratify: bool
) -> int:
    """`clue subset`: n whole documents (items); each file of the split keeps its share, at least one."""
    docs = []
    for src in srcs:
        doc = read_json(src)
        if not isinstance(doc, list) or not doc:
            raise DataError(src, "expected a non-empty JSON list of [context, questions, id] items")
        docs.append(doc)
    total = sum(len(d) for d in docs)
    shares = [max(1, round(n * len(d) / total)) for d in docs]
    kept = 0
    for doc, dst, share in zip(docs, dsts, shares, strict=True):
        items = [doc[i] for i in choose(share, len(doc), rng)]
        dst.write_text(json.dumps(items, ensure_ascii=False) + "\n", encoding="utf-8")
        kept += len(items)
    return kept


def count(path: Path) -> int | None:
    """Questions in one file (`clue data`)."""
    doc = read_json(path)
    if not isinstance(doc, list):
        return None
    return sum(len(item[1]) for item in doc if isinstance(item, list) and len(item) > 1)


# Published leaderboard figures (percent; clue report --compare): source -> model short name -> figure.
PUBLISHED = {
    "bojone": {"bert-base-chinese": 61.33, "roberta-wwm-ext": 67.11},
    "paddlenlp": {
        "bert-base-chinese": 65.38,
        "roberta-wwm-ext": 68.03,
        "roberta-wwm-ext-large": 75.26,
        "ernie-3.0-base-zh": 77.88,
        "rbt3": 54.93,
    },
    "clue": {"bert-base-chinese": 65.70, "roberta-wwm-ext": 67.06},
}


TASK = Task(
    name="c3",
    version=1,
    head="choice",
    labels=LABELS,
    num_outputs=NUM_CHOICES,
    main_metric="accuracy",
    metrics=("accuracy",),
    splits=FILES,
    submissions={"test": "c311_predict.json", "test1.0": "c310_predict.json"},
    former_names={"c3_predict.json": "c311_predict.json"},
    read=read,
    encode=encode,
    decode=decode,
    score=score,
    render=render,
    parse=parse,
    gold=gold,
    description="multiple-choice reading comprehension (dialogues and mixed-genre texts, up to 4 choices)",
    submission_check=submission_check,
    subset=subset,
    count=count,
    record_lines=lambda name: False,
    published=PUBLISHED,
)
