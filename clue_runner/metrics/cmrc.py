"""CMRC 2018 EM / F1: a port of the official evaluator ("v5 - special", SQuAD-style files; tasks/cmrc2018.md, Metric).

The official script (CLUEbenchmark/CLUE `baselines/models_pytorch/mrc_pytorch/preprocess/cmrc2018_evaluate.py`)
is not copied here; this module re-implements its algorithm:

- EM: lowercase and strip, delete every character of `SP_CHAR`; 1 if the prediction equals any gold answer.
- F1: lowercase and strip, drop `SP_CHAR` characters, cut into segments: each CJK character (U+4E00-U+9FA5)
  is one segment, every run of other characters goes through `nltk.word_tokenize`; F1 over the longest common
  *contiguous* run of segments; the best over the gold answers.
- Both are averaged over all questions; a question without a prediction scores 0 (the official `SKIP`).

One deliberate difference: the official script calls `nltk.word_tokenize(run)`, which first splits sentences
with the downloadable `punkt` model. We pass `preserve_line=True`, which works offline and gives the same
segments unless a non-CJK run holds a sentence end followed by more text ("Mr. Li left. He ..."), where punkt
would split off the inner full stop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache

# The official list, in its order. It is tested per character, so the two-character '……' never matches
# and '‘' (left single quote) is absent while '’' is present: both quirks are kept on purpose.
SP_CHAR: tuple[str, ...] = (
    "-", ":", "_", "*", "^", "/", "\\", "~", "`", "+", "=",
    "，", "。", "：", "？", "！", "“", "”", "；", "’", "《", "》", "……", "·", "、",
    "「", "」", "（", "）", "－", "～", "『", "』",
)  # fmt: skip
_SP = frozenset(SP_CHAR)
_CJK = re.compile(r"[\u4e00-\u9fa5]")


@cache
def _word_tokenize() -> Callable[[str], list[str]]:
    # nltk costs about half a second to import; only scoring needs it.
    from nltk.tokenize import word_tokenize

    def tokenize(text: str) -> list[str]:
        return list(word_tokenize(text, preserve_line=True))

    return tokenize


def mixed_segmentation(text: str, rm_punc: bool = False) -> list[str]:
    """Split `text` into CJK characters and nltk word tokens of the runs between them.

    Args:
        text: an answer or a prediction.
        rm_punc: drop `SP_CHAR` characters (F1 uses True); otherwise each is a segment of its own.

    Returns:
        The segments, lowercased.
    """
    tokenize = _word_tokenize()
    segments: list[str] = []
    pending = ""
    for char in str(text).lower().strip():
        if rm_punc and char in _SP:
            continue
        if _CJK.search(char) or char in _SP:
            if pending:
                segments.extend(tokenize(pending))
                pending = ""
            segments.append(char)
        else:
            pending += char
    if pending:
        segments.extend(tokenize(pending))
    return segments


def remove_punctuation(text: str) -> str:
    """Lowercase, strip, and delete every `SP_CHAR` character (the EM normalisation)."""
    return "".join(char for char in str(text).lower().strip() if char not in _SP)


def longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common contiguous run of two segment lists (the official `find_lcs`)."""
    best = 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                current[j + 1] = previous[j] + 1
                best = max(best, current[j + 1])
        previous = current
    return best


def f1_score(answers: Sequence[str], prediction: str) -> float:
    """Best segment F1 (0..1) of `prediction` against any of `answers` (at least one)."""
    if not answers:
        raise ValueError("CMRC F1 needs at least one gold answer")
    predicted = mixed_segmentation(prediction, rm_punc=True)
    best = 0.0
    for answer in answers:
        gold = mixed_segmentation(answer, rm_punc=True)
        common = longest_common_run(gold, predicted)
        if common == 0:
            continue
        precision = common / len(predicted)
        recall = common / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best


def em_score(answers: Sequence[str], prediction: str) -> float:
    """1.0 when `prediction` equals any of `answers` after `remove_punctuation`, else 0.0."""
    if not answers:
        raise ValueError("CMRC EM needs at least one gold answer")
    predicted = remove_punctuation(prediction)
    return 1.0 if any(remove_punctuation(answer) == predicted for answer in answers) else 0.0


def cmrc_scores(predictions: Sequence[str | None], answers: Sequence[Sequence[str]]) -> dict[str, float]:
    """Official CMRC 2018 scores, in percent.

    Args:
        predictions: one answer text per question; None = unanswered (scores 0, as the official SKIP).
        answers: the gold answer texts per question, aligned with `predictions`.

    Returns:
        {"average": (em + f1) / 2, "em": ..., "f1": ...}; all 0.0 for no questions.
    """
    if len(predictions) != len(answers):
        raise ValueError(f"cmrc_scores: {len(predictions)} predictions for {len(answers)} questions")
    if not answers:
        return {"average": 0.0, "em": 0.0, "f1": 0.0}
    em = f1 = 0.0
    for prediction, gold in zip(predictions, answers, strict=True):
        if prediction is None:
            continue
        em += em_score(gold, prediction)
        f1 += f1_score(gold, prediction)
    em = 100.0 * em / len(answers)
    f1 = 100.0 * f1 / len(answers)
    return {"average": (em + f1) / 2, "em": em, "f1": f1}
