"""Gold round trips: encode labelled examples, turn the feature labels into the outputs a perfect model would
give, decode them, and score. A perfect score means the encoding keeps every answer; anything less is what
truncation, windowing or tokenisation loses (reported by tests and `clue check-data`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from clue_runner.heads import head_module
from clue_runner.tasks.base import Features, HeadKind

if TYPE_CHECKING:
    from clue_runner.config import RunConfig
    from clue_runner.tasks.base import Example, Prediction, Task


def oracle_outputs(head: HeadKind, features: Features, num_outputs: int) -> list[Any]:
    """The per-feature outputs (see tasks/base.py) that put all the score on each feature's label."""
    outputs: list[Any] = head_module(head).oracle(features, num_outputs)
    return outputs


def roundtrip(
    task: Task, examples: Sequence[Example], tokenizer: Any, cfg: RunConfig
) -> tuple[list[Prediction], dict[str, float]]:
    """Encode -> oracle outputs -> decode -> score; returns the decoded predictions and their metrics."""
    features = task.encode(examples, tokenizer, cfg)
    predictions = task.decode(oracle_outputs(task.head, features, task.num_outputs), features, examples, cfg)
    return predictions, task.score(predictions, examples)
