"""The registry finds tasks by their modules: a new task is its module, its config, its card and its fixtures.

The package is copied to a temporary folder, a task module and its YAML are added to the copy, and every tool runs
on the new task from that copy in a subprocess (`run`, `predict`-style leaderboard files, `validate`, `evaluate`,
`check-data`, `subset`, `data`, `report`, `tasks`). The copy differs from the package by exactly those two files,
so no tool needed to learn the task's name.
"""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from clue_runner.registry import LEADERBOARD_TASKS, TASKS, task_names

PACKAGE = Path(__file__).parent.parent / "clue_runner"

MODULE = '''"""TOYCLF: a made-up sentiment task in JSON lines, to show what adding a task takes."""

from pathlib import Path
from typing import Any

from clue_runner.tasks import _classify as C

FILES = {"train": ("train.jsonl",), "dev": ("valid.jsonl",), "test": ("test.jsonl",)}


def texts(record: dict[str, Any], path: Path, line: int) -> tuple[str, None]:
    return C.text(record, "review", path, line), None


TASK = C.classification_task(
    name="toyclf",
    labels=("neg", "pos"),
    files=FILES,
    submissions={"test": "toyclf_predict.json"},
    texts=texts,
    description="made-up review sentiment",
)
'''

CONFIG = """train:
  epochs: 1
data:
  max_len: 32
"""


def _tree(root: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(root)): p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }


def _write_data(folder: Path) -> None:
    folder.mkdir(parents=True)
    rows = [("很好", "pos"), ("不错", "pos"), ("太差", "neg"), ("失望", "neg")] * 3
    for name, part in (("train.jsonl", rows), ("valid.jsonl", rows[:4])):
        lines = [json.dumps({"review": t, "label": y}, ensure_ascii=False) for t, y in part]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    test = [json.dumps({"id": i, "review": t}, ensure_ascii=False) for i, (t, _) in enumerate(rows[:4])]
    (folder / "test.jsonl").write_text("\n".join(test) + "\n", encoding="utf-8")


def test_the_registry_lists_the_clue_tasks_in_leaderboard_order() -> None:
    assert task_names()[:3] == ["afqmc", "tnews", "iflytek"] and len(TASKS) == 11
    assert "cmnli" in TASKS and "cmnli" not in LEADERBOARD_TASKS and len(LEADERBOARD_TASKS) == 10


@pytest.mark.slow
def test_a_new_task_needs_only_its_module_config_card_and_fixtures(tiny_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "pkg" / "clue_runner"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "tasks" / "toyclf.py").write_text(MODULE, encoding="utf-8")
    (copy / "configs" / "tasks" / "toyclf.yaml").write_text(CONFIG, encoding="utf-8")
    data = tmp_path / "data"
    _write_data(data / "toyclf")
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "pkg"), "CLUE_DATA_DIR": str(data), "COLUMNS": "200"}

    def clue(*args: str, code: int = 0) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "clue_runner", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == code, done.stdout + done.stderr
        return done.stdout + done.stderr

    where = clue("tasks")
    assert "toyclf" in where and "cluener" in where
    assert "no problems found" in clue("check-data", "toyclf")
    assert "toyclf: wrote train 2, dev 2, test 2" in clue(
        "subset", "toyclf", "-d", str(data / "toyclf"), "-o", str(tmp_path / "small"), "--train", "2",
        "--dev", "2", "--test", "2",
    )  # fmt: skip
    run = tmp_path / "run"
    clue("run", "toyclf", "--model", str(tiny_model), "-o", str(run), "--set", "train.max_steps=2", "-q")
    results = json.loads((run / "results.json").read_text(encoding="utf-8"))
    assert results["status"] == "completed" and results["submission_files"] == {"toyclf_predict.json": 4}
    assert "1 file(s) ok" in clue("validate", str(run / "submission"))
    gold = tmp_path / "gold.json"
    gold.write_text(
        "".join(json.dumps({"id": i, "label": y}) + "\n" for i, y in enumerate(["pos", "pos", "neg", "neg"])),
        encoding="utf-8",
    )
    assert json.loads(clue("evaluate", "toyclf", str(gold), "--json")) == {"accuracy": 100.0}
    listing = json.loads(clue("data", "--json", "--no-verify"))
    counts = {f["name"]: f["records"] for t in listing["tasks"] for f in t["files"]}
    assert listing["tasks"][0]["task"] == "toyclf" and counts == {
        "test.jsonl": 4,
        "train.jsonl": 12,
        "valid.jsonl": 4,
    }
    assert "toyclf" in clue("report", str(run), "--format", "csv")

    # Nothing but the module and its YAML differs from the installed package.
    ours, theirs = _tree(PACKAGE), _tree(copy)
    added = sorted(set(theirs) - set(ours))
    assert added == ["configs/tasks/toyclf.yaml", "tasks/toyclf.py"]
    changed = [n for n in ours if not filecmp.cmp(ours[n], theirs[n], shallow=False)]
    assert changed == []
