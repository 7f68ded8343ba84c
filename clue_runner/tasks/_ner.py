"""Helpers for the `entities` head (CLUENER2020): label objects, character <-> token mapping, encode, decode.

A label object is `{type: {entity string: [[start, end], ...]}}` with 0-based inclusive character offsets, the
format of CLUENER's train/dev files and of its leaderboard file. The head scores token pairs, so `encode` maps
every entity's characters to a (start token, end token) pair and records each token's character span in `meta`;
`decode` maps predicted pairs back through `meta`, so offsets always refer to the original text.

Two tokenisations (`task.tokenize`):
- `char` (default, as the CLUENER PyTorch baselines): one token per character, so every entity is representable.
  A character becomes the vocab entry of its normalised form (the tokenizer's own normaliser: lower case, accents
  stripped), else itself, else [UNK]; whitespace and characters the vocab lacks become [UNK] and keep their slot.
- `wordpiece` (as bojone's `rematch`): the fast tokenizer's own split with its character offsets. Latin words and
  digit runs become word pieces and whitespace gets no token, so an entity whose edge falls inside a piece, or
  inside a word the vocab cannot spell (one [UNK] for the whole word), cannot be represented; such entities are
  counted and reported, never silently moved.
Either way texts longer than `data.max_len - 2` tokens are cut, and the entities past the cut are counted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clue_runner.errors import ClueError, DataError, did_you_mean
from clue_runner.metrics.ner import entity_spans
from clue_runner.tasks.base import Features

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

log = logging.getLogger("clue_runner")

Entities = dict[str, dict[str, list[list[int]]]]
TOKENIZE = ("char", "wordpiece")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse_label(
    value: Any, text: str, types: Sequence[str], path: Path, line: int, strict: bool = True
) -> Entities:
    """Validate one label object against its text and return it in canonical order.

    Every type must be known, every span a pair of ints inside the text with `text[s:e+1] == entity`;
    nested, crossing and repeated entities are kept. Raises DataError naming file:line otherwise. Without
    `strict` (scoring as the official scorer, which compares each known type's entity strings only) the
    spans are kept as given (they then only miss in the span F1), an entity with an empty span list still
    counts, and a type the scorer does not know is ignored, as it ignores it.
    """

    def bad(message: str) -> DataError:
        return DataError(path, message, line)

    if not isinstance(value, dict):
        raise bad(f"'label' must be an object {{type: {{entity: [[start, end], ...]}}}}, got {value!r}")
    spans: list[tuple[str, int, int]] = []
    for kind, entities in value.items():
        if kind not in types:
            if not strict:
                continue
            raise bad(
                f"unknown entity type {kind!r}{did_you_mean(kind, types)} (expected one of {', '.join(types)})"
            )
        if not isinstance(entities, dict):
            raise bad(f"label[{kind!r}] must be an object {{entity: [[start, end], ...]}}, got {entities!r}")
        for entity, pairs in entities.items():
            what = f"{kind} entity {entity!r}"
            if not isinstance(pairs, list) or (strict and not pairs):
                raise bad(f"{what}: expected a non-empty list of [start, end] pairs, got {pairs!r}")
            for pair in pairs:
                if not (isinstance(pair, list) and len(pair) == 2 and all(_is_int(x) for x in pair)):
                    raise bad(f"{what}: malformed span {pair!r} (expected [start, end] integers)")
                s, e = pair
                if not strict:
                    continue
                if not 0 <= s <= e < len(text):
                    raise bad(f"{what}: span [{s}, {e}] is outside the text (length {len(text)})")
                if text[s : e + 1] != entity:
                    raise bad(
                        f"{what} at [{s}, {e}] does not match the text there ({text[s : e + 1]!r}); "
                        "offsets are 0-based and inclusive"
                    )
                spans.append((kind, s, e))
    if not strict:
        return {kind: value[kind] for kind in types if value.get(kind)}
    return entities_from_spans(text, spans, types)


def entities_from_spans(text: str, spans: Iterable[tuple[str, int, int]], types: Sequence[str]) -> Entities:
    """Build a label object from (type, start, end) spans: types in `types` order, strings in order of their first
    span, spans sorted and unique. Types without entities are left out, as the leaderboard file wants."""
    by_type: dict[str, set[tuple[int, int]]] = {}
    for kind, s, e in spans:
        by_type.setdefault(kind, set()).add((s, e))
    out: Entities = {}
    for kind in types:
        if kind not in by_type:
            continue
        strings: dict[str, list[list[int]]] = {}
        for s, e in sorted(by_type[kind]):
            strings.setdefault(text[s : e + 1], []).append([s, e])
        out[kind] = strings
    return out


@dataclass
class EncodeLosses:
    """What an encoding could not represent. `truncated`: entities past the max_len cut; `misaligned`: entities
    whose first or last character is not a token edge (wordpiece only)."""

    entities: int = 0
    truncated: int = 0
    misaligned: int = 0
    texts_truncated: int = 0

    @property
    def lost(self) -> int:
        return self.truncated + self.misaligned


class CharVocab:
    """Character -> token id the way the tokenizer would spell a lone character, memoised."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.vocab: dict[str, int] = tokenizer.get_vocab()
        backend = getattr(tokenizer, "backend_tokenizer", None)
        self.normalizer = getattr(backend, "normalizer", None)
        unk = tokenizer.unk_token_id
        if unk is None:
            raise ClueError("task.tokenize=char needs a tokenizer with an [UNK] token")
        self.unk: int = int(unk)
        self._cache: dict[str, int] = {}

    def __call__(self, ch: str) -> int:
        hit = self._cache.get(ch)
        if hit is None:
            # BertNormalizer pads CJK characters with spaces and maps whitespace to ' ': strip both.
            norm = self.normalizer.normalize_str(ch).strip() if self.normalizer is not None else ch.lower()
            for form in (norm, ch, ch.lower()):
                if form in self.vocab:
                    hit = self.vocab[form]
                    break
            else:
                hit = self.unk
            self._cache[ch] = hit
        return hit


def _token_spans(
    texts: Sequence[str], tokenizer: PreTrainedTokenizerBase, max_len: int, mode: str
) -> list[tuple[list[int], list[tuple[int, int]]]]:
    """(input_ids, per-token character span) per text; special tokens get (0, 0)."""
    cls_id, sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
    if cls_id is None or sep_id is None:
        raise ClueError("the entities head needs a tokenizer with [CLS] and [SEP] tokens")
    if mode == "char":
        spell = CharVocab(tokenizer)
        keep = max(max_len - 2, 0)
        out = []
        for text in texts:
            n = min(len(text), keep)
            ids = [int(cls_id), *(spell(ch) for ch in text[:n]), int(sep_id)]
            out.append((ids, [(0, 0), *((i, i + 1) for i in range(n)), (0, 0)]))
        return out
    if not getattr(tokenizer, "is_fast", False):
        raise ClueError(
            "task.tokenize=wordpiece needs a fast tokenizer (character offsets); use task.tokenize=char"
        )
    enc = tokenizer(
        list(texts),
        truncation=True,
        max_length=max_len,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
    )
    out = []
    for ids, offsets, special in zip(
        enc["input_ids"], enc["offset_mapping"], enc["special_tokens_mask"], strict=True
    ):
        spans = [(0, 0) if sp else (int(s), int(e)) for (s, e), sp in zip(offsets, special, strict=True)]
        out.append((list(ids), spans))
    return out


def encode_entities(
    texts: Sequence[str],
    golds: Sequence[Entities | None],
    types: Sequence[str],
    tokenizer: PreTrainedTokenizerBase,
    max_len: int,
    mode: str,
) -> tuple[Features, EncodeLosses]:
    """Features for the `entities` head (one per text) and the count of gold entities they cannot hold.

    Rows: input_ids, token_type_ids (all 0), attention_mask, span_mask (1 = a text token). Label: sorted unique
    (type index, start token, end token) triples, or None for an unlabelled text. Meta: each token's character
    span [start, end) in the original text, (0, 0) for [CLS] / [SEP].
    """
    if mode not in TOKENIZE:
        raise ClueError(f"task.tokenize must be one of {', '.join(TOKENIZE)}, got {mode!r}")
    type_index = {kind: i for i, kind in enumerate(types)}
    losses = EncodeLosses()
    rows: list[dict[str, Any]] = []
    labels: list[list[tuple[int, int, int]] | None] = []
    metas: list[list[tuple[int, int]]] = []
    for text, gold, (ids, spans) in zip(
        texts, golds, _token_spans(texts, tokenizer, max_len, mode), strict=True
    ):
        covered = max((e for _, e in spans), default=0)
        losses.texts_truncated += bool(text[covered:].strip())
        mask = [int(e > s) for s, e in spans]
        rows.append(
            {
                "input_ids": ids,
                "token_type_ids": [0] * len(ids),
                "attention_mask": [1] * len(ids),
                "span_mask": mask,
            }
        )
        metas.append(spans)
        if gold is None:
            labels.append(None)
            continue
        starts = {s: i for i, (s, e) in enumerate(spans) if e > s}
        ends = {e - 1: i for i, (s, e) in enumerate(spans) if e > s}
        triples: set[tuple[int, int, int]] = set()
        for kind, s, e in sorted(entity_spans(gold)):
            losses.entities += 1
            if e >= covered:
                losses.truncated += 1
            elif s not in starts or e not in ends:
                losses.misaligned += 1
            else:
                triples.add((type_index[kind], starts[s], ends[e]))
        labels.append(sorted(triples))
    return Features(rows=rows, labels=labels, example_index=list(range(len(texts))), meta=metas), losses


def log_losses(task: str, losses: EncodeLosses, mode: str, max_len: int) -> None:
    """One warning when an encoding cannot hold some gold entities (they can never be predicted)."""
    if losses.lost:
        log.warning(
            "%s: %d of %d gold entities cannot be represented and will count as misses: %d past the max_len=%d cut "
            "(%d texts truncated), %d not on %s token edges%s",
            task,
            losses.lost,
            losses.entities,
            losses.truncated,
            max_len,
            losses.texts_truncated,
            losses.misaligned,
            mode,
            " (task.tokenize=char keeps them)" if losses.misaligned else "",
        )


def decode_entities(
    outputs: Sequence[Sequence[tuple[int, int, int, float]]],
    features: Features,
    texts: Sequence[str],
    types: Sequence[str],
) -> list[Entities]:
    """Label objects from the head's positive (type, start token, end token, score) pairs, one per text.

    Pairs that do not map to text characters (special tokens, start after end, unknown type) are dropped; nested
    and overlapping entities are all kept, as the GlobalPointer predicts them.
    """
    spans: list[list[tuple[str, int, int]]] = [[] for _ in texts]
    for pairs, index, meta in zip(outputs, features.example_index, features.meta, strict=True):
        for t, st, et, _score in pairs:
            if not (0 <= t < len(types) and 0 <= st <= et < len(meta)):
                continue
            (s, s_end), (e_start, e) = meta[st], meta[et]
            if s_end <= s or e <= e_start or e - 1 < s:
                continue
            spans[index].append((types[t], s, e - 1))
    return [entities_from_spans(text, found, types) for text, found in zip(texts, spans, strict=True)]
