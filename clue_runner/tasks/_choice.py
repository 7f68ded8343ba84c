"""Helpers shared by the two multiple-choice tasks, C3 and CHID (head `choice`; plain functions, no base class).

A `choice` feature holds one token list per choice under input_ids / token_type_ids / attention_mask, and the
loop hands `decode` one float32 logits array (num_choices,) per feature. C3 picks one choice per question (the
padded dummy choices masked out); CHID assigns the candidates of one record jointly, so that its blanks get
distinct idioms (`assign`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from clue_runner.errors import ClueError

log = logging.getLogger("clue_runner")

ASSIGNMENTS = ("hungarian", "greedy", "independent")


@lru_cache(maxsize=4096)
def _constant(value: int, length: int) -> list[int]:
    return [value] * length


def choice_row(choices: Sequence[list[int]], segments: Sequence[list[int]] | None = None) -> dict[str, Any]:
    """One feature row from per-choice token ids (and token types; None = all 0).

    All-zero token types and all-one masks are shared list objects: CHID's train split has hundreds of thousands
    of blanks x 10 candidates, and sharing (which pickle keeps in the feature cache) saves two thirds of the memory.
    Nothing mutates rows; the collator copies them while padding.
    """
    return {
        # int32 arrays: CHID's train split has ~577k blanks x 10 candidates; Python int lists would take ~13 GB.
        "input_ids": [np.asarray(c, dtype=np.int32) for c in choices],
        "token_type_ids": list(segments) if segments is not None else [_constant(0, len(c)) for c in choices],
        "attention_mask": [_constant(1, len(c)) for c in choices],
    }


def tokenize(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of each text without special tokens, in one batched call of the fast tokenizer."""
    if not texts:
        return []
    enc = tokenizer(
        list(texts), add_special_tokens=False, return_attention_mask=False, return_token_type_ids=False
    )
    return [list(ids) for ids in enc["input_ids"]]


def masked_argmax(logits: Any, valid: int) -> int:
    """Index of the best of the first `valid` choices (the rest are padding that is never the answer)."""
    scores = np.asarray(logits, dtype=np.float64)[:valid]
    return int(np.argmax(scores))


def assignment_mode(cfg: Any) -> str:
    """The configured `task.assignment`, checked."""
    mode = cfg.task.get("assignment", "hungarian")
    if mode not in ASSIGNMENTS:
        raise ClueError(f"task.assignment must be one of {', '.join(ASSIGNMENTS)}, got {mode!r}")
    return str(mode)


def _hungarian(scores: np.ndarray) -> list[int]:
    from scipy.optimize import linear_sum_assignment

    # With no more rows than columns every row is assigned and rows come back sorted: cols[k] is row k's.
    _, cols = linear_sum_assignment(-scores)
    return [int(c) for c in cols]


def _greedy(scores: np.ndarray) -> list[int]:
    # PaddleNLP's calc_global_pred_results: best (row, column) pairs first, each row and column used once.
    # Ties go to the earlier row, then the earlier column, so the result is deterministic.
    n_rows, n_cols = scores.shape
    order = sorted((-scores[r, c], r, c) for r in range(n_rows) for c in range(n_cols))
    out = [-1] * n_rows
    used: set[int] = set()
    for _, r, c in order:
        if out[r] < 0 and c not in used:
            out[r] = c
            used.add(c)
    return out


def _independent(scores: np.ndarray) -> list[int]:
    return [int(c) for c in np.argmax(scores, axis=1)]


_ASSIGNERS: dict[str, Callable[[np.ndarray], list[int]]] = {
    "hungarian": _hungarian,
    "greedy": _greedy,
    "independent": _independent,
}


def assign(scores: Any, mode: str = "hungarian") -> list[int]:
    """One column per row of an (n_rows x n_cols) score matrix.

    hungarian: distinct columns maximising the summed score (scipy linear_sum_assignment, bojone's CHID);
    greedy: distinct columns taken best pair first (PaddleNLP); independent: each row's argmax (may repeat).

    Args:
        scores: logits, one row per blank, one column per candidate; at most as many rows as columns.
        mode: one of ASSIGNMENTS.

    Returns:
        The chosen column of each row, in row order.
    """
    matrix = np.asarray(scores, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] > matrix.shape[1]:
        raise ValueError(
            f"assign: need a 2-D matrix with no more rows than columns, got shape {matrix.shape}"
        )
    # A non-finite logit (fp16 overflow) would make the Hungarian cost infeasible; rank it as the extreme.
    matrix = np.nan_to_num(matrix, nan=-1e9, posinf=1e9, neginf=-1e9)
    if mode not in _ASSIGNERS:
        raise ClueError(f"task.assignment must be one of {', '.join(ASSIGNMENTS)}, got {mode!r}")
    return _ASSIGNERS[mode](matrix)
