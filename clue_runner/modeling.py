"""Models for the four head kinds, tokenizer loading, batch collation and per-batch output reduction.

- classify: AutoModelForSequenceClassification (the checkpoint's own pooled head).
- choice:   AutoModelForMultipleChoice (one pass per choice, softmax over choices).
- span:     encoder + GlobalPointer with one head (CMRC2018): a score for every (start, end) token pair,
            softmax cross-entropy over the flattened pair matrix (bojone's recipe).
- entities: encoder + GlobalPointer with one head per entity type (CLUENER), multilabel categorical CE.

`reduce_outputs` turns a batch's logits into the compact per-feature outputs `decode` expects (tasks/base.py)
while they are still on the device, so evaluation never keeps full logits (an L x L matrix per window) around.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from clue_runner.errors import ClueError
from clue_runner.registry import needs_bert_tokenizer, resolve_model

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from clue_runner.config import RunConfig
    from clue_runner.tasks.base import Features, HeadKind, Task

log = logging.getLogger("clue_runner")

HEAD_FILE = "clue_head.safetensors"
HEAD_CONFIG = "clue_head.json"
TASK_FILE = "clue_task.json"
NEG_INF = -1e12  # logits are scored in float32, so this never overflows even under bf16 autocast


# --------------------------------------------------------------------------------------------------- loading


def _hub_error(model: str, resolved: str, exc: Exception) -> ClueError:
    return ClueError(
        f"could not load model {model!r} ({resolved}): {type(exc).__name__}: {str(exc).splitlines()[0][:200]}. "
        "Without network access, download the checkpoint elsewhere (e.g. `hf download "
        f"{resolved} --local-dir DIR`) and pass the folder: --model DIR; with a filled local cache use --offline"
    )


def _model_type(resolved: str) -> str | None:
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(resolved).model_type
    except OSError:
        return None


def hub_reachable(timeout: float = 3.0) -> bool:
    """Can we open a TCP connection to the hub endpoint? (DNS + connect, bounded by `timeout`.)"""
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "huggingface.co", port), timeout=timeout):
            return True
    except OSError:
        return False


def _prefer_cache_without_network(resolved: str) -> None:
    """The hub client retries an unreachable host for over a minute per file; probe once instead and, with no
    connection, go offline so a cached copy is used and a missing one fails at once."""
    if Path(resolved).is_dir() or os.environ.get("HF_HUB_OFFLINE") == "1":
        return
    if not hub_reachable():
        log.warning("no connection to the Hugging Face hub: using the local cache only for %s", resolved)
        set_offline()


def load_tokenizer(model: str, offline: bool = False) -> PreTrainedTokenizerBase:
    """The checkpoint's tokenizer: BertTokenizer for ALBERT-zh / clue/* (whose type says otherwise), else Auto."""
    if offline:
        set_offline()
    resolved = resolve_model(model)
    _prefer_cache_without_network(resolved)
    from transformers import AutoTokenizer, BertTokenizer

    from clue_runner.modelcheck import load_tokenizer_checked

    def load() -> PreTrainedTokenizerBase:
        if needs_bert_tokenizer(resolved, _model_type(resolved)):
            return BertTokenizer.from_pretrained(resolved)
        try:
            return AutoTokenizer.from_pretrained(resolved)
        except (ValueError, OSError):
            # A folder with only vocab.txt (no tokenizer.json / config): the Chinese BERT family's layout.
            if Path(resolved, "vocab.txt").is_file():
                return BertTokenizer.from_pretrained(resolved)
            raise

    try:
        return load_tokenizer_checked(load, resolved)
    except OSError as exc:
        raise _hub_error(model, resolved, exc) from None


