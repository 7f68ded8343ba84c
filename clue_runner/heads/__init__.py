"""One module per head kind; each holds that head's whole behaviour as five plain functions:

- `build(task, resolved, kwargs, trained) -> ClueModel`: the model on top of a checkpoint (`kwargs` go to
  `from_pretrained`; `trained` = a run's `best/` folder, whose own head weights are loaded too);
- `collate(features, indices, pad_id) -> batch`: pad the chosen feature rows into tensors, labels included;
- `loss(logits, batch) -> tensor`: the training loss from `ClueModel.forward`'s logits;
- `reduce(logits, batch, cfg) -> outputs`: one compact output per feature for the task's `decode`, computed on
  the device (tasks/base.py says what each head's outputs are);
- `oracle(features, num_outputs) -> outputs`: the outputs that put all the score on each feature's label, for
  gold round trips.

Modules import torch inside their functions, so that `clue check-data` (which needs only `oracle`) starts fast.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from clue_runner.tasks.base import HEAD_KINDS, HeadKind


def head_module(kind: HeadKind) -> ModuleType:
    """The module of head kind `kind`."""
    if kind not in HEAD_KINDS:
        raise ValueError(f"unknown head kind {kind!r}")
    return importlib.import_module(f"{__name__}.{kind}")
