"""Heads, collation and output reduction: the pieces between features and the task's decode."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from clue_runner import config
from clue_runner.heads._pointer import NEG_INF, GlobalPointer
from clue_runner.heads.entities import multilabel_categorical_crossentropy
from clue_runner.modeling import collate, loss_fn, reduce_outputs
from clue_runner.tasks.base import Features


def _rows(lengths: list[int], span: bool = False) -> list[dict[str, list[int]]]:
    rows = []
    for n in lengths:
        row = {"input_ids": list(range(1, n + 1)), "token_type_ids": [0] * n, "attention_mask": [1] * n}
        if span:
            row["span_mask"] = [1] * n
        rows.append(row)
    return rows


def test_collate_pads_to_multiple_of_eight_and_keeps_index() -> None:
    feats = Features(_rows([3, 11]), [0, 2], [0, 1])
    batch = collate("classify", feats, [1, 0], pad_id=0)
    assert batch["input_ids"].shape == (2, 16)
    assert batch["index"].tolist() == [1, 0]
    assert batch["labels"].tolist() == [2, 0]
    assert batch["attention_mask"][1].sum() == 3


def test_collate_choice_pads_all_choices() -> None:
    row = {
        "input_ids": [[1, 2], [1, 2, 3, 4, 5, 6, 7, 8, 9]],
        "token_type_ids": [[0, 0], [0] * 9],
        "attention_mask": [[1, 1], [1] * 9],
    }
    batch = collate("choice", Features([row], [1], [0]), [0], pad_id=0)
    assert batch["input_ids"].shape == (1, 2, 16)


def test_collate_unlabelled_has_no_labels() -> None:
    batch = collate("classify", Features(_rows([4]), [None], [0]), [0], pad_id=0)
    assert "labels" not in batch


def test_collate_entities_sparse_labels() -> None:
    feats = Features(_rows([5, 6], span=True), [[(1, 1, 2)], [(0, 3, 3), (2, 1, 4)]], [0, 1])
    batch = collate("entities", feats, [0, 1], pad_id=0)
    assert batch["labels"].tolist() == [[0, 1, 1, 2], [1, 0, 3, 3], [1, 2, 1, 4]]


def test_global_pointer_masks_lower_triangle_and_padding() -> None:
    torch.manual_seed(0)
    gp = GlobalPointer(hidden=8, heads=2, head_size=4)
    hidden = torch.randn(1, 5, 8)
    mask = torch.tensor([[1, 1, 1, 0, 0]])
    logits = gp(hidden, mask)
    assert logits.shape == (1, 2, 5, 5)
    assert logits.dtype == torch.float32
    assert (logits[0, :, 2, 1] == NEG_INF).all()  # end before start
    assert (logits[0, :, 0, 3] == NEG_INF).all()  # padding
    assert (logits[0, :, 0, 2] > NEG_INF).all()


def test_multilabel_ce_prefers_positive_scores_above_zero() -> None:
    target = torch.tensor([[1.0, 0.0, 0.0]])
    good = multilabel_categorical_crossentropy(torch.tensor([[5.0, -5.0, -5.0]]), target)
    bad = multilabel_categorical_crossentropy(torch.tensor([[-5.0, 5.0, -5.0]]), target)
    assert good < 0.05 < bad


def test_span_loss_targets_flat_pair_index() -> None:
    logits = torch.full((1, 1, 4, 4), -10.0)
    logits[0, 0, 1, 2] = 10.0
    batch = {"labels": torch.tensor([[1, 2]])}
    assert loss_fn("span", logits, batch) < 1e-3
    assert loss_fn("span", logits, {"labels": torch.tensor([[0, 0]])}) > 10


def test_reduce_span_excludes_cls_and_long_spans() -> None:
    cfg = config.load("tnews")  # any config: max_answer_len defaults to 50 tokens, more than these 6
    logits = torch.full((2, 1, 6, 6), -1.0)
    logits[0, 0, 0, 0] = 50.0  # [CLS] is never an answer
    logits[0, 0, 2, 3] = 5.0
    logits[1] = NEG_INF
    out = reduce_outputs("span", logits, {}, cfg)
    assert out[0][:2] == (2, 3) and out[0][2] == pytest.approx(5.0)
    assert out[1][:2] == (0, 0) and math.isinf(out[1][2])


def test_reduce_span_respects_max_answer_len() -> None:
    base = config.load("tnews")
    cfg = dataclasses.replace(base, task={"max_answer_len": 2})
    logits = torch.full((1, 1, 6, 6), -1.0)
    logits[0, 0, 1, 4] = 9.0  # 4 tokens: too long
    logits[0, 0, 2, 3] = 1.0
    assert reduce_outputs("span", logits, {}, cfg)[0][:2] == (2, 3)


def test_reduce_entities_lists_positive_pairs() -> None:
    logits = torch.full((2, 3, 4, 4), -1.0)
    logits[0, 2, 1, 3] = 0.5
    logits[1, 0, 2, 2] = 3.0
    out = reduce_outputs("entities", logits, {}, config.load("tnews"))
    assert out[0] == [(2, 1, 3, 0.5)] and out[1] == [(0, 2, 2, 3.0)]


def test_reduce_classify_returns_numpy_rows() -> None:
    out = reduce_outputs("classify", torch.tensor([[0.1, 0.9]]), {}, config.load("tnews"))
    assert isinstance(out[0], np.ndarray) and out[0].argmax() == 1


def test_global_pointer_scores_in_float32_under_bf16_autocast() -> None:
    torch.manual_seed(0)
    gp = GlobalPointer(hidden=16, heads=1, head_size=8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = gp(torch.randn(1, 6, 16), torch.ones(1, 6, dtype=torch.long))
        loss = loss_fn("span", logits, {"labels": torch.tensor([[1, 2]])})
    assert logits.dtype == torch.float32 and loss.dtype == torch.float32