def set_offline() -> None:
    """Honour --offline: the hub libraries read these when they are imported and on every call."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"


def fail_fast_network() -> None:
    """Short hub timeouts: with no network a hub id should fail in seconds, not hang for minutes."""
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", "10")
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", "30")


# --------------------------------------------------------------------------------------------------- heads


class GlobalPointer(nn.Module):
    """Scores every (start, end) token pair per head: RoPE-rotated query/key projections (Su et al., 2021).

    head_size defaults to the encoder's attention head size (64 for base models), as bojone's CLUE code does.
    """

    def __init__(self, hidden: int, heads: int, head_size: int) -> None:
        super().__init__()
        self.heads = heads
        self.head_size = head_size
        self.dense = nn.Linear(hidden, heads * head_size * 2)

    def _rope(self, x: torch.Tensor) -> torch.Tensor:
        # x: (B, L, H, D); rotate pairs of dimensions by position-dependent angles.
        seq, dim = x.shape[1], x.shape[-1]
        pos = torch.arange(seq, device=x.device, dtype=torch.float32)[:, None]
        freq = torch.pow(10000.0, -torch.arange(0, dim, 2, device=x.device, dtype=torch.float32) / dim)
        angle = pos * freq  # (L, D/2)
        sin = angle.sin().repeat_interleave(2, dim=-1)[None, :, None, :]
        cos = angle.cos().repeat_interleave(2, dim=-1)[None, :, None, :]
        x2 = torch.stack([-x[..., 1::2], x[..., ::2]], dim=-1).reshape(x.shape)
        return x * cos + x2 * sin

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """hidden (B, L, E), mask (B, L) of allowed tokens -> float32 logits (B, heads, L, L), invalid = NEG_INF."""
        b, seq, _ = hidden.shape
        proj = self.dense(hidden)
        # Pair scores decide between windows and spans by small margins: compute them in float32 even under
        # bf16 autocast (bf16 keeps ~8 bits, enough for ties between close candidates).
        with torch.autocast(device_type=hidden.device.type, enabled=False):
            proj = proj.float().view(b, seq, self.heads, 2 * self.head_size)
            q, k = proj[..., : self.head_size], proj[..., self.head_size :]
            q, k = self._rope(q), self._rope(k)
            logits = torch.einsum("bmhd,bnhd->bhmn", q, k) / math.sqrt(self.head_size)
            allowed = mask.bool()
            pair = allowed[:, None, :, None] & allowed[:, None, None, :]
            upper = torch.ones(seq, seq, dtype=torch.bool, device=hidden.device).triu()
            return logits.masked_fill(~(pair & upper), NEG_INF)


class ClueModel(nn.Module):
    """A Hugging Face backbone plus, for span/entities, a GlobalPointer; `forward(batch)` returns logits."""

    def __init__(
        self,
        head: HeadKind,
        backbone: nn.Module,
        pointer: GlobalPointer | None = None,
        output_order: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.head = head
        self.backbone = backbone
        self.pointer = pointer
        # A fine-tuned classifier whose labels are the task's in another order: column k = the task's label k.
        self.output_order = output_order

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
        if self.pointer is None:
            logits = self.backbone(**inputs).logits
            return logits if self.output_order is None else logits[:, self.output_order]
        hidden = self.backbone(**inputs).last_hidden_state
        return self.pointer(hidden, batch["span_mask"])


def _dropout_kwargs(resolved: str, dropout: float | None) -> dict[str, Any]:
    if dropout is None:
        return {}
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(resolved)
    names = ("hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout", "hidden_dropout")
    return {name: dropout for name in names if hasattr(config, name)}


def _quiet_weight_bars() -> None:
    # transformers draws a bar for loading/saving shards; ours already shows progress. Hub download bars stay.
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def build_model(task: Task, model_path: str, cfg: RunConfig, trained: bool = False) -> ClueModel:
    """The task's model on top of `model_path` (a short name, hub id or folder).

    With `trained`, `model_path` is a fine-tuned checkpoint (a run's `best/`, a folder, a hub id): a classifier
    keeps its own labels, matched to the task's by name (a mismatch is an error); a GlobalPointer head is loaded
    from the folder.
    """
    from transformers import AutoModel, AutoModelForMultipleChoice, AutoModelForSequenceClassification

    _quiet_weight_bars()

    resolved = resolve_model(model_path)
    kwargs = _dropout_kwargs(resolved, cfg.train.dropout) if not trained else {}
    try:
        if task.head == "classify" and trained:
            from transformers import AutoConfig

            from clue_runner.finetuned import label_order

            # Checked on config.json first: loading weights for another label count would fail obscurely.
            order = label_order(task, AutoConfig.from_pretrained(resolved).id2label, model_path)
            backbone = AutoModelForSequenceClassification.from_pretrained(resolved)
            return ClueModel("classify", backbone, output_order=order)
        if task.head == "classify":
            id2label = dict(enumerate(task.labels))
            backbone = AutoModelForSequenceClassification.from_pretrained(
                resolved,
                num_labels=task.num_outputs,
                id2label=id2label,
                label2id={v: k for k, v in id2label.items()},
                **kwargs,
            )
            return ClueModel("classify", backbone)
        if task.head == "choice":
            return ClueModel("choice", AutoModelForMultipleChoice.from_pretrained(resolved, **kwargs))
        backbone = AutoModel.from_pretrained(resolved, add_pooling_layer=False, **kwargs)
    except OSError as exc:
        raise _hub_error(model_path, resolved, exc) from None
    config = backbone.config
    head_size = config.hidden_size // config.num_attention_heads
    pointer = GlobalPointer(config.hidden_size, task.num_outputs, head_size)
    if trained:
        from safetensors.torch import load_file

        head_file = Path(resolved) / HEAD_FILE
        if not head_file.is_file():
            raise ClueError(
                f"{resolved}: no {HEAD_FILE}; is this the best/ folder of a `clue run` of {task.name}?"
            )
        pointer.load_state_dict(load_file(str(head_file)))
    return ClueModel(task.head, backbone, pointer)


def save_model(model: ClueModel, tokenizer: PreTrainedTokenizerBase, task: Task, out_dir: Path) -> None:
    """Save backbone (+ head) and tokenizer so `from_pretrained(out_dir)` loads them; replace atomically."""
    from safetensors.torch import save_file

    tmp = out_dir.with_name(f".{out_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.backbone.save_pretrained(tmp)  # type: ignore[operator]
    tokenizer.save_pretrained(tmp)
    if model.pointer is not None:
        state = {k: v.detach().cpu().contiguous() for k, v in model.pointer.state_dict().items()}
        save_file(state, str(tmp / HEAD_FILE))
        (tmp / HEAD_CONFIG).write_text(
            json.dumps({"heads": model.pointer.heads, "head_size": model.pointer.head_size}) + "\n"
        )
    (tmp / TASK_FILE).write_text(
        json.dumps(
            {"task": task.name, "task_version": task.version, "head": task.head, "labels": list(task.labels)}
        )
        + "\n"
    )
    old = out_dir.with_name(f".{out_dir.name}.old")
    shutil.rmtree(old, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(old)
    tmp.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------------------------------- batches


def _pad(seqs: Sequence[Sequence[int]], length: int, value: int) -> torch.Tensor:
    """(len(seqs), length) long tensor, each row `seqs[i]` then `value`s. One flat copy and one masked scatter
    instead of padded Python lists: collating is ~5x cheaper, which shows in eval where the model step is short."""
    sizes = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    out = np.full((len(seqs), length), value, dtype=np.int64)
    flat = np.concatenate([np.asarray(s, dtype=np.int64) for s in seqs])  # lists or CHID's int32 arrays
    out[np.arange(length)[None, :] < sizes[:, None]] = flat
    return torch.from_numpy(out)


def padded_length(n: int, multiple: int) -> int:
    """`n` rounded up to a multiple of `multiple` (at least one multiple)."""
    return max(multiple, -(-n // multiple) * multiple)


def pad_multiple_for(device: torch.device) -> int:
    """GPU tensor cores want sequence lengths in multiples of 8; on CPU the extra tokens are pure cost (+13 % on
    TNEWS-length batches), so batches there are padded only to their longest sequence."""
    return 8 if device.type == "cuda" else 1


def collate(
    head: HeadKind, features: Features, indices: Sequence[int], pad_id: int, pad_multiple: int = 1
) -> dict[str, torch.Tensor]:
    """Pad the rows `indices` of `features` to the batch's longest sequence, rounded up to `pad_multiple`."""
    rows = [features.rows[i] for i in indices]
    labels = [features.labels[i] for i in indices]
    batch: dict[str, torch.Tensor] = {"index": torch.tensor(list(indices), dtype=torch.long)}
    if head == "choice":
        length = padded_length(max(len(c) for r in rows for c in r["input_ids"]), pad_multiple)
        choices = len(rows[0]["input_ids"])  # every row has the same number (encode pads the choices)
        for key, value in (("input_ids", pad_id), ("token_type_ids", 0), ("attention_mask", 0)):
            flat = [c for r in rows for c in r[key]]
            batch[key] = _pad(flat, length, value).view(len(rows), choices, length)
    else:
        length = padded_length(max(len(r["input_ids"]) for r in rows), pad_multiple)
        for key, value in (("input_ids", pad_id), ("token_type_ids", 0), ("attention_mask", 0)):
            batch[key] = _pad([r[key] for r in rows], length, value)
        if head in ("span", "entities"):
            batch["span_mask"] = _pad([r["span_mask"] for r in rows], length, 0)
    if all(label is None for label in labels):
        return batch
    if head in ("classify", "choice"):
        batch["labels"] = torch.tensor([-100 if y is None else int(y) for y in labels], dtype=torch.long)
    elif head == "span":
        batch["labels"] = torch.tensor([(0, 0) if y is None else tuple(y) for y in labels], dtype=torch.long)
    else:
        # Sparse (row, type, start, end) quadruples; the dense target is built on the device in `loss`.
        quads = [(b, t, s, e) for b, y in enumerate(labels) for t, s, e in (y or ()) if e < length]
        batch["labels"] = torch.tensor(quads, dtype=torch.long).reshape(-1, 4)
    return batch


def multilabel_categorical_crossentropy(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Su's multi-label CE: pushes positive scores above 0 and negatives below, without a fixed threshold.

    logits, targets: (N, K); returns the mean loss over N.
    """
    logits = (1 - 2 * targets) * logits
    neg = logits - targets * 1e12
    pos = logits - (1 - targets) * 1e12
    zeros = torch.zeros_like(logits[..., :1])
    neg_loss = torch.logsumexp(torch.cat([neg, zeros], dim=-1), dim=-1)
    pos_loss = torch.logsumexp(torch.cat([pos, zeros], dim=-1), dim=-1)
    return (neg_loss + pos_loss).mean()


def loss_fn(head: HeadKind, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The head's training loss from `forward`'s logits and the collated labels."""
    labels = batch["labels"]
    logits = logits.float()  # losses in float32 whatever the autocast dtype
    if head in ("classify", "choice"):
        return nn.functional.cross_entropy(logits, labels, ignore_index=-100)
    if head == "span":
        b, _, seq, _ = logits.shape
        flat = logits.reshape(b, seq * seq)
        return nn.functional.cross_entropy(flat, labels[:, 0] * seq + labels[:, 1])
    b, types, seq, _ = logits.shape
    target = torch.zeros_like(logits)
    if labels.numel():
        target[labels[:, 0], labels[:, 1], labels[:, 2], labels[:, 3]] = 1.0
    return multilabel_categorical_crossentropy(
        logits.reshape(b * types, seq * seq), target.reshape(b * types, -1)
    )


@torch.no_grad()
def reduce_outputs(
    head: HeadKind, logits: torch.Tensor, batch: dict[str, torch.Tensor], cfg: RunConfig
) -> list[Any]:
    """Per-feature compact outputs for `decode` (tasks/base.py), computed on the device."""
    if head in ("classify", "choice"):
        return list(logits.float().cpu().numpy().astype(np.float32))
    b, _, seq, _ = logits.shape
    if head == "span":
        scores = logits[:, 0].clone()
        scores[:, 0, :] = NEG_INF  # [CLS] is the "no answer here" label, never a prediction
        scores[:, :, 0] = NEG_INF
        max_len = int(cfg.task.get("max_answer_len") or seq)  # null: no cap beyond the window
        idx = torch.arange(seq, device=logits.device)
        too_long = (idx[None, :] - idx[:, None]) >= max_len
        scores = scores.masked_fill(too_long[None], NEG_INF)
        best, flat = scores.reshape(b, -1).max(dim=-1)
        out = []
        for score, pos in zip(best.tolist(), flat.tolist(), strict=True):
            out.append(
                (0, 0, float("-inf")) if score <= NEG_INF / 2 else (pos // seq, pos % seq, float(score))
            )
        return out
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
    b, _, seq, _ = logits.shape
    flat = logits.reshape(b, -1)
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
