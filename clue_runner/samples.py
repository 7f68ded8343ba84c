"""Per-example predictions (`--log-samples`): `<out>/predictions/<split>.jsonl`, and `clue report RUN --errors`.

One JSON line per example, in split order: `index` (0-based, the leaderboard id of most tasks), `id` (the
record's own id where the file has one), the example's input fields, `gold` (labelled splits), `prediction`,
`correct`, and what the head scores: class or choice probabilities (classify, choice), the best window's span
score (CMRC2018). Lines are split on "\\n" only, like every JSON-lines file here.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clue_runner.errors import ClueError

if TYPE_CHECKING:
    from clue_runner.tasks.base import Example, Features, Prediction, Task

PREDICTIONS_DIR = "predictions"
# Example fields that hold the answer: they go to `gold`, never to the inputs.
GOLD_FIELDS = ("label", "answers", "answer_start", "entities")
ID_FIELDS = ("record_id", "question_id", "qid", "id")


def _plain(value: Any) -> Any:
    """JSON-ready: tuples to lists, numpy numbers to floats, dataclasses to dicts, paths to text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return round(float(value), 6) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)


def _inputs(example: Example) -> dict[str, Any]:
    if not dataclasses.is_dataclass(example):
        return {}
    skip = {*GOLD_FIELDS, "index", "source", *ID_FIELDS}
    return {
        f.name: _plain(getattr(example, f.name)) for f in dataclasses.fields(example) if f.name not in skip
    }


def _softmax(logits: Any) -> list[float]:
    values = np.asarray(logits, dtype=np.float64)
    values = np.exp(values - values.max())
    return [round(float(v), 6) for v in values / values.sum()]


def head_scores(
    task: Task, outputs: Sequence[Any], features: Features, n_examples: int
) -> list[dict[str, Any]]:
    """What the head says about each example, beyond the decoded prediction."""
    out: list[dict[str, Any]] = [{} for _ in range(n_examples)]
    for output, example in zip(outputs, features.example_index, strict=True):
        if task.head == "classify":
            out[example]["probabilities"] = dict(zip(task.labels, _softmax(output), strict=True))
        elif task.head == "choice":
            out[example]["probabilities"] = _softmax(output)
        elif task.head == "span":
            score = float(output[2])
            best = out[example].get("span_score")
            if math.isfinite(score) and (best is None or score > best):
                out[example]["span_score"] = round(score, 4)
    return out


def sample_lines(
    task: Task,
    examples: Sequence[Example],
    predictions: Sequence[Prediction],
    scores: Sequence[dict[str, Any]],
    labelled: bool,
) -> list[dict[str, Any]]:
    """The records of one predictions/<split>.jsonl."""
    golds = task.gold(examples) if labelled else [None] * len(examples)
    lines = []
    for i, (example, prediction, gold, extra) in enumerate(
        zip(examples, predictions, golds, scores, strict=True)
    ):
        record: dict[str, Any] = {"index": getattr(example, "index", i)}
        for name in ID_FIELDS:
            if getattr(example, name, None) is not None:
                record["id"] = _plain(getattr(example, name))
                break
        record["input"] = _inputs(example)
        if labelled:
            record["gold"] = _plain(gold)
        record["prediction"] = _plain(prediction)
        if labelled:
            record["correct"] = _plain(prediction) == _plain(gold)
        record.update(extra)
        lines.append(record)
    return lines


def write_samples(out_dir: Path, split: str, lines: Sequence[dict[str, Any]]) -> Path:
    from clue_runner.results import atomic_write_text

    path = Path(out_dir) / PREDICTIONS_DIR / f"{split}.jsonl"
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
    atomic_write_text(path, text)
    return path


# ------------------------------------------------------------------------------------------ clue report --errors


def read_samples(path: Path) -> list[dict[str, Any]]:
    """A predictions file; lines split on "\\n" only (U+2028 in a text is data)."""
    from clue_runner.data import iter_jsonl

    return [record for _, record in iter_jsonl(path)]


def error_report(task: Task, lines: Sequence[dict[str, Any]], worst: int = 10) -> dict[str, Any]:
    """Confusion matrix (classify / choice), per-type errors (CLUENER) and the worst examples."""
    labelled = [line for line in lines if "gold" in line]
    if not labelled:
        raise ClueError("the predictions file has no gold labels (a test split?): nothing to compare")
    out: dict[str, Any] = {
        "examples": len(labelled),
        "wrong": sum(not line.get("correct") for line in labelled),
    }
    if task.head in ("classify", "choice"):
        pairs = Counter((str(line["gold"]), str(line["prediction"])) for line in labelled)
        names = sorted({g for g, _ in pairs} | {p for _, p in pairs}, key=_label_order(task))
        out["confusion"] = {
            "labels": names,
            "rows": [[pairs.get((g, p), 0) for p in names] for g in names],  # rows: gold, columns: predicted
        }
    if task.head == "entities":
        out["types"] = _entity_errors(labelled)
    out["worst"] = _worst(labelled, worst)
    return out


def _label_order(task: Task) -> Any:
    order = {label: i for i, label in enumerate(task.labels)}
    return lambda name: (order.get(name, len(order)), name)


def _entity_errors(lines: Sequence[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per entity type: gold strings, predicted strings, missed, spurious (the official string-set view)."""
    counts: dict[str, Counter[str]] = {}
    for line in lines:
        gold, pred = line.get("gold") or {}, line.get("prediction") or {}
        for kind in sorted(set(gold) | set(pred)):
            g, p = set(gold.get(kind) or {}), set(pred.get(kind) or {})
            c = counts.setdefault(kind, Counter())
            c.update(gold=len(g), predicted=len(p), missed=len(g - p), spurious=len(p - g))
    return {kind: dict(c) for kind, c in sorted(counts.items())}


def _worst(lines: Sequence[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """Wrong examples, most confident first (by the probability given to the wrong answer where there is one)."""
    wrong = [line for line in lines if not line.get("correct")]

    def confidence(line: dict[str, Any]) -> float:
        probs = line.get("probabilities")
        if isinstance(probs, dict):
            return float(probs.get(str(line["prediction"]), 0.0))
        if (
            isinstance(probs, list)
            and isinstance(line["prediction"], int)
            and line["prediction"] < len(probs)
        ):
            return float(probs[line["prediction"]])
        return float(line.get("span_score") or 0.0)

    return sorted(wrong, key=confidence, reverse=True)[:n]
