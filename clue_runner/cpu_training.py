"""Three costs of training on a CPU that torch's defaults pay and this module avoids; the maths stays the same.

**Dropout masks.** torch's CPU dropout draws every mask element from its Mersenne Twister one at a time (~15 ns an
element: 4 ms for one 32 x 22 x 384 activation), and a small BERT has 3 dropouts per layer (attention
probabilities, attention output, feed-forward output) plus the embeddings'. Here a mask comes from numpy's SFC64
generator, 64 random bits cut into two 32-bit draws, and a whole dropout costs ~0.65 ms. The distribution is
torch's: each element is kept with probability 1 - p (to within 2^-32) and kept values are scaled by 1 / (1 - p).
Each mask's generator is seeded with one number drawn from torch's default generator, so `torch.manual_seed`, the
run's seed and a checkpoint's saved RNG state decide every mask, as they do torch's own: a resumed run draws the
masks the uninterrupted one drew. Only the random stream differs from torch's.

**The word-embedding gradient.** A dense embedding gradient is a fresh vocab x hidden tensor every step (21,128 x
768 floats for BERT-base), zero-filled (page faults included), written in a few hundred rows, then freed. Here
the embedding returns its gradient row-sparse and it is added into one dense buffer that lives for the whole run;
after each optimizer step only the rows the step touched are zeroed again. The optimizer, the gradient clipping
and checkpoints see the same dense gradient as before.

**The last layer, for the [CLS] token only.** A BERT sequence-classification or multiple-choice model reads one
vector of its last layer: the [CLS] token's, through the pooler. The other tokens' rows of the last layer (their
queries, attention outputs and feed-forward) feed nothing the logits depend on, yet cost 5/6 of that layer's
matrix multiplies, forward and backward. Here the last layer computes the [CLS] row alone (its keys and values still
come from every token), which is the same loss, gradients and logits without the dead work: a 2-layer model skips
40 % of its encoder's work, a 12-layer one 7 %. This one also serves evaluation and prediction on the CPU
(`cls_only_last_layer`), where it is the only change.

All are for CPU runs (`train.cpu_speedups`, on by default): the first two and the last layer in single-process
training, the last layer alone in evaluation and prediction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

ATTENTION = "clue_cpu_dropout"  # the name registered with transformers' attention interfaces
_TWO_32 = 2**32


# --------------------------------------------------------------------------------------------------- dropout


def dropout_mask(shape: torch.Size, p: float) -> torch.Tensor:
    """A float32 tensor of `shape`: 0 with probability p, else 1 / (1 - p)."""
    count = int(np.prod(shape)) if len(shape) else 1
    seed = int(torch.empty((), dtype=torch.int64).random_())
    words = np.random.Generator(np.random.SFC64(seed)).bit_generator.random_raw((count + 1) // 2)
    keep = words.view(np.uint32)[:count] >= np.uint32(min(_TWO_32 - 1, round(p * _TWO_32)))
    return torch.from_numpy(np.multiply(keep, np.float32(1.0 / (1.0 - p)), dtype=np.float32)).view(shape)


def apply_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Training-time dropout of a CPU tensor; autograd multiplies the gradient by the same mask."""
    if p <= 0.0:
        return x
    if p >= 1.0:
        return x * 0.0
    return x * dropout_mask(x.shape, p).to(x.dtype)


class CpuDropout(nn.Dropout):
    """nn.Dropout with the cheap mask on the CPU; elsewhere (and in place) torch's own."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu" or self.inplace:
            return super().forward(x)
        return apply_dropout(x, self.p)


def _attention(
    module: nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers' SDPA attention; on the CPU with dropout (where torch's SDPA runs this same plain maths
    anyway) the probabilities are dropped with the cheap mask."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    if dropout == 0.0 or query.device.type != "cpu" or query.shape[1] != key.shape[1]:
        out, _ = sdpa_attention_forward(
            module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
        )
        return out, None
    scale = query.size(-1) ** -0.5 if scaling is None else scaling
    scores = torch.matmul(query, key.transpose(2, 3)) * scale
    if attention_mask is not None:
        if attention_mask.dtype == torch.bool:
            scores = scores.masked_fill(~attention_mask, torch.finfo(scores.dtype).min)
        else:
            scores = scores + attention_mask
    probs = apply_dropout(torch.softmax(scores, dim=-1), dropout)
    return torch.matmul(probs, value).transpose(1, 2).contiguous(), None


def _use_cheap_dropout(model: nn.Module) -> list[tuple[nn.Module, str, nn.Dropout]]:
    """Swap the model's nn.Dropout modules and its SDPA attention; returns (parent, name, original) per swap."""
    swapped = []
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Dropout:
                setattr(parent, name, CpuDropout(child.p, child.inplace))
                swapped.append((parent, name, child))
        if _attention_is(parent, "sdpa"):
            from transformers import AttentionInterface
            from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

            AttentionInterface.register(ATTENTION, _attention)
            AttentionMaskInterface.register(ATTENTION, sdpa_mask)
            parent.set_attn_implementation(ATTENTION)  # type: ignore[operator]
    return swapped


