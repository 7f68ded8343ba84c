"""Head `choice`: AutoModelForMultipleChoice, one encoder pass per choice and a softmax over the choices
(C3 with 4 choices, CHID with 10 candidates); `decode` gets one float32 logits array (num_choices,) per feature."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from clue_runner.heads import _batch
from clue_runner.heads.classify import class_labels, loss, oracle, reduce

if TYPE_CHECKING:
    import torch

    from clue_runner.modeling import ClueModel
    from clue_runner.tasks.base import Features, Task

__all__ = ["build", "collate", "loss", "oracle", "reduce"]  # the loss, reduce and oracle are classify's


def build(task: Task, resolved: str, kwargs: dict[str, Any], trained: bool) -> ClueModel:
    from transformers import AutoModelForMultipleChoice

    from clue_runner.modeling import ClueModel

    return ClueModel(task.head, AutoModelForMultipleChoice.from_pretrained(resolved, **kwargs))


def collate(
    features: Features, indices: Sequence[int], pad_id: int, pad_multiple: int
) -> dict[str, torch.Tensor]:
    """Every choice of every row padded to the longest choice in the batch (rounded up to `pad_multiple`)."""
    rows, labels, batch = _batch.start(features, indices)
    length = _batch.padded_length(max(len(c) for r in rows for c in r["input_ids"]), pad_multiple)
    choices = len(rows[0]["input_ids"])  # every row has the same number (encode pads the choices)
    for key, value in _batch.INPUTS:
        fill = pad_id if value is None else value
        flat = [c for r in rows for c in r[key]]
        batch[key] = _batch.pad(flat, length, fill).view(len(rows), choices, length)
    if any(label is not None for label in labels):
        batch["labels"] = class_labels(labels)
    return batch
