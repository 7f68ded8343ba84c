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


def collate(
    features: Features, indices: Sequence[int], pad_id: int, pad_multiple: int
) -> dict[str, torch.Tensor]:
    """Rows padded with their span_mask; labels as sparse (row, type, start, end) quadruples (the dense target is
    built on the device in `loss`), entities past the padded length dropped."""
    import torch

    rows, labels, batch = _batch.start(features, indices)
    length = _batch.pad_flat(batch, rows, pad_id, pad_multiple, extra=("span_mask",))
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
    return positive_spans(logits, batch.get("span_mask"))


def positive_spans(
    logits: torch.Tensor, span_mask: torch.Tensor | None
) -> list[list[tuple[int, int, int, float]]]:
    """Per row, the (type, start, end, score) pairs scoring above 0, sorted, at most one per text token.

    The cap keeps the highest-scoring pairs: a text of n tokens holds at most n entities that do not overlap,
    and a trained head predicts about as many as the gold has (CLUENER: a few per text), so only an untrained or
    diverged head reaches it, which could otherwise emit every one of the types x n x n pairs (600k spans and a
    34 MB leaderboard file for 200 texts). Selection runs as one top-k on the device; only kept pairs reach Python.
    """
    import torch

    b, _, seq, _ = logits.shape
    flat = logits.detach().reshape(b, -1)
    if span_mask is None:
        cap = torch.full((b,), seq, dtype=torch.long, device=logits.device)
    else:
        cap = span_mask.sum(-1).clamp(min=1)
    k = min(flat.shape[1], int(cap.max()))
    values, index = flat.topk(k, dim=-1)
    keep = (values > 0) & (torch.arange(k, device=logits.device)[None, :] < cap[:, None])
    values, index, keep = values.float().cpu(), index.cpu(), keep.cpu()
    out = []
    for row in range(b):
        chosen = index[row][keep[row]]
        order = chosen.argsort()
        chosen, scores = chosen[order], values[row][keep[row]][order]
        kinds, starts, ends = chosen // (seq * seq), chosen // seq % seq, chosen % seq
        out.append(list(zip(kinds.tolist(), starts.tolist(), ends.tolist(), scores.tolist(), strict=True)))
    return out


def oracle(features: Features, num_outputs: int) -> list[Any]:
    return [[(int(t), int(s), int(e), 10.0) for t, s, e in label] for label in features.labels]
