"""clue-runner: one command-line runner for the 11 CLUE tasks."""

from __future__ import annotations

__version__ = "0.1.0"
