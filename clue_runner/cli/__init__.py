"""The `clue` command. Each command group lives in its own module and registers itself on `app`.

Heavy libraries (torch, transformers) are imported inside commands so `clue --help` stays fast.
"""

from __future__ import annotations

from clue_runner.cli.app import app, main

# Command modules register on import. Keep one import per line, in `clue --help` order.
from clue_runner.cli import core  # noqa: E402,F401

__all__ = ["app", "main"]
