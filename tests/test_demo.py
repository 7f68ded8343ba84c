"""`make demo`: the Makefile's own sweep command over the bundled data of all 11 tasks (with a step cap), then the
report, the leaderboard zip and its validation, as the demo runs them."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _demo_sweep(model: Path, runs: Path) -> list[str]:
    """The `DEMO_SWEEP` command of the Makefile, for this interpreter, with the test's model and output folder."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8").replace("\\\n", " ")
    match = re.search(r"^DEMO_SWEEP := (.+)$", makefile, re.MULTILINE)
    assert match, "Makefile has no DEMO_SWEEP"
    words = shlex.split(match.group(1))
    assert words[0] == "$(BIN)/clue"
    args = [w.replace("$(DEMO_RUNS)", str(runs)) for w in words[1:]]
    args[args.index("--model") + 1] = str(model)
    return [sys.executable, "-m", "clue_runner", *args]


def _clue(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clue_runner", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip


def test_demo_sweep_covers_all_tasks_and_its_zip_validates(tmp_path: Path, tiny_model: Path) -> None:
    runs = tmp_path / "runs"
    cap = [
        "--set",
        "train.max_steps=1",
        "--set",
        "train.eval_every=null",
        "--set",
        "data.max_eval=16",
        "--quiet",
    ]
    done = subprocess.run(
        _demo_sweep(tiny_model, runs) + cap, capture_output=True, text=True, cwd=ROOT, timeout=900,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    bench = json.loads((runs / "bench" / "bench.json").read_text())
    cells = {c["task"]: c for c in bench["cells"]}
    assert len(cells) == 11 and all(c["status"] == "completed" for c in cells.values()), cells

    report = _clue("report", str(runs / "bench"), "--format", "json")
    assert report.returncode == 0, report.stderr
    summary = json.loads(report.stdout)
    assert summary["complete"] is True and isinstance(summary["clue_score"], float)

    zip_path = runs / "submit.zip"
    submit = _clue("submit", str(runs / "bench"), "--output", str(zip_path))
    assert submit.returncode == 0, submit.stdout + submit.stderr
    with zipfile.ZipFile(zip_path) as archive:
        names = sorted(archive.namelist())
    assert len(names) == 15 and all("/" not in n for n in names)  # 11 tasks, 4 with two test versions
    assert {
        "tnews11_predict.json",
        "c310_predict.json",
        "chid11_predict.json",
        "cluener_predict.json",
    } <= set(names)
    checked = _clue("validate", str(zip_path), "--data-root", str(ROOT / "demo" / "data"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "15 file(s) ok" in checked.stdout


def _generator():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_demo_data", ROOT / "scripts" / "make_demo_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_generator_writes_the_span_choice_and_ner_tasks_in_their_official_layout(tmp_path: Path) -> None:
    """CMRC2018, C3, CHID and CLUENER2020 (the classification tasks are covered in test_classify_tasks): every
    split reads back through the task's own reader, labels vary, and the same seed gives the same bytes."""
    from clue_runner.registry import get_task

    demo = _generator()
    for name in ("cmrc2018", "c3", "chid", "cluener"):
        task = get_task(name)
        folder = demo.make_task(name, tmp_path / "a" / name, 30, 12, 8, seed=1)
        for split in task.splits:
            examples = task.read(folder, split)
            assert examples, (name, split)
        gold = task.gold(task.read(folder, "dev"))
        assert len({json.dumps(g, sort_keys=True, ensure_ascii=False) for g in gold}) > 1, name
        again = demo.make_task(name, tmp_path / "b" / name, 30, 12, 8, seed=1)
        for path in folder.iterdir():
            assert path.read_bytes() == (again / path.name).read_bytes(), path
