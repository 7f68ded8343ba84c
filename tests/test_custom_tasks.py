"""User tasks described only by YAML (tasks/custom.md): the Task contract over them (read -> encode -> decode ->
score -> render, golden files), the regress head, learning on invented data, and every bad task file as the CLI
sees it: one line naming the file (and line), exit 2, no run folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from clue_runner import config
from clue_runner.errors import ClueError
from clue_runner.metrics import macro_f1, mse, pearson, spearman
from clue_runner.modeling import collate, loss_fn, reduce_outputs
from clue_runner.registry import resolve_task, task_files
from clue_runner.roundtrip import roundtrip
from clue_runner.runner import evaluate_file, run_task

CUSTOM = Path(__file__).parent / "fixtures" / "custom"
GOLDEN = Path(__file__).parent / "golden" / "custom"
TASKS = ("simreg", "sentiment", "pairs")


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(CUSTOM, tmp_path / "custom")
    return tmp_path / "custom"


@pytest.mark.parametrize("name", TASKS)
def test_contract_read_encode_decode_score_render(
    name: str, tokenizer: Any, tmp_path: Path, assert_golden: Any
) -> None:
    task, folder = resolve_task(str(CUSTOM / f"{name}.yaml"))
    assert folder == CUSTOM and task.name == name and task.source.endswith(f"{name}.yaml")
    cfg = config.load(name)
    dev = task.read(CUSTOM, "dev")
    _, metrics = roundtrip(task, dev, tokenizer, cfg)
    assert set(metrics) == set(task.metrics)
    assert metrics[task.main_metric] == pytest.approx(100.0)
    test = task.read(CUSTOM, "test")
    gold = task.gold(dev)
    predictions = [gold[i % len(gold)] for i in range(len(test))]
    text = task.render(predictions, test)
    assert_golden(GOLDEN / task.submissions["test"], text)
    path = tmp_path / task.submissions["test"]
    path.write_text(text, encoding="utf-8")
    assert task.parse(path, test) == predictions


def test_task_shapes() -> None:
    simreg = resolve_task(str(CUSTOM / "simreg.yaml"))[0]
    assert simreg.head == "regress" and simreg.sigmoid and simreg.num_outputs == 1 and not simreg.minimize
    assert simreg.metrics == ("pearson", "spearman", "mse") and simreg.labels == ()
    sentiment = resolve_task(str(CUSTOM / "sentiment.yaml"))[0]
    assert sentiment.labels == ("neg", "pos") and sentiment.main_metric == "macro_f1"  # sorted, from train
    pairs = resolve_task(str(CUSTOM / "pairs.yaml"))[0]
    assert pairs.labels == ("same", "different") and pairs.main_metric == "accuracy"
    assert pairs.read(CUSTOM, "train")[1].text_a.count(",") == 1  # a quoted CSV field keeps its comma
    assert [t.name for t in task_files(CUSTOM)] == ["pairs", "sentiment", "simreg"]


def test_include_skips_a_config_file_beside_the_task_files(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A `--config` file kept beside the task files is not a task file: skipped with a warning; a task file with
    an error is still one error naming its line."""
    folder = _copy(tmp_path)
    (folder / "quick.yaml").write_text("train:\n  lr: 1.0e-3\n", encoding="utf-8")
    with caplog.at_level("WARNING", logger="clue_runner"):
        assert [t.name for t in task_files(folder)] == ["pairs", "sentiment", "simreg"]
    assert "quick.yaml: no 'head' key, so not a task file; skipped" in caplog.text
    (folder / "broken.yaml").write_text(
        "name: broken\nhead: regres\nformat: jsonl\nlabel: y\ntext: [x]\n", encoding="utf-8"
    )
    with pytest.raises(ClueError, match=r"broken\.yaml:2: unknown head 'regres'"):
        task_files(folder)


def test_an_mse_is_printed_with_significant_digits(tmp_path: Path) -> None:
    """An mse on targets in [0, 1] is small: printed as 0.0042, not 0.00, in runs, evaluate and report."""
    from clue_runner import report
    from clue_runner.metrics import shown

    assert (shown("mse", 0.0042137), shown("pearson", 93.456), shown("accuracy", 50.0, decimals=3)) == (
        "0.004214",
        "93.46",
        "50.000",
    )
    for seed, error in ((1, 0.0042), (2, 0.0062)):
        run = tmp_path / f"seed{seed}"
        run.mkdir()
        results = {"task": "simreg", "seed": seed, "status": "completed", "main_metric": "mse",
                   "model": {"name": "m"}, "config": {"seed": seed}, "metrics": {"dev": {"mse": error, "pearson": 90.0}}}  # fmt: skip
        (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    header, body = report.rows(report.summarize(report.find_runs([tmp_path])))
    assert body[0][header.index("mean")] == "0.0052" and body[0][header.index("std")] == "0.0014"


def test_metrics() -> None:
    assert pearson([1, 2, 3], [2, 4, 6.5]) > 99 and spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-100)
    assert pearson([1, 1, 1], [1, 2, 3]) == 0.0  # a flat prediction correlates with nothing
    assert mse([1.0, 3.0], [2.0, 1.0]) == pytest.approx(2.5)
    assert macro_f1(["a", "a", "b"], ["a", "b", "b"], ["a", "b"]) == pytest.approx(100 * (2 / 3 + 2 / 3) / 2)


