"""The Task contract over every registered task, on its official-format fixtures, plus a CPU smoke run each.

Per task: the module, config, task card and fixtures exist and share the task's name; every split reads;
gold labels encoded and decoded back score 100 on dev; each test split renders a leaderboard file that parses
back to the same predictions; and `run_task` with the tiny model completes and writes exactly the task's
leaderboard files, one record per test record.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clue_runner import config
from clue_runner.registry import get_task, task_names
from clue_runner.roundtrip import roundtrip
from clue_runner.runner import run_task

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"


def _records(path: Path) -> int:
    """Leaderboard records: lines for JSON-lines files, keys for single-object files."""
    text = path.read_text(encoding="utf-8")
    try:
        obj = json.loads(text)
    except json.JSONDecodeError:
        return sum(1 for line in text.splitlines() if line.strip())
    return len(obj) if isinstance(obj, dict) and "id" not in obj else 1


@pytest.mark.parametrize("name", task_names())
def test_task_files_exist(name: str) -> None:
    task = get_task(name)
    assert task.name == name
    assert (ROOT / "tasks" / f"{name}.md").is_file(), "task card"
    assert (ROOT / "clue_runner" / "configs" / "tasks" / f"{name}.yaml").is_file(), "config"
    for split in task.splits:
        if split in ("train", "dev") or split in task.test_splits:
            assert task.has_split(FIXTURES / name, split), f"fixture {split}"


@pytest.mark.parametrize("name", task_names())
def test_gold_round_trip_and_render_parse(name: str, tokenizer, tmp_path: Path) -> None:
    task = get_task(name)
    cfg = config.load(name)
    dev = task.read(FIXTURES / name, "dev")
    _, metrics = roundtrip(task, dev, tokenizer, cfg)
    assert set(metrics) == set(task.metrics)
    assert metrics[task.main_metric] == pytest.approx(100.0)
    for split in task.test_splits:
        examples = task.read(FIXTURES / name, split)
        predictions = task.gold(dev)[:1] * len(examples) if task.head == "classify" else None
        if predictions is None:
            continue  # per-task tests cover the structured leaderboard files with golden files
        path = tmp_path / task.submissions[split]
        path.write_text(task.render(predictions, examples), encoding="utf-8")
        assert task.parse(path, examples) == predictions


@pytest.mark.parametrize("name", task_names())
def test_smoke_run(name: str, tiny_model: Path, task_data, tmp_path: Path) -> None:
    task = get_task(name)
    data = task_data(name)
    outcome = run_task(
        name,
        model=str(tiny_model),
        data_dir=data,
        output_dir=tmp_path / "run",
        sets=["train.max_steps=2", "train.batch_size=4", "eval.batch_size=8"],
        progress=False,
    )
    assert outcome.status == "completed"
    results = json.loads((outcome.run_dir / "results.json").read_text())
    assert results["status"] == "completed" and task.main_metric in results["metrics"]["dev"]
    expected = {task.submissions[s] for s in task.test_splits}
    assert set(results["submission_files"]) == expected
    assert {p.name for p in (outcome.run_dir / "submission").iterdir()} == expected
    for split in task.test_splits:
        name_ = task.submissions[split]
        records = _records(outcome.run_dir / "submission" / name_)
        assert records == results["submission_files"][name_]
