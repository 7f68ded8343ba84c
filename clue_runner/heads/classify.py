"""Head `classify`: the checkpoint's own sequence-classification head (AutoModelForSequenceClassification),
cross-entropy over the task's labels; `decode` gets one float32 logits array per feature."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from clue_runner.heads import _batch

if TYPE_CHECKING:
    import torch

    from clue_runner.config import RunConfig
    from clue_runner.modeling import ClueModel
    from clue_runner.tasks.base import Features, Task


def build(task: Task, resolved: str, kwargs: dict[str, Any], trained: bool) -> ClueModel:
    """A fresh head over the task's labels; a fine-tuned checkpoint (`trained`) keeps its own head, its outputs
    matched to the task's labels by name (`finetuned.label_order`; a mismatch is an error)."""
    from transformers import AutoModelForSequenceClassification

    from clue_runner.modeling import ClueModel

    if trained:
        from transformers import AutoConfig

        from clue_runner.finetuned import label_order

        # Checked on config.json first: loading weights for another label count would fail obscurely.
        order = label_order(task, AutoConfig.from_pretrained(resolved).id2label, resolved)
        backbone = AutoModelForSequenceClassification.from_pretrained(resolved)
        return ClueModel(task.head, backbone, output_order=order)
    id2label = dict(enumerate(task.labels))
    backbone = AutoModelForSequenceClassification.from_pretrained(
        resolved,
        num_labels=task.num_outputs,
        id2label=id2label,
        label2id={v: k for k, v in id2label.items()},
        **kwargs,
    )
    return ClueModel(task.head, backbone)


def class_labels(labels: Sequence[Any]) -> torch.Tensor:
    """Class indices, -100 (ignored by the loss) for an unlabelled row."""
    import torch

    return torch.tensor([-100 if y is None else int(y) for y in labels], dtype=torch.long)


def collate(
    features: Features, indices: Sequence[int], pad_id: int, pad_multiple: int
) -> dict[str, torch.Tensor]:
    rows, labels, batch = _batch.start(features, indices)
    _batch.pad_flat(batch, rows, pad_id, pad_multiple)
    if any(label is not None for label in labels):
        batch["labels"] = class_labels(labels)
    return batch


def loss(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    from torch import nn

    return nn.functional.cross_entropy(logits.float(), batch["labels"], ignore_index=-100)


def reduce(logits: torch.Tensor, batch: dict[str, torch.Tensor], cfg: RunConfig) -> list[Any]:
    return list(logits.float().cpu().numpy().astype(np.float32))


def oracle(features: Features, num_outputs: int) -> list[Any]:
    outputs = []
    for label in features.labels:
        logits = np.full(num_outputs, -10.0, dtype=np.float32)
        logits[int(label)] = 10.0
        outputs.append(logits)
    return outputs
