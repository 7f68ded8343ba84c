"""CHID: Chinese idiom cloze, 10 candidate idioms per record (task card: tasks/chid.md).

Files train.json + train_answer.json (train), dev.json + dev_answer.json (dev), test1.1.json (split `test`),
test1.0.json (`test1.0`). A record (one JSON line) holds exactly 10 `candidates` shared by every blank
`#idiomNNNNNN#` of its `content` passages (at most 10 blanks); `*_answer.json` maps each blank to its candidate
index. One example per blank, 10 rows per feature: `[CLS] candidate [SEP] left [unused1] right [SEP]`, the
other blanks as 4 x [MASK], the context cut at token level to `data.max_len`, centred on the blank (PaddleNLP's
rule), segment ids all 0. Decode assigns the candidates of a record jointly (`task.assignment`: hungarian =
bojone's linear_sum_assignment, the default; greedy = PaddleNLP; independent = per-blank argmax). Metric:
accuracy over blanks. Leaderboard files chid11_predict.json (test1.1) and chid10_predict.json (test1.0): one
JSON object {blank: candidate index}.
"""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clue_runner.data import count_lines, field, iter_jsonl, read_json
from clue_runner.errors import ClueError, DataError, listed, tolerate_missing
from clue_runner.metrics import accuracy
from clue_runner.subset import choose, dump_json, join_lines, read_lines
from clue_runner.tasks import _choice as K
from clue_runner.tasks.base import Features, Note, Task, gold_labels

log = logging.getLogger("clue_runner")

FILES = {
    "train": ("train.json", "train_answer.json"),
    "dev": ("dev.json", "dev_answer.json"),
    "test": ("test1.1.json",),
    "test1.0": ("test1.0.json",),
}
NUM_CANDIDATES = 10
BLANK = re.compile(r"#idiom\d+#")
OTHER_BLANK = 4  # [MASK]s standing for a blank other than the current one (an idiom is 4 characters)


@dataclass(frozen=True)
class Blank:
    """One blank. `passage` is the content string holding it and `position` which of its blanks it is;
    `candidates` are the record's 10 idioms; `label` is the answer index (None in test files); `source` is the
    record's `file:line`: blanks with the same source get distinct candidates at decode time."""

    key: str
    candidates: tuple[str, ...]
    passage: str
    position: int
    label: int | None
    source: str


def _answers(path: Path) -> dict[str, Any]:
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise DataError(path, "expected one JSON object {blank: candidate index}")
    return doc


def load(path: Path, answer_path: Path | None = None) -> list[Blank]:
    """Read one CHID file (and its answers); every problem raises DataError at the record's file:line."""
    if not path.is_file():
        raise DataError(path, "file not found")
    answers = _answers(answer_path) if answer_path is not None else None
    blanks: list[Blank] = []
    seen: dict[str, int] = {}
    for line, record in iter_jsonl(path):
        candidates = field(record, "candidates", list, path, line)
        if len(candidates) != NUM_CANDIDATES or not all(isinstance(c, str) and c for c in candidates):
            raise DataError(
                path, f"expected exactly {NUM_CANDIDATES} candidate idioms, got {candidates!r}", line
            )
        content = field(record, "content", list, path, line)
        if not content or not all(isinstance(p, str) for p in content):
            raise DataError(path, "'content' must be a non-empty list of passage strings", line)
        keys = [(p, n, key) for p in content for n, key in enumerate(BLANK.findall(p))]
        if not keys:
            raise DataError(path, "record has no blank (#idiomNNNNNN#)", line)
        if len(keys) > NUM_CANDIDATES:
            raise DataError(
                path,
                f"{len(keys)} blanks but {NUM_CANDIDATES} candidates (each fills at most one blank)",
                line,
            )
        for passage, position, key in keys:
            if key in seen:
                raise DataError(path, f"blank {key} also on line {seen[key]}", line)
            seen[key] = line
            label = None
            if answers is not None and answer_path is not None:
                if key not in answers:
                    raise DataError(path, f"blank {key} has no entry in {answer_path.name}", line)
                value = answers[key]
                if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < NUM_CANDIDATES:
                    raise DataError(
                        path, f"{answer_path.name} gives {key} {value!r}, not a candidate index 0..9", line
                    )
                label = value
            blanks.append(Blank(key, tuple(candidates), passage, position, label, f"{path}:{line}"))
    return blanks


def read(data_dir: Path, split: str) -> list[Blank]:
    paths = [Path(data_dir) / name for name in FILES[split]]
    return load(paths[0], paths[1] if len(paths) > 1 else None)