def test_regress_head_collate_loss_reduce() -> None:
    from clue_runner.tasks.base import Features

    rows = [{"input_ids": [1, 2, 3], "token_type_ids": [0] * 3, "attention_mask": [1] * 3}] * 2
    batch = collate("regress", Features(rows, [0.25, 1.0], [0, 1]), [0, 1], pad_id=0)
    assert batch["labels"].dtype == torch.float32 and batch["input_ids"].shape == (2, 3)
    on_gpu = collate("regress", Features(rows, [0.25, 1.0], [0, 1]), [0, 1], pad_id=0, pad_multiple=8)
    assert on_gpu["input_ids"].shape == (2, 8)
    logits = torch.tensor([[0.25], [0.0]])
    assert loss_fn("regress", logits, batch).item() == pytest.approx(0.5)
    assert collate("regress", Features(rows, [None, None], [0, 1]), [0, 1], pad_id=0).keys() >= {"input_ids"}
    out = reduce_outputs("regress", logits, batch, config.load("tnews"))
    assert [float(o[0]) for o in out] == [0.25, 0.0]


def test_mse_picks_the_lowest_checkpoint() -> None:
    task = resolve_task(str(CUSTOM / "simreg.yaml"))[0]
    from dataclasses import replace

    lowest = replace(task, main_metric="mse", metrics=("mse", "pearson", "spearman"), minimize=True)
    assert lowest.better(0.1, 0.2) and not lowest.better(0.3, 0.2) and lowest.better(5.0, None)
    assert task.better(0.3, 0.2)


SETS = [
    "train.lr=1e-3",
    "train.batch_size=16",
    "train.max_steps=120",
    "train.eval_every=120",
    "data.max_len=32",
    "eval.batch_size=64",
]


@pytest.mark.parametrize(
    ("name", "metric", "floor"), [("simreg", "pearson", 50.0), ("sentiment", "accuracy", 80.0)]
)
def test_the_tiny_model_learns(
    name: str, metric: str, floor: float, tiny_model: Path, tmp_path: Path
) -> None:
    """The bundled examples (tasks/examples, scripts/make_custom_examples.py) are learnable in 120 steps."""
    examples = Path(__file__).parent.parent / "tasks" / "examples"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        outcome = run_task(
            str(examples / f"{name}.yaml"),
            model=str(tiny_model),
            output_dir=tmp_path / "run",
            sets=[*SETS, "data.max_eval=120"],
            progress=False,
        )
    finally:
        torch.set_num_threads(threads)  # later tests compare in-process runs with subprocesses
    assert outcome.status == "completed"
    results = outcome.results
    assert results["metrics"]["dev"][metric] > floor, results["metrics"]["dev"]
    lines = (
        (outcome.run_dir / "submission" / f"{name}_predict.jsonl").read_text(encoding="utf-8").splitlines()
    )
    records = [json.loads(line) for line in lines]
    assert [r["id"] for r in records] == list(range(40))
    kind = float if name == "simreg" else str
    assert all(isinstance(r["label"], kind) for r in records)
    assert results["task"] == name and results["task_file"].endswith(f"{name}.yaml")


