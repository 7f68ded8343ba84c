"""GlobalPointer (Su et al., 2021), the head of the `span` and `entities` kinds, and how it is built and loaded."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from clue_runner.errors import ClueError

if TYPE_CHECKING:
    from clue_runner.modeling import ClueModel
    from clue_runner.tasks.base import Task

HEAD_FILE = "clue_head.safetensors"
HEAD_CONFIG = "clue_head.json"
NEG_INF = -1e12  # logits are scored in float32, so this never overflows even under bf16 autocast


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


def build(task: Task, resolved: str, kwargs: dict[str, Any], trained: bool) -> ClueModel:
    """The bare encoder plus a GlobalPointer with one head per `task.num_outputs`; with `trained`, the pointer's
    weights come from the folder's HEAD_FILE."""
    from transformers import AutoModel

    from clue_runner.modeling import ClueModel

    backbone = AutoModel.from_pretrained(resolved, add_pooling_layer=False, **kwargs)
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
