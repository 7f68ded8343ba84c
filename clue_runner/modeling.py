"""Tokenizer and model loading, the model wrapper, saving, and the loop's entry points into the heads.

Each head kind's behaviour (build, collate, loss, reduce, oracle) is its own module in `clue_runner/heads/`;
`build_model`, `collate`, `loss_fn` and `reduce_outputs` hand the work to the task's head. `reduce_outputs` turns a
batch's logits into the compact per-feature outputs `decode` expects (tasks/base.py) while they are still on the
device, so evaluation never keeps full logits (an L x L matrix per window) around.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from clue_runner.errors import ClueError
from clue_runner.heads import head_module
from clue_runner.heads._pointer import HEAD_CONFIG, HEAD_FILE, GlobalPointer
from clue_runner.registry import needs_bert_tokenizer, resolve_model

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from clue_runner.config import RunConfig
    from clue_runner.tasks.base import Features, HeadKind, Task

log = logging.getLogger("clue_runner")

TASK_FILE = "clue_task.json"


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


class ClueModel(nn.Module):
    """A Hugging Face backbone plus, for span/entities, a GlobalPointer; `forward(batch)` returns logits.

    `sigmoid` squashes the backbone's logits into (0, 1) (a regression target known to lie in [0, 1]).
    """

    def __init__(
        self,
        head: HeadKind,
        backbone: nn.Module,
        pointer: GlobalPointer | None = None,
        sigmoid: bool = False,
        output_order: list[int] | None = None,
    ) -> None:
        super().__init__()
        self.head = head
        self.backbone = backbone
        self.pointer = pointer
        self.sigmoid = sigmoid
        # A fine-tuned classifier whose labels are the task's in another order: column k = the task's label k.
        self.output_order = output_order

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        inputs = {k: batch[k] for k in ("input_ids", "attention_mask", "token_type_ids") if k in batch}
        if self.pointer is None:
            logits: torch.Tensor = self.backbone(**inputs).logits
            if self.output_order is not None:
                logits = logits[:, self.output_order]
            return logits.sigmoid() if self.sigmoid else logits
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
    """The task's model on top of `model_path` (a short name, hub id or folder), built by its head's module.

    With `trained`, `model_path` is a fine-tuned checkpoint (a run's `best/`, a folder, a hub id): a classifier
    keeps its own labels, matched to the task's by name (a mismatch is an error); a GlobalPointer head is loaded
    from the folder.
    """
    _quiet_weight_bars()
    resolved = resolve_model(model_path)
    kwargs = _dropout_kwargs(resolved, cfg.train.dropout) if not trained else {}
    try:
        model: ClueModel = head_module(task.head).build(task, resolved, kwargs, trained)
    except OSError as exc:
        raise _hub_error(model_path, resolved, exc) from None
    return model


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
# What the loop calls; each head's module does the work (clue_runner/heads/<kind>.py).


def pad_multiple_for(device: torch.device) -> int:
    """GPU tensor cores want sequence lengths in multiples of 8; on CPU the extra tokens are pure cost (+13 % on
    TNEWS-length batches), so batches there are padded only to their longest sequence."""
    return 8 if device.type == "cuda" else 1


def collate(
    head: HeadKind, features: Features, indices: Sequence[int], pad_id: int, pad_multiple: int = 1
) -> dict[str, torch.Tensor]:
    """Pad the rows `indices` of `features` into a batch (labels included where the rows have any), each
    sequence to the batch's longest rounded up to `pad_multiple`."""
    batch: dict[str, torch.Tensor] = head_module(head).collate(features, indices, pad_id, pad_multiple)
    return batch


def loss_fn(head: HeadKind, logits: torch.Tensor, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The head's training loss (in float32) from `forward`'s logits and the collated labels."""
    loss: torch.Tensor = head_module(head).loss(logits, batch)
    return loss


@torch.no_grad()
def reduce_outputs(
    head: HeadKind, logits: torch.Tensor, batch: dict[str, torch.Tensor], cfg: RunConfig
) -> list[Any]:
    """Per-feature compact outputs for `decode` (tasks/base.py), computed on the device."""
    outputs: list[Any] = head_module(head).reduce(logits, batch, cfg)
    return outputs
