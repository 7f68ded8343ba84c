"""Metric functions shared by tasks. All return percentages (0-100), as the CLUE leaderboard shows them, except
`mse`, which is in the target's own units."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def shown(name: str, value: float, decimals: int = 2) -> str:
    """A metric as printed: the percentages with `decimals` decimals; `mse`, in the target's own units, with 4
    significant digits (an mse of 0.0042 on targets in [0, 1] is not "0.00")."""
    return f"{value:.4g}" if name == "mse" else f"{value:.{decimals}f}"


def accuracy(predictions: Sequence[Any], golds: Sequence[Any]) -> float:
    """Percentage of positions where prediction == gold; 0.0 for an empty split."""
    if len(predictions) != len(golds):
        raise ValueError(f"accuracy: {len(predictions)} predictions for {len(golds)} gold labels")
    if not golds:
        return 0.0
    return 100.0 * sum(p == g for p, g in zip(predictions, golds, strict=True)) / len(golds)


def macro_f1(predictions: Sequence[Any], golds: Sequence[Any], labels: Sequence[Any]) -> float:
    """Mean over `labels` of each label's F1 (percent); a label never predicted nor gold counts as 0."""
    if len(predictions) != len(golds):
        raise ValueError(f"macro_f1: {len(predictions)} predictions for {len(golds)} gold labels")
    if not labels:
        return 0.0
    scores = []
    for label in labels:
        tp = sum(p == label and g == label for p, g in zip(predictions, golds, strict=True))
        predicted = sum(p == label for p in predictions)
        gold = sum(g == label for g in golds)
        scores.append(2 * tp / (predicted + gold) if predicted + gold else 0.0)
    return 100.0 * sum(scores) / len(scores)


def _correlation(kind: str, predictions: Sequence[float], golds: Sequence[float]) -> float:
    import numpy as np
    from scipy import stats

    if len(predictions) != len(golds):
        raise ValueError(f"{kind}: {len(predictions)} predictions for {len(golds)} gold values")
    x, y = np.asarray(predictions, dtype=np.float64), np.asarray(golds, dtype=np.float64)
    # Undefined for fewer than two points or a constant side (an untrained model's flat output): no measurable
    # correlation, reported as 0 rather than NaN, which would never rank as a best checkpoint.
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    value = stats.pearsonr(x, y)[0] if kind == "pearson" else stats.spearmanr(x, y)[0]
    return 100.0 * float(value)


def pearson(predictions: Sequence[float], golds: Sequence[float]) -> float:
    """Pearson's r x 100 (scipy.stats.pearsonr); 0 when either side is constant."""
    return _correlation("pearson", predictions, golds)


def spearman(predictions: Sequence[float], golds: Sequence[float]) -> float:
    """Spearman's rank correlation x 100 (scipy.stats.spearmanr); 0 when either side is constant."""
    return _correlation("spearman", predictions, golds)


def mse(predictions: Sequence[float], golds: Sequence[float]) -> float:
    """Mean squared error in the target's own units (not a percentage; lower is better); 0.0 for an empty split."""
    if len(predictions) != len(golds):
        raise ValueError(f"mse: {len(predictions)} predictions for {len(golds)} gold values")
    if not golds:
        return 0.0
    return sum((float(p) - float(g)) ** 2 for p, g in zip(predictions, golds, strict=True)) / len(golds)
