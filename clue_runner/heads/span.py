"""Head `span` (CMRC2018): encoder + GlobalPointer with one head, a score for every (start, end) token pair,
softmax cross-entropy over the flattened pair matrix (bojone's recipe). `reduce` hands `decode` the best allowed
pair of each window, (start_token, end_token, score), never [CLS] and never longer than `task.max_answer_len`
tokens when that is set (`_span.max_answer_len`, the one place that knob is read; `_span.decode_best` applies
the same limit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from clue_runner.heads import _batch
from clue_runner.tasks._span import max_answer_len

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
    """Rows padded with their span_mask; labels (start, end), (0, 0) = [CLS] = no answer in this window."""
    import torch

    rows, labels, batch = _batch.start(features, indices)
    _batch.pad_flat(batch, rows, pad_id, pad_multiple, extra=("span_mask",))
    if any(label is not None for label in labels):
        batch["labels"] = torch.tensor([(0, 0) if y is None else tuple(y) for y in labels], dtype=torch.long)
    return batch


def loss(logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    from torch import nn

    labels = batch["labels"]
    b, _, seq, _ = logits.shape
    flat = logits.float().reshape(b, seq * seq)
    return nn.functional.cross_entropy(flat, labels[:, 0] * seq + labels[:, 1])


def reduce(logits: torch.Tensor, batch: dict[str, torch.Tensor], cfg: RunConfig) -> list[Any]:
    import torch

    from clue_runner.heads._pointer import NEG_INF

    with torch.no_grad():
        b, _, seq, _ = logits.shape
        scores = logits[:, 0].clone()
        scores[:, 0, :] = NEG_INF  # [CLS] is the "no answer here" label, never a prediction
        scores[:, :, 0] = NEG_INF
        idx = torch.arange(seq, device=logits.device)
        too_long = (idx[None, :] - idx[:, None]) >= (
            max_answer_len(cfg) or seq
        )  # None: no cap beyond the window
        scores = scores.masked_fill(too_long[None], NEG_INF)
        best, flat = scores.reshape(b, -1).max(dim=-1)
    out: list[Any] = []
    for score, pos in zip(best.tolist(), flat.tolist(), strict=True):
        out.append((0, 0, float("-inf")) if score <= NEG_INF / 2 else (pos // seq, pos % seq, float(score)))
    return out


def oracle(features: Features, num_outputs: int) -> list[Any]:
    outputs: list[Any] = []
    for start, end in features.labels:
        # A window without the answer is labelled (0, 0); the oracle says "nothing here" with a low score.
        outputs.append((int(start), int(end), 10.0 if (start, end) != (0, 0) else -1e9))
    return outputs
