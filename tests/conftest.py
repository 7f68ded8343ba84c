"""Shared fixtures: the tiny model (built once per session, saved like a hub checkpoint) and fixture data."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"

# Tests never touch the user's caches or the network.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random BERT over the generated bert-base-chinese-like vocab."""
    from clue_runner.tiny import write_tiny_model

    return write_tiny_model(tmp_path_factory.mktemp("tiny-model"), layers=2, hidden=64, heads=2, seed=0)


@pytest.fixture(scope="session")
def tokenizer(tiny_model: Path):  # type: ignore[no-untyped-def]
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture()
def task_data(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Copy tests/fixtures/<task> into a temp folder (tests may damage their copy) and return its path."""

    def copy(task: str) -> Path:
        dst = tmp_path / "data" / task
        shutil.copytree(FIXTURES / task, dst)
        return dst

    return copy


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLUE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "feature-cache"))


@pytest.fixture(autouse=True)
def _restore_clue_logger() -> Iterator[None]:
    """In-process CLI calls attach a rich handler to the `clue_runner` logger; keep tests independent of it."""
    import logging

    log = logging.getLogger("clue_runner")
    saved = (log.level, log.propagate, list(log.handlers))
    yield
    log.setLevel(saved[0])
    log.propagate = saved[1]
    log.handlers[:] = saved[2]