def test_evaluate_a_prediction_file(tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    dev = resolve_task(str(CUSTOM / "simreg.yaml"))[0].read(CUSTOM, "dev")
    gold.write_text("".join(json.dumps({"id": ex.index, "label": ex.label}) + "\n" for ex in dev))
    metrics = evaluate_file(str(CUSTOM / "simreg.yaml"), gold, split="dev")
    assert metrics["pearson"] == pytest.approx(100.0) and metrics["mse"] == pytest.approx(0.0)


def test_evaluate_refuses_a_regression_file_with_missing_records(tmp_path: Path, clue_cli: Any) -> None:
    """A regression target has no "wrong" value to count a missing prediction as: one clear error, without a
    warning before it that they count as wrong."""
    pred = tmp_path / "pred.jsonl"
    dev = resolve_task(str(CUSTOM / "simreg.yaml"))[0].read(CUSTOM, "dev")
    pred.write_text("".join(json.dumps({"id": ex.index, "label": ex.label}) + "\n" for ex in dev[1:]))
    done = clue_cli(
        "evaluate", str(CUSTOM / "simreg.yaml"), str(pred), "--data-dir", str(CUSTOM), "--split", "dev"
    )
    assert done.returncode == 2
    assert f"1 of {len(dev)} records have no prediction" in " ".join(done.stderr.split())
    assert "count as wrong" not in done.stderr and "WARNING" not in done.stderr


# ------------------------------------------------------------------------------------------------ bad task files

GOOD = (CUSTOM / "simreg.yaml").read_text(encoding="utf-8")


def _edit_yaml(old: str, new: str) -> Any:
    def edit(folder: Path) -> Path:
        path = folder / "simreg.yaml"
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")
        return path

    return edit


def _edit_data(name: str, line: int, text: str, task: str = "simreg") -> Any:
    def edit(folder: Path) -> Path:
        path = folder / task / name
        lines = path.read_text(encoding="utf-8").split("\n")
        lines[line - 1] = text
        path.write_text("\n".join(lines), encoding="utf-8")
        return folder / f"{task}.yaml"

    return edit


def _edit_bytes(name: str, line: int, prefix: bytes, task: str = "simreg") -> Any:
    def edit(folder: Path) -> Path:
        path = folder / task / name
        lines = path.read_bytes().split(b"\n")
        lines[line - 1] = prefix + lines[line - 1]
        path.write_bytes(b"\n".join(lines))
        return folder / f"{task}.yaml"

    return edit


BAD = {
    "unknown key": (
        _edit_yaml("head: regress", "haed: regress"),
        r"simreg.yaml:3: unknown config key 'haed' \(did you mean 'head'\?\)",
    ),
    "unknown head": (
        _edit_yaml("head: regress", "head: regresion"),
        r"simreg.yaml:3: unknown head 'regresion' \(did you mean 'regress'\?\)",
    ),
    "unknown metric": (
        _edit_yaml("metric: pearson", "metric: pearsonr"),
        r"simreg.yaml:9: unknown metric 'pearsonr'",
    ),
    "metric of the other head": (
        _edit_yaml("metric: pearson", "metric: accuracy"),
        r"simreg.yaml:9: unknown metric 'accuracy'.*pearson \| spearman \| mse",
    ),
    "missing column": (
        _edit_yaml("text: [sentence1, sentence2]", "text: [sentence1, sentence3]"),
        r"simreg.yaml:6: column 'sentence3' is not among columns",
    ),
    "wrong type": (_edit_yaml("sigmoid: true", "sigmoid: [1]"), r"simreg.yaml:8: sigmoid must be a bool"),
    "text left empty": (
        _edit_yaml("text: [sentence1, sentence2]", "text:"),
        r"simreg.yaml:6: missing 'text'",
    ),
    "duplicate key": (
        _edit_yaml("metric: pearson", "metric: pearson\nmetric: mse"),
        r"simreg.yaml:10: duplicate key 'metric'",
    ),
    "labels on a regression": (
        _edit_yaml("metric: pearson", "metric: pearson\nlabels: [a, b]"),
        r"simreg.yaml:10: labels are for classify tasks",
    ),
    "short row": (_edit_data("train.tsv", 3, "只有一列"), r"simreg/train.tsv:3: 1 columns, expected 3"),
    "non-numeric target": (
        _edit_data("dev.tsv", 2, "甲\t乙\tabc"),
        r"simreg/dev.tsv:2: 'score' must be a number, got 'abc'",
    ),
    "bad byte deep in a TSV": (  # reported at its own line, not where a text-mode read had decoded up to
        _edit_bytes("train.tsv", 11, b"\xff"),
        r"simreg/train.tsv:11: not UTF-8 text: byte 0xff",
    ),
    "label outside labels": (
        _edit_data("dev.csv", 3, "好,坏,similar", task="pairs"),
        r"pairs/dev.csv:3: unknown label 'similar' \(expected one of same, different\)",
    ),
    "missing field": (
        _edit_data("train.jsonl", 2, '{"text": "好"}', task="sentiment"),
        r"sentiment/train.jsonl:2: missing field 'polarity'",
    ),
    "invalid YAML": (
        _edit_yaml("head: regress", "head: [regress"),
        r"simreg.yaml:4: invalid YAML: expected ',' or '\]'",
    ),
    "not a task file": (lambda folder: folder / "absent.yaml", r"task file not found: .*absent.yaml"),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_task_file_is_one_line_exit_2_and_no_run_folder(
    case: str, tiny_model: Path, tmp_path: Path
) -> None:
    import re

    edit, pattern = BAD[case]
    task_file = edit(_copy(tmp_path))
    work = tmp_path / "work"
    work.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "clue_runner", "run", str(task_file), "--model", str(tiny_model), "-q"],
        capture_output=True,
        text=True,
        cwd=work,
        env={**os.environ, "COLUMNS": "300"},
        timeout=300,
    )
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert re.search(pattern, lines[0]), lines[0]
    assert list(work.iterdir()) == []  # no runs/ folder, nothing else


def test_bench_runs_a_task_file(tiny_model: Path, tmp_path: Path) -> None:
    from clue_runner import bench

    tasks = bench.parse_tasks(f"tnews,{CUSTOM / 'sentiment.yaml'}")
    assert tasks == ["tnews", str(CUSTOM / "sentiment.yaml")]
    cells = bench.run_bench(
        tasks[1:],
        str(tiny_model),
        [1],
        tmp_path / "sweep",
        data_root=tmp_path / "elsewhere",  # a task file's data stays in its own folder
        sets=["train.max_steps=2", "train.batch_size=4", "data.max_len=32"],
        progress=False,
    )
    assert [(c.task, c.status, c.metric) for c in cells] == [("sentiment", "completed", "macro_f1")]
    assert (tmp_path / "sweep" / "sentiment" / "seed1" / "submission" / "sentiment_predict.jsonl").is_file()
