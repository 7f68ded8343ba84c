"""Padding shared by the heads' collators."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from clue_runner.tasks.base import Features

# (key, padding value) of the token-level inputs every head feeds the encoder.
INPUTS = (("input_ids", None), ("token_type_ids", 0), ("attention_mask", 0))


def pad(seqs: Sequence[Sequence[int]], length: int, value: int) -> list[list[int]]:
    return [list(s) + [value] * (length - len(s)) for s in seqs]


def round8(n: int) -> int:
    # Tensor cores want multiples of 8; the extra padding is at most 7 tokens.
    return max(8, (n + 7) // 8 * 8)


def start(
    features: Features, indices: Sequence[int]
) -> tuple[list[dict[str, Any]], list[Any], dict[str, torch.Tensor]]:
    """(the chosen rows, their labels, a batch holding their feature indices)."""
    import torch

    rows = [features.rows[i] for i in indices]
    labels = [features.labels[i] for i in indices]
    return rows, labels, {"index": torch.tensor(list(indices), dtype=torch.long)}


def pad_flat(
    batch: dict[str, torch.Tensor], rows: Sequence[dict[str, Any]], pad_id: int, extra: Sequence[str] = ()
) -> int:
    """Pad one-sequence rows (and the `extra` 0/1 masks they carry) to the batch's longest, rounded up to a
    multiple of 8, into `batch`; returns that length."""
    import torch

    length = round8(max(len(r["input_ids"]) for r in rows))
    for key, value in (*INPUTS, *((k, 0) for k in extra)):
        fill = pad_id if value is None else value
        batch[key] = torch.tensor(pad([r[key] for r in rows], length, fill), dtype=torch.long)
    return length
