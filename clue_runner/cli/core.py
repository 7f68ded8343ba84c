"""Core commands: tasks, models, config, tiny-model, run, predict, evaluate."""

from __future__ import annotations
