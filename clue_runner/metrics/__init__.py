"""Metric functions shared by tasks. All return percentages (0-100), as the CLUE leaderboard shows them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def accuracy(predictions: Sequence[Any], golds: Sequence[Any]) -> float:
    """Percentage of positions where prediction == gold; 0.0 for an empty split."""
    if len(predictions) != len(golds):
        raise ValueError(f"accuracy: {len(predictions)} predictions for {len(golds)} gold labels")
    if not golds:
        return 0.0
    return 100.0 * sum(p == g for p, g in zip(predictions, golds, strict=True)) / len(golds)
