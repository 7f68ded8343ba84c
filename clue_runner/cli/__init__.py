"""The `clue` command. Each command group lives in its own module and registers itself on `app`.

Heavy libraries (torch, transformers) are imported inside commands so `clue --help` stays fast.
"""

from __future__ import annotations

# Command modules register on import. Keep one import per line, in `clue --help` order.
from clue_runner.cli import (
    core,  # noqa: F401
    data_cmds,  # noqa: F401
    workflow,  # noqa: F401
)
from clue_runner.cli.app import app, main

__all__ = ["app", "main"]