def _attention_is(module: nn.Module, implementation: str) -> bool:
    """Is `module` a transformers model whose attention runs through `implementation`?"""
    config = getattr(module, "config", None)
    return getattr(config, "_attn_implementation", None) == implementation and hasattr(
        module, "set_attn_implementation"
    )


# --------------------------------------------------------------------------------------------------- embeddings


class EmbeddingGradBuffer:
    """A word embedding's dense gradient kept for the whole run and zeroed row by row (see the module docs)."""

    def __init__(self, embedding: nn.Embedding) -> None:
        self.buffer = torch.zeros_like(embedding.weight)
        self.touched: list[torch.Tensor] = []  # the token ids of every forward since the last `rearm`
        self.rows: torch.Tensor | None = None  # those ids without repeats, once asked for
        self.embedding = embedding
        embedding.sparse = True  # backward yields the rows it touched; they are added into the dense buffer
        self.hook = embedding.register_forward_pre_hook(self._record)
        embedding.weight.grad = self.buffer

    def undo(self) -> None:
        self.hook.remove()
        self.embedding.sparse = False
        self.embedding.weight.grad = None

    def _record(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        if module.training and torch.is_grad_enabled():
            self.touched.append(args[0].reshape(-1))
            self.rows = None

    def touched_rows(self) -> torch.Tensor:
        """The rows the gradient can be non-zero in, each once (a batch repeats ids: [CLS] in every sequence, and
        a repeated row would count twice in the clipping norm)."""
        if self.rows is None:
            ids = torch.cat(self.touched) if self.touched else torch.zeros(0, dtype=torch.long)
            self.rows = torch.unique(ids)
        return self.rows

    def rearm(self) -> None:
        """After the optimizer step and `zero_grad(set_to_none=True)`: zero the touched rows and hand the buffer
        back as the gradient, so the next backward adds into it."""
        self.buffer.index_fill_(0, self.touched_rows(), 0.0)
        self.touched.clear()
        self.rows = None
        self.embedding.weight.grad = self.buffer


def _word_embedding(model: nn.Module) -> nn.Embedding | None:
    """The first `get_input_embeddings()` among the model's modules, when it is a plain nn.Embedding."""
    for module in model.modules():
        get = getattr(module, "get_input_embeddings", None)
        embedding = get() if callable(get) else None
        if embedding is not None:
            plain = type(embedding) is nn.Embedding and embedding.max_norm is None
            return embedding if plain and embedding.weight.requires_grad else None
    return None


# --------------------------------------------------------------------------------------------------- last layer

# The heads that read the last layer through BertPooler (hidden_states[:, 0]) and nothing else of it.
CLS_ONLY_MODELS = ("BertForSequenceClassification", "BertForMultipleChoice")


def _cls_only_forward(
    self: Any,
    hidden_states: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    *args: Any,
    **kwargs: Any,
) -> torch.Tensor:
    """BertLayer.forward computing the [CLS] row only (keys and values from every token); returns
    (batch, 1, hidden), which BertPooler reads as it reads the full output."""
    attention = self.attention.self
    batch, length, _ = hidden_states.shape
    heads, size = attention.num_attention_heads, attention.attention_head_size
    cls = hidden_states[:, :1]
    query = attention.query(cls).view(batch, 1, heads, size).transpose(1, 2)
    key = attention.key(hidden_states).view(batch, length, heads, size).transpose(1, 2)
    value = attention.value(hidden_states).view(batch, length, heads, size).transpose(1, 2)
    mask = attention_mask[:, :, :1, :] if attention_mask is not None else None
    dropout = attention.dropout.p if self.training else 0.0
    context, _ = _attention(attention, query, key, value, mask, dropout=dropout, scaling=attention.scaling)
    attended = self.attention.output(context.reshape(batch, 1, heads * size), cls)
    out: torch.Tensor = self.output(self.intermediate(attended), attended)
    return out


def _last_layer_for_cls(model: nn.Module) -> nn.Module | None:
    """The last BertLayer of a model whose head reads only the [CLS] row, patched to compute that row alone; None
    when there is no such layer or it is patched already."""
    backbone = next((m for m in model.modules() if type(m).__name__ in CLS_ONLY_MODELS), None)
    bert = getattr(backbone, "bert", None)
    layers = getattr(getattr(bert, "encoder", None), "layer", None)
    if not layers:
        return None
    layer = layers[-1]
    config = bert.config  # type: ignore[union-attr]
    if (
        type(layer).__name__ != "BertLayer"
        or config.is_decoder
        or getattr(layer, "chunk_size_feed_forward", 0)
        or "forward" in vars(layer)
    ):
        return None
    layer.forward = _cls_only_forward.__get__(layer)  # an instance attribute: the state dict is untouched
    return layer


@contextmanager
def cls_only_last_layer(model: nn.Module) -> Iterator[None]:
    """Within the block, the model's last layer computes the [CLS] row alone (a no-op for models whose head reads
    more, and while training's speed-ups have patched it already): evaluation and prediction on the CPU."""
    layer = _last_layer_for_cls(model)
    try:
        yield
    finally:
        if layer is not None:
            del layer.forward


# --------------------------------------------------------------------------------------------------- entry


class CpuSpeedups:
    """What `speed_up(model)` changed. The loop calls `after_zero_grad()` after every optimizer step's
    `zero_grad`, and `undo()` when training ends (the model then evaluates, saves and trains as before)."""

    def __init__(
        self,
        model: nn.Module,
        dropouts: list[tuple[nn.Module, str, nn.Dropout]],
        embeddings: list[EmbeddingGradBuffer],
        cls_layer: nn.Module | None,
    ) -> None:
        self.model = model
        self.dropouts = dropouts
        self.embeddings = embeddings
        self.cls_layer = cls_layer

    def after_zero_grad(self) -> None:
        for embedding in self.embeddings:
            embedding.rearm()

    def clip_grad_norm_(self, parameters: Iterable[nn.Parameter], max_norm: float) -> torch.Tensor:
        """torch's clip_grad_norm_ (L2, every gradient scaled by min(1, max_norm / (norm + 1e-6))), reading and
        scaling only the touched rows of a row-sparse embedding gradient: the others are zero."""
        buffers = {id(e.embedding.weight) for e in self.embeddings}
        grads = [p.grad for p in parameters if p.grad is not None and id(p) not in buffers]
        rows = [(e, e.touched_rows()) for e in self.embeddings]
        parts = [e.buffer.index_select(0, r) for e, r in rows]
        total = torch.nn.utils.get_total_norm(grads + parts)
        scale = torch.clamp(max_norm / (total + 1e-6), max=1.0)
        torch._foreach_mul_(grads, scale)
        for (embedding, r), part in zip(rows, parts, strict=True):
            embedding.buffer.index_copy_(0, r, part.mul_(scale))
        return total

    def undo(self) -> None:
        for parent, name, original in self.dropouts:
            setattr(parent, name, original)
        for module in self.model.modules():
            if _attention_is(module, ATTENTION):
                module.set_attn_implementation("sdpa")  # type: ignore[operator]
        for embedding in self.embeddings:
            embedding.undo()
        if self.cls_layer is not None:
            del self.cls_layer.forward

    def describe(self) -> str:
        return (
            f"{len(self.dropouts)} dropouts with numpy masks, "
            f"{len(self.embeddings)} row-sparse word-embedding gradient(s), "
            f"last layer {'for [CLS] only' if self.cls_layer is not None else 'whole'}"
        )


def speed_up(model: nn.Module) -> CpuSpeedups:
    """Apply the speed-ups to `model` (in place) for single-process training on the CPU."""
    dropouts = _use_cheap_dropout(model)
    embedding = _word_embedding(model)
    buffers = [EmbeddingGradBuffer(embedding)] if embedding is not None else []
    return CpuSpeedups(model, dropouts, buffers, _last_layer_for_cls(model))
