"""CMRC2018: span-extraction reading comprehension, CLUE's 2k-question test subset (task card: tasks/cmrc2018.md).

Files train/dev/test/trial.json, one SQuAD v1 document each (data -> paragraphs -> qas); one example per
question. Input `[CLS] question [SEP] context window [SEP]`, segment ids all 0 (`task.segment_ids: zero`),
windows of `data.max_len` tokens stepping `task.doc_stride` tokens (a step, as bojone's code, not the Hugging
Face overlap). GlobalPointer head: a window's label is the token span of the question's FIRST answer when the
window holds it wholly, else (0, 0) = [CLS]. Prediction: the best-scoring window wins; its span is sliced from
the original context, so answers are exact substrings. Metric: the official CMRC 2018 evaluator (EM, F1 and
their average, main metric `average`). Leaderboard file cmrc2018_predict.json = {question id: answer text}.

An `answer_start` that does not point at its text is trusted by the official loaders; here the occurrence
nearest to it is used instead, and `check` (`clue check-data`) lists each such answer.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clue_runner.checksums import Digest, TaskChecksums
from clue_runner.data import field, read_json
from clue_runner.errors import ClueError, DataError, tolerate_missing
from clue_runner.metrics.cmrc import cmrc_scores
from clue_runner.subset import choose, dump_json
from clue_runner.tasks import _span as S
from clue_runner.tasks._classify import segment_mode
from clue_runner.tasks.base import Features, Task

log = logging.getLogger("clue_runner")

FILES = {"train": ("train.json",), "dev": ("dev.json",), "test": ("test.json",), "trial": ("trial.json",)}
SUBMISSION = "cmrc2018_predict.json"


@dataclass(frozen=True)
class QAExample:
    """One question. `answers` holds every gold text in file order (empty for test questions);
    `answer_start` is the character start of answers[0] in `context` (recovered when the file's value is off),
    None when unlabelled or when the answer does not occur (dev/trial only); `source` is `file:question id`."""

    qid: str
    question: str
    context: str
    answers: tuple[str, ...]
    answer_start: int | None
    source: str


def _test_answers(qa: dict[str, Any]) -> tuple[str, ...]:
    # Test files carry no answers, an empty list or a placeholder such as {"text": "", "answer_start": -1}.
    raw = qa.get("answers")
    if not isinstance(raw, list):
        return ()
    return tuple(
        a["text"] for a in raw if isinstance(a, dict) and isinstance(a.get("text"), str) and a["text"].strip()
    )


def _gold_answers(
    qa: dict[str, Any], context: str, path: Path, qid: str, problems: list[DataError]
) -> tuple[tuple[str, ...], int | None]:
    """Every answer text and the (recovered) start of the first (None when it does not occur in the context)."""
    raw = field(qa, "answers", list, path, qid)
    if not raw:
        raise DataError(path, "question has no answers", qid)
    texts: list[str] = []
    first: int | None = None
    for n, answer in enumerate(raw):
        if not isinstance(answer, dict):
            raise DataError(path, f"answer {n} must be an object with 'text' and 'answer_start'", qid)
        text = field(answer, "text", str, path, qid)
        start = field(answer, "answer_start", int, path, qid)
        if not text.strip():
            raise DataError(path, f"answer {n} has an empty text", qid)
        found = S.locate(context, text, start)
        if found is None:
            problems.append(DataError(path, f"answer {n} {text!r} does not occur in the context", qid))
        elif found != start:
            problems.append(
                DataError(
                    path,
                    f"answer {n} {text!r}: answer_start {start} does not point at it; using {found}",
                    qid,
                )
            )
        texts.append(text)
        if n == 0:
            first = found
    return tuple(texts), first


def load(path: Path, split: str) -> tuple[list[QAExample], list[DataError]]:
    """Read one CMRC2018 file: (examples, tolerated problems). Structural errors raise DataError located by
    `data[i].paragraphs[j]` or by question id."""
    if not path.is_file():
        raise DataError(path, "file not found")
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataError(path, "expected a SQuAD-style object {'version': ..., 'data': [...]}")
    labelled = split != "test"
    examples: list[QAExample] = []
    problems: list[DataError] = []
    seen: set[str] = set()
    for i, article in enumerate(doc["data"]):
        if not isinstance(article, dict):
            raise DataError(path, "article must be an object with 'paragraphs'", f"data[{i}]")
        for j, para in enumerate(field(article, "paragraphs", list, path, f"data[{i}]")):
            where = f"data[{i}].paragraphs[{j}]"
            if not isinstance(para, dict):
                raise DataError(path, "paragraph must be an object with 'context' and 'qas'", where)
            if isinstance(para.get("id"), str):
                where += f" (paragraph {para['id']})"
            context = field(para, "context", str, path, where)
            for k, qa in enumerate(field(para, "qas", list, path, where)):
                if not isinstance(qa, dict):
                    raise DataError(path, "question must be an object", f"{where}.qas[{k}]")
                qid = field(qa, "id", str, path, f"{where}.qas[{k}]").strip()
                if not qid or qid in seen:
                    raise DataError(
                        path, "empty question id" if not qid else "duplicate question id", qid or where
                    )
                seen.add(qid)
                question = field(qa, "question", str, path, qid).strip()
                answers, start = (
                    _gold_answers(qa, context, path, qid, problems) if labelled else (_test_answers(qa), None)
                )
                if split == "train" and start is None:
                    continue  # nothing to learn from an answer that is not in its passage; check() lists it
                examples.append(QAExample(qid, question, context, answers, start, f"{path}:{qid}"))
    if not examples:
        raise DataError(path, "no questions")
    return examples, problems


def read(data_dir: Path, split: str) -> list[QAExample]:
    """The questions of `split` (train/dev/trial labelled, test not), in file order; see `load`."""
    (name,) = FILES[split]
    path = Path(data_dir) / name
    examples, problems = load(path, split)
    if problems:
        log.warning(
            "%s: %d answers have an answer_start that does not point at their text (the nearest occurrence is "
            "used) or do not occur in the context (such train questions are skipped); `clue check-data` lists them",
            path, len(problems),
        )  # fmt: skip
    return examples


def check(data_dir: Path, split: str) -> list[DataError]:
    """Answers that `read` tolerates: a wrong answer_start (recovered), a dev/trial answer absent from its context."""
    (name,) = FILES[split]
    return load(Path(data_dir) / name, split)[1]


def encode(examples: Sequence[QAExample], tokenizer: Any, cfg: Any) -> Features:
    """Sliding windows with GlobalPointer labels from the first answer (see `_span.encode_windows`)."""
    spans = [
        (ex.answer_start, ex.answer_start + len(ex.answers[0])) if ex.answer_start is not None else None
        for ex in examples
    ]
    features = S.encode_windows(
        [ex.question for ex in examples],
        [ex.context for ex in examples],
        spans,
        tokenizer,
        cfg.data.max_len,
        cfg.task,
        segment_mode(cfg) == "pair",
    )
    # Test questions have no label at all (None), unlike a labelled window without the answer, (0, 0).
    features.labels = [
        label if examples[i].answers else None
        for label, i in zip(features.labels, features.example_index, strict=True)
    ]
    return features


def decode(outputs: Sequence[Any], features: Features, examples: Sequence[QAExample], cfg: Any) -> list[str]:
    """One answer per question: the best window's span, sliced from the original context ("" if none)."""
    return S.decode_best(outputs, features, [ex.context for ex in examples], cfg)


def _labelled(examples: Sequence[QAExample]) -> None:
    for ex in examples:
        if not ex.answers:
            raise ClueError(f"{ex.source}: question has no gold answer (this needs a labelled split)")


def score(predictions: Sequence[str | None], examples: Sequence[QAExample]) -> dict[str, float]:
    """Official CMRC 2018 EM, F1 and their average against all gold answers; None = unanswered, 0 for both."""
    _labelled(examples)
    return cmrc_scores(predictions, [ex.answers for ex in examples])


def render(predictions: Sequence[str], examples: Sequence[QAExample]) -> str:
    """{question id: answer text} for every question, in file order (bojone's and PaddleNLP's layout)."""
    answers = {ex.qid: text for ex, text in zip(examples, predictions, strict=True)}
    return json.dumps(answers, ensure_ascii=False, indent=4) + "\n"


def parse(path: Path, examples: Sequence[QAExample]) -> list[str | None]:
    """Read a cmrc2018_predict.json back. Every question needs a string answer (None for one without, while
    scoring like the official evaluator); ids not in `examples` are ignored, as the official evaluator ignores them
    (a warning says how many)."""
    doc = read_json(path, unique_keys=False)
    if not isinstance(doc, dict):
        raise DataError(path, "expected one JSON object {question id: answer text}")
    for qid, text in doc.items():
        if not isinstance(text, str):
            raise DataError(path, f"answer must be a string, got {text!r}", qid)
    missing = [ex.qid for ex in examples if ex.qid not in doc]
    tolerate_missing(path, missing, len(examples), "questions", lacking="answer", ids="")
    extra = len(set(doc) - {ex.qid for ex in examples})
    if extra:
        log.warning("%s: %d answers for question ids not in the split were ignored", path, extra)
    # An unanswered question scores 0 EM and 0 F1 (cmrc2018_evaluate.py counts it in the total). Not "": a gold
    # answer made only of punctuation normalises to "" and would match an empty answer.
    return [doc.get(ex.qid) for ex in examples]


def subset(
    split: str, srcs: Sequence[Path], dsts: Sequence[Path], n: int, rng: random.Random, stratify: bool
) -> int:
    """`clue subset`: n whole questions; the document keeps only them, each in its own paragraph and article
    (SQuAD structure and every other key intact)."""
    (src,), (dst,) = srcs, dsts
    doc = read_json(src)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        raise DataError(src, "expected a SQuAD-style object {'version': ..., 'data': [...]}")
    where: list[tuple[int, int, int]] = []
    for i, article in enumerate(doc["data"]):
        paragraphs = article.get("paragraphs") if isinstance(article, dict) else None
        if not isinstance(paragraphs, list):
            raise DataError(src, "article must be an object with a 'paragraphs' list", f"data[{i}]")
        for j, para in enumerate(paragraphs):
            qas = para.get("qas") if isinstance(para, dict) else None
            if not isinstance(qas, list):
                raise DataError(
                    src, "paragraph must be an object with a 'qas' list", f"data[{i}].paragraphs[{j}]"
                )
            where.extend((i, j, k) for k in range(len(qas)))
    if not where:
        raise DataError(src, "no questions")
    keep = {where[x] for x in choose(n, len(where), rng)}
    data = []
    for i, article in enumerate(doc["data"]):
        paragraphs = []
        for j, para in enumerate(article["paragraphs"]):
            qas = [qa for k, qa in enumerate(para["qas"]) if (i, j, k) in keep]
            if qas:
                paragraphs.append({**para, "qas": qas})
        if paragraphs:
            data.append({**article, "paragraphs": paragraphs})
    dst.write_text(dump_json({**doc, "data": data}), encoding="utf-8")
    return len(keep)


def count(path: Path) -> int | None:
    """Questions in one file (`clue data`)."""
    doc = read_json(path)
    if not isinstance(doc, dict) or not isinstance(doc.get("data"), list):
        return None
    return sum(len(p.get("qas", ())) for a in doc["data"] for p in a.get("paragraphs", ()))


def gold(examples: Sequence[QAExample]) -> list[str]:
    """The first gold answer of each question."""
    _labelled(examples)
    return [ex.answers[0] for ex in examples]


# Published leaderboard figures (percent; clue report --compare): source -> model short name -> figure.
PUBLISHED = {
    "bojone": {"bert-base-chinese": 72.10, "roberta-wwm-ext": 75.40},
    "paddlenlp": {
        "bert-base-chinese": 65.30,
        "roberta-wwm-ext": 68.39,
        "roberta-wwm-ext-large": 70.58,
        "ernie-3.0-base-zh": 70.71,
        "rbt3": 55.73,
    },
    "clue": {"bert-base-chinese": 64.77, "roberta-wwm-ext": 67.89},
}
# The official archive's published digests (PaddleNLP clue.py md5s; Hugging Face `clue` sha256 and size).
CHECKSUMS = TaskChecksums(
    "cmrc2018",
    Digest(sha256="6c63dc27e728ec5231aeb7d2861b4c90b6c116390582e0c44416cf3edf030b16", size=3_405_146),
)
# F1 beside the EM figures above, where the source gives it.
PUBLISHED_EXTRA = {
    "paddlenlp": {
        "bert-base-chinese": {"f1": 86.53},
        "roberta-wwm-ext": {"f1": 88.50},
        "roberta-wwm-ext-large": {"f1": 89.82},
        "ernie-3.0-base-zh": {"f1": 90.41},
        "rbt3": {"f1": 78.63},
    },
    "clue": {"bert-base-chinese": {"f1": 85.48}, "roberta-wwm-ext": {"f1": 87.28}},
}


TASK = Task(
    name="cmrc2018",
    version=1,
    head="span",
    labels=(),
    num_outputs=1,
    main_metric="average",
    metrics=("average", "em", "f1"),
    splits=FILES,
    submissions={"test": SUBMISSION},
    read=read,
    encode=encode,
    decode=decode,
    score=score,
    render=render,
    parse=parse,
    gold=gold,
    description="span-extraction reading comprehension (answer = a substring of the passage)",
    check=check,
    leaderboard_metric="em",
    submission_format="document",
    subset=subset,
    count=count,
    record_lines=lambda name: False,
    published=PUBLISHED,
    checksums=CHECKSUMS,
    published_extra=PUBLISHED_EXTRA,
)
