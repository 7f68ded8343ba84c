"""Head `entities` (CLUENER): encoder + GlobalPointer with one head per entity type, Su's multilabel
categorical cross-entropy; `reduce` hands `decode` each row's (type, start_token, end_token, score) pairs with a
positive score."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from clue_runner.heads import _batch

if TYPE_CHECKING:
    import torch

    from clue_runner.config import RunConfig
    from clue_runner.modeling import ClueModel
    from clue_runner.tasks.base import Features, Task


def build(task: Task, resolved: str, kwargs: dict[str, Any], trained: bool) -> ClueModel:
    """The encoder plus a GlobalPointer (`heads/_pointer.py`)."""
    from clue_runner.heads import _pointer

    return _pointer.build(task, resolved, kwargs, trained)


def collate(features: Features, indices: Sequence[int], pad_id: int) -> dict[str, torch.Tensor]:
    """Rows padded with their span_mask; labels as sparse (row, type, start, end) quadruples (the dense target is
    built on the device in `loss`), entities past the padded length dropped."""
    import torch

    rows, labels, batch = _batch.start(features, indices)
    length = _batch.pad_flat(batch, rows, pad_id, extra=("span_mask",))
    if any(label is not None for label in labels):
        quads = [(b, t, s, e) for b, y in enumerate(labels) for t, s, e in (y or ()) if e < length]
        batch["labels"] = torch.tensor(quads, dtype=torch.long).reshape(-1, 4)
    return batch


def multilabel_categorical_crossentropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Su's multi-label CE: pushes positive scores above 0 and negatives below, without a fixed threshold.

    logits, targets: (N, K); returns the mean loss over N.
    """
    import torch

    logits = (1 - 2 * targets) * logits
    neg = logits - targets * 1e12
    pos = logits - (1 - targets) * 1e12
    zeros = torch.zeros_like(logits[..., :1])
    neg_loss = torch.logsumexp(torch.cat([neg, zeros], dim=-1), dim=-1)
    pos_loss = torch.logsumexp(torch.cat([pos, zeros], dim=-1), dim=-1)
    return (neg_loss + pos_loss).mean()


def loss(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    import torch

    labels = batch["labels"]
    logits = logits.float()
    b, types, seq, _ = logits.shape
    target = torch.zeros_like(logits)
    if labels.numel():
        target[labels[:, 0], labels[:, 1], labels[:, 2], labels[:, 3]] = 1.0
    return multilabel_categorical_crossentropy(
        logits.reshape(b * types, seq * seq), target.reshape(b * types, -1)
    )


def reduce(logits: torch.Tensor, batch: dict[str, torch.Tensor], cfg: RunConfig) -> list[Any]:
    import torch

    with torch.no_grad():
        hits = (logits > 0).nonzero().tolist()
        values = logits[logits > 0].tolist()
    per_row: list[list[tuple[int, int, int, float]]] = [[] for _ in range(logits.shape[0])]
    for (row, t, s, e), score in zip(hits, values, strict=True):
        per_row[row].append((t, s, e, float(score)))
    return per_row


def oracle(features: Features, num_outputs: int) -> list[Any]:
    return [[(int(t), int(s), int(e), 10.0) for t, s, e in label] for label in features.labels]
