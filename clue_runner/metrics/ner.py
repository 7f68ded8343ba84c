"""Entity metrics for CLUENER2020, in percent.

Two views of the same predictions (tasks/cluener.md, Metrics; docs/clue.md §5 item 7):

- `entity_scores`: entity-level micro precision / recall / F1 over (type, start, end) tuples, what the CLUENER
  PyTorch baselines and bojone report on dev. A repeated string counts once per span.
- `leaderboard_scores`: the official leaderboard scorer (CLUEbenchmark/CLUENER2020 `score.py`). Per type and per
  line it compares the SETS of entity strings (positions ignored, a string repeated at several spans counts once),
  sums TP / FP / FN over lines, computes F1 per type as `2pr / (p + r)` and averages the 10 per-type F1s (macro).

Where `score.py` divides by zero (a type with no predicted strings, no gold strings, or no true positive) it
raises ZeroDivisionError and prints no score. Here that type's F1 is `zero_division` (default 0.0, the limit of F1
as p or r goes to 0, and what the leaderboard average would have to count to stay an average over 10 types);
`zero_division=None` raises like the original. Wherever `score.py` returns a number, these functions return the
same number (times 100).

Labels in both views are CLUENER label objects: `{type: {entity string: [[start, end], ...]}}` with 0-based
inclusive character offsets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clue_runner.errors import DataError

# The order score.py iterates in; the macro average always divides by these 10, present or not.
ENTITY_TYPES: tuple[str, ...] = (
    "address",
    "book",
    "company",
    "game",
    "government",
    "movie",
    "name",
    "organization",
    "position",
    "scene",
)

Label = Mapping[str, Mapping[str, Any]]
Span = tuple[str, int, int]


def entity_spans(label: Label) -> set[Span]:
    """The (type, start, end) tuples of one label object (inclusive offsets)."""
    return {
        (kind, int(s), int(e))
        for kind, entities in label.items()
        for spans in entities.values()
        for s, e in spans
    }


def _prf(tp: int, n_pred: int, n_gold: int) -> tuple[float, float, float]:
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * tp / (n_pred + n_gold) if n_pred + n_gold else 0.0
    return 100.0 * precision, 100.0 * recall, 100.0 * f1


def entity_scores(predictions: Sequence[Label], golds: Sequence[Label]) -> dict[str, float]:
    """Micro precision / recall / F1 (percent) over (type, start, end) tuples, summed over examples.

    Undefined ratios (nothing predicted, nothing gold) are 0.0.
    """
    if len(predictions) != len(golds):
        raise ValueError(f"entity_scores: {len(predictions)} predictions for {len(golds)} gold labels")
    tp = n_pred = n_gold = 0
    for pred, gold in zip(predictions, golds, strict=True):
        p, g = entity_spans(pred), entity_spans(gold)
        tp += len(p & g)
        n_pred += len(p)
        n_gold += len(g)
    precision, recall, f1 = _prf(tp, n_pred, n_gold)
    return {"f1": f1, "precision": precision, "recall": recall}


@dataclass(frozen=True)
class TypeCounts:
    """String-set counts of one entity type, summed over lines, as score.py keeps them."""

    tp: int
    fp: int
    fn: int


def _official_f1(counts: TypeCounts, zero_division: float | None) -> float:
    """score.py's arithmetic, step for step, so the floats agree to the last bit."""
    tp, fp, fn = counts.tp, counts.fp, counts.fn
    try:
        p = tp / (tp + fp)
        r = tp / (tp + fn)
        return 2 * p * r / (p + r)
    except ZeroDivisionError:
        if zero_division is None:
            raise
        return zero_division


def leaderboard_counts(
    predictions: Iterable[Label], golds: Iterable[Label], types: Sequence[str] = ENTITY_TYPES
) -> dict[str, TypeCounts]:
    """Per-type TP / FP / FN over entity-string sets, line by line.

    Like score.py, lines are paired in order with `zip`: when one side is longer, its extra lines are ignored.
    """
    pairs = list(zip(predictions, golds, strict=False))
    out: dict[str, TypeCounts] = {}
    for kind in types:
        tp = fp = fn = 0
        for pred, gold in pairs:
            p = set(pred.get(kind, {}))
            g = set(gold.get(kind, {}))
            tp += len(p & g)
            fp += len(p - g)
            fn += len(g - p)
        out[kind] = TypeCounts(tp, fp, fn)
    return out


