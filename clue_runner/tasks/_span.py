"""Helpers for span extraction (CMRC2018): answer location, sliding windows, token <-> character mapping.

Windows follow bojone's CLUE-bert4keras (tasks/cmrc2018.md, Model input), counted in tokens instead of characters:
`[CLS] question [SEP] context[w : w + width] [SEP]` with `width = max_len - len(question) - 3` and
w = 0, step, 2*step, ... until a window reaches the end of the context. `step` is `task.doc_stride`: the
distance between window starts, NOT the overlap that Hugging Face's `stride=` argument means (PaddleNLP's
overlap of 128 at max_len 512 is a step of 381 minus the question length).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from clue_runner.errors import ClueError
from clue_runner.tasks.base import Features

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from clue_runner.config import RunConfig

Offsets = list[tuple[int, int]]


class Window(NamedTuple):
    """Decode information for one feature: where its context tokens start in the row, and their characters."""

    first: int  # row index of the window's first context token
    offsets: Offsets  # (char_start, char_end) in the original context, one per context token of the window


def locate(context: str, text: str, start: int) -> int | None:
    """The character start of `text` in `context`: `start` when it points at the text, else the occurrence
    nearest to `start` (the earlier one on a tie), else None when the text does not occur at all."""
    if start >= 0 and context.startswith(text, start):
        return start
    hits = []
    at = context.find(text)
    while at >= 0 and text:
        hits.append(at)
        at = context.find(text, at + 1)
    return min(hits, key=lambda hit: (abs(hit - start), hit)) if hits else None


def token_span(offsets: Offsets, char_start: int, char_end: int) -> tuple[int, int] | None:
    """The context tokens that cover characters [char_start, char_end): the first token ending after the start
    and the last token starting before the end. None when no token overlaps (e.g. a whitespace-only answer).
    A token cut by an answer boundary is included whole, so such answers come back slightly longer."""
    ends = [end for _, end in offsets]
    starts = [start for start, _ in offsets]
    first = bisect.bisect_right(ends, char_start)
    last = bisect.bisect_left(starts, char_end) - 1
    return (first, last) if first <= last else None


def window_starts(n_tokens: int, width: int, step: int) -> list[int]:
    """Start token of each window over `n_tokens` context tokens; always at least one window."""
    starts = [0]
    while starts[-1] + width < n_tokens:
        starts.append(starts[-1] + step)
    return starts


def _positive(cfg_task: dict[str, Any], key: str, default: int) -> int:
    value = cfg_task.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ClueError(f"task.{key} must be a positive integer, got {value!r}")
    return value


def max_answer_len(cfg: RunConfig) -> int | None:
    """`task.max_answer_len`: the longest answer, in tokens, the span head may return; None (the default, as
    bojone) = no cap beyond the window; PaddleNLP caps at 50. The one place the knob is read: the head's `reduce`
    masks longer pairs on the device and `decode_best` ignores them."""
    if cfg.task.get("max_answer_len") is None:
        return None
    return _positive(cfg.task, "max_answer_len", 0)


def encode_windows(
    questions: Sequence[str],
    contexts: Sequence[str],
    answers: Sequence[tuple[int, int] | None],
    tokenizer: PreTrainedTokenizerBase,
    max_len: int,
    cfg_task: dict[str, Any],
    pair_segments: bool,
) -> Features:
    """Tokenise question/context pairs into sliding windows with GlobalPointer labels.

    Args:
        questions, contexts: one per example.
        answers: the labelled answer's character span [start, end) per example, or None (test, or unusable).
        tokenizer: a fast tokenizer (offsets are needed to map tokens back to characters).
        max_len: tokens per window, specials included.
        cfg_task: `doc_stride` (window step in tokens) and `max_question_len`.
        pair_segments: token type 1 for the context and final [SEP]; all zeros otherwise.

    Returns:
        One feature per window; label = (start, end) row positions of the answer if the window holds it
        wholly, else (0, 0) ([CLS]); `meta` holds a `Window` per feature.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise ClueError(
            "span tasks need a fast tokenizer (character offsets); this model's tokenizer is not one"
        )
    cls, sep = tokenizer.cls_token_id, tokenizer.sep_token_id
    if cls is None or sep is None:
        raise ClueError("span tasks need a tokenizer with [CLS] and [SEP] tokens")
    step = _positive(cfg_task, "doc_stride", 128)
    # Keep at least half the window for the context, whatever max_question_len says.
    q_limit = min(_positive(cfg_task, "max_question_len", 64), max(1, (max_len - 3) // 2))
    if max_len - 3 - q_limit < 1:
        raise ClueError(f"data.max_len {max_len} leaves no room for the context")
    q_ids = tokenizer(
        list(questions), add_special_tokens=False, truncation=True, max_length=q_limit, verbose=False
    )["input_ids"]
    enc = tokenizer(list(contexts), add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    rows: list[dict[str, Any]] = []
    labels: list[tuple[int, int]] = []
    example_index: list[int] = []
    meta: list[Window] = []
    for i, (question, ctx_ids, offsets) in enumerate(
        zip(q_ids, enc["input_ids"], enc["offset_mapping"], strict=True)
    ):
        offsets = [tuple(o) for o in offsets]
        width = max_len - 3 - len(question)
        answer = answers[i]
        span = token_span(offsets, *answer) if answer is not None else None
        first = len(question) + 2
        for w in window_starts(len(ctx_ids), width, min(step, width)):
            window = ctx_ids[w : w + width]
            ids = [cls, *question, sep, *window, sep]
            types = [0] * first + [1] * (len(window) + 1) if pair_segments else [0] * len(ids)
            mask = [1] + [0] * (first - 1) + [1] * len(window) + [0]
            rows.append(
                {
                    "input_ids": ids,
                    "token_type_ids": types,
                    "attention_mask": [1] * len(ids),
                    "span_mask": mask,
                }
            )
            inside = span is not None and w <= span[0] and span[1] < w + len(window)
            labels.append((first + span[0] - w, first + span[1] - w) if inside and span else (0, 0))
            example_index.append(i)
            meta.append(Window(first, offsets[w : w + width]))
    return Features(rows=rows, labels=labels, example_index=example_index, meta=meta)


def decode_best(
    outputs: Sequence[Any], features: Features, contexts: Sequence[str], cfg: RunConfig
) -> list[str]:
    """Per example, the text of the best-scoring window's span, sliced from the original context.

    A feature output is (start_token, end_token, score); (0, 0) means the window has no answer. Spans the
    head could not return (outside the context, reversed, longer than `max_answer_len` if set) are ignored, so a gold
    round trip counts exactly what prediction can reach. An example with no usable span gets "".
    """
    limit = max_answer_len(cfg)
    best: list[tuple[float, str] | None] = [None] * len(contexts)
    for output, index, window in zip(outputs, features.example_index, features.meta, strict=True):
        start, end, score = int(output[0]), int(output[1]), float(output[2])
        i, j = start - window.first, end - window.first
        if (
            not 0 <= i <= j < len(window.offsets)
            or (limit is not None and j - i + 1 > limit)
            or math.isnan(score)
            or score == -math.inf
        ):
            continue
        current = best[index]
        if current is None or score > current[0]:
            best[index] = (score, contexts[index][window.offsets[i][0] : window.offsets[j][1]])
    return [item[1] if item else "" for item in best]
