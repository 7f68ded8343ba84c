"""Shared fixtures: the tiny model (built once per session, saved like a hub checkpoint) and fixture data."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


@pytest.fixture()
def assert_golden():  # type: ignore[no-untyped-def]
    """Compare output with a golden file byte for byte. To refresh one after an intended format change,
    delete it and run with CLUE_WRITE_GOLDEN=1 (a missing golden file is otherwise a failure)."""

    def check(path: Path, text: str) -> None:
        if not path.exists() and os.environ.get("CLUE_WRITE_GOLDEN"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
        assert path.exists(), f"golden file {path} missing (run with CLUE_WRITE_GOLDEN=1 to create it)"
        assert text.encode("utf-8") == path.read_bytes(), f"output differs from {path}"

    return check


def run_clue(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """`python -m clue_runner ARGS` as a user runs it (wide COLUMNS so rich never wraps a line tests look for)."""
    return subprocess.run(
        [sys.executable, "-m", "clue_runner", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "COLUMNS": "200"},
    )


@pytest.fixture(scope="session")
def clue_cli():  # type: ignore[no-untyped-def]
    """The `run_clue` helper, for tests that run the CLI in a subprocess."""
    return run_clue