def leaderboard_scores(
    predictions: Iterable[Label],
    golds: Iterable[Label],
    types: Sequence[str] = ENTITY_TYPES,
    zero_division: float | None = 0.0,
) -> tuple[dict[str, float], float]:
    """The official leaderboard score: (per-type F1, macro F1 over `types`), all in percent.

    Args:
        predictions: predicted label objects, one per line.
        golds: gold label objects, one per line (paired with `predictions` in order, as score.py does).
        types: the types averaged over (always all 10 on the leaderboard).
        zero_division: F1 of a type where score.py divides by zero; None raises ZeroDivisionError as it does.
    """
    counts = leaderboard_counts(predictions, golds, types)
    per_type = {kind: _official_f1(c, zero_division) for kind, c in counts.items()}
    total = 0.0
    for kind in types:  # summed in score.py's order, so the float sum is the same
        total += per_type[kind]
    return {k: 100.0 * v for k, v in per_type.items()}, 100.0 * total / len(types)


def macro_f1(predictions: Sequence[Label], golds: Sequence[Label]) -> float:
    """Leaderboard macro F1 (percent) of aligned predictions; a type score.py cannot score counts 0."""
    if len(predictions) != len(golds):
        raise ValueError(f"macro_f1: {len(predictions)} predictions for {len(golds)} gold labels")
    return leaderboard_scores(predictions, golds)[1]


def _labels_of(path: Path) -> list[Label]:
    from clue_runner.data import iter_jsonl

    out: list[Label] = []
    for line, record in iter_jsonl(path):
        label = record.get("label")
        if not isinstance(label, dict) or not all(isinstance(v, dict) for v in label.values()):
            raise DataError(path, "'label' must be an object {type: {entity: [[start, end], ...]}}", line)
        out.append(label)
    return out


def score_files(
    pred_path: str | Path, gold_path: str | Path, zero_division: float | None = 0.0
) -> tuple[dict[str, float], float]:
    """Score a prediction file against a labelled file exactly as score.py does (percent).

    Both are CLUENER JSON-lines files with a `label` object per line; lines are paired by order (ids are not
    read) and extra lines on either side are ignored, which is why `clue_runner` checks ids before scoring.
    """
    return leaderboard_scores(
        _labels_of(Path(pred_path)), _labels_of(Path(gold_path)), zero_division=zero_division
    )


@dataclass(frozen=True)
class TypeRow:
    """One row of the per-type report: span-level P/R/F1 and the leaderboard (string-set) F1, in percent."""

    type: str
    support: int
    predicted: int
    precision: float
    recall: float
    f1: float
    leaderboard_f1: float


def per_type_report(
    predictions: Sequence[Label], golds: Sequence[Label], types: Sequence[str] = ENTITY_TYPES
) -> list[TypeRow]:
    """Per-type span-level precision / recall / F1 with support, plus each type's leaderboard F1.

    Counted directly on (type, start, end) sets rather than through a BIO view (seqeval): CLUENER allows nested
    and crossing entities and the GlobalPointer predicts them, which a BIO sequence cannot hold.
    """
    if len(predictions) != len(golds):
        raise ValueError(f"per_type_report: {len(predictions)} predictions for {len(golds)} gold labels")
    board, _ = leaderboard_scores(predictions, golds, types)
    rows = []
    for kind in types:
        tp = n_pred = n_gold = 0
        for pred, gold in zip(predictions, golds, strict=True):
            p = {s for s in entity_spans(pred) if s[0] == kind}
            g = {s for s in entity_spans(gold) if s[0] == kind}
            tp += len(p & g)
            n_pred += len(p)
            n_gold += len(g)
        precision, recall, f1 = _prf(tp, n_pred, n_gold)
        rows.append(TypeRow(kind, n_gold, n_pred, precision, recall, f1, board[kind]))
    return rows


def format_report(rows: Sequence[TypeRow]) -> str:
    """A fixed-width text table of `per_type_report` rows and their macro average (micro: `entity_scores`)."""
    head = f"{'type':<14}{'support':>8}{'pred':>7}{'P':>8}{'R':>8}{'F1':>8}{'board F1':>10}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.type:<14}{r.support:>8}{r.predicted:>7}"
            f"{r.precision:>8.2f}{r.recall:>8.2f}{r.f1:>8.2f}{r.leaderboard_f1:>10.2f}"
        )
    n = len(rows) or 1
    lines.append("-" * len(head))
    lines.append(
        f"{'macro':<29}{sum(r.precision for r in rows) / n:>8.2f}{sum(r.recall for r in rows) / n:>8.2f}"
        f"{sum(r.f1 for r in rows) / n:>8.2f}{sum(r.leaderboard_f1 for r in rows) / n:>10.2f}"
    )
    return "\n".join(lines)