def _centre(n_left: int, n_right: int, budget: int) -> tuple[int, int]:
    """Tokens kept left and right of the blank: half the budget each, a short side's rest going to the other."""
    left = min(n_left, budget // 2)
    right = min(n_right, budget - left)
    return min(n_left, budget - right), right


def _joined(segments: Sequence[list[int]], mask: int) -> list[int]:
    out: list[int] = []
    for n, segment in enumerate(segments):
        if n:
            out += [mask] * OTHER_BLANK
        out += segment
    return out


def encode(examples: Sequence[Blank], tokenizer: Any, cfg: Any) -> Features:
    """Ten rows per blank, one per candidate, all sharing the same context window."""
    marker_token = str(cfg.task.get("blank_token", "[unused1]"))
    marker = tokenizer.convert_tokens_to_ids(marker_token)
    if marker is None or marker == tokenizer.unk_token_id:
        raise ClueError(
            f"chid: the tokenizer has no {marker_token!r} token; choose another with task.blank_token"
        )
    cls, sep, mask = tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.mask_token_id
    # Tokenise each passage's text pieces between blanks and each distinct idiom once, in batched calls.
    passages = list(dict.fromkeys(ex.passage for ex in examples))
    pieces = [BLANK.split(p) for p in passages]
    flat = K.tokenize(tokenizer, [s for ps in pieces for s in ps])
    segments: dict[str, list[list[int]]] = {}
    start = 0
    for passage, ps in zip(passages, pieces, strict=True):
        segments[passage] = flat[start : start + len(ps)]
        start += len(ps)
    idioms = list(dict.fromkeys(c for ex in examples for c in ex.candidates))
    idiom_ids = dict(zip(idioms, K.tokenize(tokenizer, idioms), strict=True))
    rows = []
    for ex in examples:
        cands = [idiom_ids[c] for c in ex.candidates]
        # The longest candidate sets the window, so all 10 rows see the same context.
        budget = cfg.data.max_len - 3 - 1 - max(len(c) for c in cands)
        if budget < 0:
            raise ClueError(f"chid: data.max_len {cfg.data.max_len} is shorter than {ex.source}'s candidates")
        segs = segments[ex.passage]
        left, right = _joined(segs[: ex.position + 1], mask), _joined(segs[ex.position + 1 :], mask)
        n_left, n_right = _centre(len(left), len(right), budget)
        context = [*left[len(left) - n_left :], marker, *right[:n_right], sep]
        rows.append(K.choice_row([[cls, *c, sep, *context] for c in cands]))
    return Features(rows=rows, labels=[ex.label for ex in examples], example_index=list(range(len(examples))))


def decode(outputs: Sequence[Any], features: Features, examples: Sequence[Blank], cfg: Any) -> list[int]:
    """Candidate index per blank, assigned jointly over the blanks of each record (`task.assignment`)."""
    mode = K.assignment_mode(cfg)
    groups: dict[str, list[int]] = {}
    for f, i in enumerate(features.example_index):
        groups.setdefault(examples[i].source, []).append(f)
    predictions: list[int | None] = [None] * len(examples)
    for group in groups.values():
        chosen = K.assign([outputs[f] for f in group], mode)
        for f, c in zip(group, chosen, strict=True):
            predictions[features.example_index[f]] = c
    if any(p is None for p in predictions):
        raise ValueError("chid.decode: some blanks have no feature")
    return [int(p) for p in predictions if p is not None]


def gold(examples: Sequence[Blank]) -> list[int]:
    return gold_labels(examples, missing=lambda ex: f"blank {ex.key} has no answer")


def score(predictions: Sequence[int], examples: Sequence[Blank]) -> dict[str, float]:
    """Accuracy over blanks (every key of the answer file counts once, as the official evaluator)."""
    return {"accuracy": accuracy([int(p) for p in predictions], gold(examples))}


def render(predictions: Sequence[int], examples: Sequence[Blank]) -> str:
    """One JSON object {blank: candidate index}, blanks in file order, keys taken from the text (tasks/chid.md, Leaderboard files)."""
    doc = {ex.key: int(p) for ex, p in zip(examples, predictions, strict=True)}
    return json.dumps(doc, ensure_ascii=False, indent=4) + "\n"


def parse(path: Path, examples: Sequence[Blank]) -> list[int]:
    """Read a chid1x_predict.json back: every blank needs an int candidate index 0..9; keys for blanks not in
    `examples` are ignored (a warning says how many)."""
    doc = read_json(path, unique_keys=False)
    if not isinstance(doc, dict):
        raise DataError(path, "expected one JSON object {blank: candidate index}")
    missing = [ex.key for ex in examples if ex.key not in doc]
    tolerate_missing(path, missing, len(examples), "blanks", ids="")
    for ex in examples:
        value = doc.get(ex.key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < NUM_CANDIDATES:
            raise DataError(path, f"value must be a candidate index 0..9, got {value!r}", ex.key)
    extra = len(set(doc) - {ex.key for ex in examples})
    if extra:
        log.warning("%s: %d predictions for blanks not in the split were ignored", path, extra)
    return [int(doc.get(ex.key, -1)) for ex in examples]  # -1: unanswered, counted wrong


def submission_check(path: Path, examples: Sequence[Blank], predictions: Sequence[int] | None) -> list[str]:
    """`clue validate`: every blank's value an int index into its record's candidates. A record's blanks share
    one candidate list and each candidate fills at most one blank, so two blanks of one record given the same
    idiom means one of them is wrong; the leaderboard still scores such a file (and `task.assignment:
    independent` writes them), so that is a note, not a problem."""
    try:
        doc = read_json(path, unique_keys=False)
    except DataError:
        return []  # the shape check has said so
    if not isinstance(doc, dict):
        return []
    out_of_range: list[str] = []
    shared: list[str] = []
    seen: dict[tuple[str, int], str] = {}
    for ex in examples:
        value = doc.get(ex.key)
        if value is None:
            continue  # missing blanks are the parser's to report
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < len(ex.candidates):
            out_of_range.append(f"{ex.key}={value!r}")
            continue
        line = ex.source.rsplit(":", 1)[-1]
        if (ex.source, value) in seen:
            shared.append(f"{seen[(ex.source, value)]} and {ex.key} (line {line}) both = {value}")
        seen[(ex.source, value)] = ex.key
    problems = []
    if out_of_range:
        problems.append(
            f"{len(out_of_range)} blanks with a value that is not a candidate index 0..9: {listed(out_of_range)}"
        )
    if shared:
        problems.append(
            Note(
                f"{len(shared)} pairs of blanks in one record share a candidate, so one of each pair is wrong: "
                f"{listed(shared)}"
            )
        )
    return problems


def _is_answers(name: str) -> bool:
    return name.endswith("_answer.json")


def subset(
    split: str, srcs: Sequence[Path], dsts: Sequence[Path], n: int, rng: random.Random, stratify: bool
) -> int:
    """`clue subset`: n whole records (lines) plus exactly their blanks' entries of the answer file."""
    kept = 0
    blanks: list[str] = []
    for src, dst in zip(srcs, dsts, strict=True):
        if _is_answers(src.name):
            continue
        by_record: dict[str, list[str]] = {}
        for blank in load(src):  # the one CHID parser finds the blanks (and refuses a malformed record)
            by_record.setdefault(blank.source, []).append(blank.key)
        bom, lines = read_lines(src)
        chosen = [lines[i] for i in choose(n, len(lines), rng)]
        blanks.extend(key for line in chosen for key in by_record[f"{src}:{line.number}"])
        dst.write_text(join_lines(bom, chosen), encoding="utf-8")
        kept += len(chosen)
    wanted = set(blanks)
    for src, dst in zip(srcs, dsts, strict=True):
        if not _is_answers(src.name):
            continue
        doc = _answers(src)
        missing = [b for b in blanks if b not in doc]
        if missing:
            more = f" (+{len(missing) - 1} more)" if len(missing) > 1 else ""
            raise DataError(src, f"no answer for blank {missing[0]}{more}")
        dst.write_text(dump_json({k: v for k, v in doc.items() if k in wanted}), encoding="utf-8")
    return kept


def count(path: Path) -> int | None:
    """Records (lines) of a content file, blanks of an answer file (`clue data`)."""
    if _is_answers(path.name):
        doc = read_json(path)
        return len(doc) if isinstance(doc, dict) else None
    return count_lines(path)


# Published leaderboard figures (percent; clue report --compare): source -> model short name -> figure.
PUBLISHED = {
    "bojone": {"bert-base-chinese": 85.13, "roberta-wwm-ext": 86.04},
    "paddlenlp": {
        "bert-base-chinese": 82.01,
        "roberta-wwm-ext": 83.43,
        "roberta-wwm-ext-large": 85.72,
        "ernie-3.0-base-zh": 84.26,
        "rbt3": 70.26,
    },
    "clue": {"bert-base-chinese": 82.20, "roberta-wwm-ext": 83.78},
}


TASK = Task(
    name="chid",
    version=1,
    head="choice",
    labels=tuple(str(i) for i in range(NUM_CANDIDATES)),
    num_outputs=NUM_CANDIDATES,
    main_metric="accuracy",
    metrics=("accuracy",),
    splits=FILES,
    submissions={"test": "chid11_predict.json", "test1.0": "chid10_predict.json"},
    former_names={"chid_predict.json": "chid11_predict.json"},
    read=read,
    encode=encode,
    decode=decode,
    score=score,
    render=render,
    parse=parse,
    gold=gold,
    description="idiom cloze: fill each blank with one of 10 candidate idioms (distinct within a record)",
    submission_format="document",
    submission_check=submission_check,
    subset=subset,
    count=count,
    record_lines=lambda name: not _is_answers(name),
    published=PUBLISHED,
)
