"""Head `regress`: the checkpoint's sequence-classification head with one output, mean squared error against a
real-valued target (optionally through a sigmoid, `Task.sigmoid`, for targets in [0, 1]); `decode` gets one float32
array holding that output per feature."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from clue_runner.heads import _batch
from clue_runner.heads.classify import reduce

if TYPE_CHECKING:
    import torch

    from clue_runner.modeling import ClueModel
    from clue_runner.tasks.base import Features, Task

__all__ = ["build", "collate", "loss", "oracle", "reduce"]  # reduce is classify's: the outputs as numpy rows


def build(task: Task, resolved: str, kwargs: dict[str, Any], trained: bool) -> ClueModel:
    from transformers import AutoModelForSequenceClassification

    from clue_runner.modeling import ClueModel

    backbone = AutoModelForSequenceClassification.from_pretrained(
        resolved, num_labels=1, problem_type="regression", **kwargs
    )
    return ClueModel(task.head, backbone, sigmoid=task.sigmoid)


def collate(
    features: Features, indices: Sequence[int], pad_id: int, pad_multiple: int
) -> dict[str, torch.Tensor]:
    import torch

    rows, labels, batch = _batch.start(features, indices)
    _batch.pad_flat(batch, rows, pad_id, pad_multiple)
    if any(label is not None for label in labels):
        batch["labels"] = torch.tensor(
            [float("nan") if y is None else float(y) for y in labels], dtype=torch.float32
        )
    return batch


def loss(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    from torch import nn

    target = batch["labels"]
    known = ~target.isnan()  # an unlabelled row (never in train or dev) carries no loss
    return nn.functional.mse_loss(logits.float().reshape(-1)[known], target[known])


def oracle(features: Features, num_outputs: int) -> list[Any]:
    return [np.array([label], dtype=np.float32) for label in features.labels]
