"""Scoring a checkpoint without training (`evaluate/predict --model`), per-example predictions (--log-samples),
`clue report RUN --errors`, and matching a checkpoint's labels to the task's by name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clue_runner.cli import app
from clue_runner.errors import ClueError
from clue_runner.finetuned import evaluate_checkpoint, label_order
from clue_runner.registry import get_task

FAST = ["--set", "train.max_steps=3", "--set", "train.batch_size=4", "--set", "eval.batch_size=8"]


def jsonl(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


@pytest.fixture(scope="module")
def tnews_run(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path, clue_cli: Any) -> tuple[Path, Path]:
    """One tiny tnews run with --log-samples: (run folder, data folder)."""
    import shutil

    root = tmp_path_factory.mktemp("ckpt")
    data = root / "tnews"
    shutil.copytree(Path(__file__).parent / "fixtures" / "tnews", data)
    run = root / "run"
    done = clue_cli(
        "run", "tnews", "--model", str(tiny_model), "--data-dir", str(data), "--output-dir", str(run),
        "--log-samples", "--offline", "-q", *FAST,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return run, data


def test_log_samples_one_line_per_example_agreeing_with_the_score(tnews_run: tuple[Path, Path]) -> None:
    run, data = tnews_run
    results = json.loads((run / "results.json").read_text())
    dev_records = [
        line for line in (data / "dev.json").read_text(encoding="utf-8").split("\n") if line.strip()
    ]
    lines = jsonl(run / "predictions" / "dev.jsonl")
    assert len(lines) == len(dev_records)
    assert [line["index"] for line in lines] == list(range(len(lines)))
    first = lines[0]
    assert set(first) >= {"index", "input", "gold", "prediction", "correct", "probabilities"}
    assert first["input"]["text_a"] == json.loads(dev_records[0])["sentence"]
    assert first["gold"] == json.loads(dev_records[0])["label"]
    assert sum(first["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert first["prediction"] == max(first["probabilities"], key=first["probabilities"].get)
    accuracy = 100 * sum(line["correct"] for line in lines) / len(lines)
    assert accuracy == pytest.approx(results["metrics"]["dev"]["accuracy"], abs=1e-6)
    # The test splits get lines too (no gold there).
    test = jsonl(run / "predictions" / "test.jsonl")
    assert test and "gold" not in test[0] and "prediction" in test[0]
    assert set(results["predictions"]) == {"dev", "test", "test1.0"}


def test_evaluate_model_reproduces_the_run_dev_score(
    tnews_run: tuple[Path, Path], tmp_path: Path, clue_cli: Any
) -> None:
    run, data = tnews_run
    results = json.loads((run / "results.json").read_text())
    done = clue_cli(
        "evaluate", "tnews", "--model", str(run / "best"), "--data-dir", str(data), "--json", "-q"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["accuracy"] == pytest.approx(
        results["metrics"]["dev"]["accuracy"], abs=1e-4
    )
    logged = CliRunner().invoke(
        app,
        ["evaluate", "tnews", "--model", str(run / "best"), "--data-dir", str(data), "--log-samples",
         "--output-dir", str(tmp_path / "eval"), "-q"],
    )  # fmt: skip
    assert logged.exit_code == 0, logged.output
    assert jsonl(tmp_path / "eval" / "predictions" / "dev.jsonl") == jsonl(run / "predictions" / "dev.jsonl")


def test_predict_model_writes_the_leaderboard_files(
    tnews_run: tuple[Path, Path], tmp_path: Path, clue_cli: Any
) -> None:
    run, data = tnews_run
    out = tmp_path / "pred"
    done = clue_cli(
        "predict", "tnews", "--model", str(run / "best"), "--data-dir", str(data), "-o", str(out), "-q"
    )
    assert done.returncode == 0, done.stderr
    for name in json.loads((run / "results.json").read_text())["submission_files"]:
        assert (out / name).read_bytes() == (run / "submission" / name).read_bytes()
    need_out = CliRunner().invoke(
        app, ["predict", "tnews", "--model", str(run / "best"), "-d", str(data), "-q"]
    )
    assert need_out.exit_code == 2 and "--output-dir" in need_out.output


def test_report_errors_confusion_and_worst(tnews_run: tuple[Path, Path], clue_cli: Any) -> None:
    run, _ = tnews_run
    done = clue_cli("report", str(run), "--errors", "--format", "json")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    lines = jsonl(run / "predictions" / "dev.jsonl")
    assert found["examples"] == len(lines) and found["wrong"] == sum(not x["correct"] for x in lines)
    matrix = found["confusion"]
    assert sum(map(sum, matrix["rows"])) == len(lines)
    diagonal = sum(matrix["rows"][i][i] for i in range(len(matrix["labels"])))
    assert diagonal == len(lines) - found["wrong"]
    assert len(found["worst"]) == min(10, found["wrong"]) and not any(x["correct"] for x in found["worst"])
    table = CliRunner().invoke(app, ["report", str(run), "--errors"])
    assert table.exit_code == 0 and "confusion matrix" in table.stdout and "wrong" in table.stdout


def test_checkpoint_labels_are_matched_by_name_never_relabelled(
    tnews_run: tuple[Path, Path], tmp_path: Path, clue_cli: Any
) -> None:
    task = get_task("tnews")
    labels = list(task.labels)
    assert label_order(task, dict(enumerate(labels)), "m") is None
    swapped = [labels[1], labels[0], *labels[2:]]
    assert label_order(task, dict(enumerate(swapped)), "m") == [1, 0, *range(2, len(labels))]
    with pytest.raises(ClueError, match="the checkpoint's labels \\(LABEL_0"):
        label_order(task, {i: f"LABEL_{i}" for i in range(len(labels))}, "m")
    # A real checkpoint of another task (AFQMC's labels "0"/"1") is refused with one line, exit 2.
    run, data = tnews_run
    other = tmp_path / "other"
    import shutil

    shutil.copytree(run / "best", other)
    config = json.loads((other / "config.json").read_text())
    config["id2label"] = {"0": "0", "1": "1"}
    config["label2id"] = {"0": 0, "1": 1}
    (other / "config.json").write_text(json.dumps(config))
    (other / "clue_task.json").unlink()
    done = clue_cli("evaluate", "tnews", "--model", str(other), "--data-dir", str(data), "-q")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "are not tnews's labels" in " ".join(done.stderr.split())
    # The same checkpoint with its label names in another order scores exactly as before.
    order = list(reversed(labels))
    config = json.loads((run / "best" / "config.json").read_text())
    import torch
    from safetensors.torch import load_file, save_file

    shutil.rmtree(other)
    shutil.copytree(run / "best", other)
    state = load_file(str(other / "model.safetensors"))
    for key in ("classifier.weight", "classifier.bias"):
        state[key] = torch.flip(state[key], dims=[0]).contiguous()
    save_file(state, str(other / "model.safetensors"), metadata={"format": "pt"})
    config["id2label"] = {str(i): name for i, name in enumerate(order)}
    config["label2id"] = {name: i for i, name in enumerate(order)}
    (other / "config.json").write_text(json.dumps(config))
    base = evaluate_checkpoint("tnews", str(run / "best"), data, progress=False)
    assert evaluate_checkpoint("tnews", str(other), data, progress=False) == base


def test_error_report_per_entity_type_and_worst_first() -> None:
    from clue_runner.samples import error_report

    lines = [
        {"index": 0, "input": {"text": "王强在北京"}, "gold": {"name": {"王强": [[0, 1]]}, "address": {"北京": [[3, 4]]}},
         "prediction": {"name": {"王强": [[0, 1]]}}, "correct": False},
        {"index": 1, "input": {"text": "李明"}, "gold": {"name": {"李明": [[0, 1]]}},
         "prediction": {"name": {"李明": [[0, 1]]}, "company": {"李明": [[0, 1]]}}, "correct": False},
        {"index": 2, "input": {"text": "好"}, "gold": {}, "prediction": {}, "correct": True},
    ]  # fmt: skip
    found = error_report(get_task("cluener"), lines)
    assert (found["examples"], found["wrong"]) == (3, 2) and "confusion" not in found
    assert found["types"]["address"] == {"gold": 1, "predicted": 0, "missed": 1, "spurious": 0}
    assert found["types"]["company"] == {"gold": 0, "predicted": 1, "missed": 0, "spurious": 1}
    assert found["types"]["name"]["missed"] == 0 and [x["index"] for x in found["worst"]] == [0, 1]
    classify = [
        {"index": 0, "gold": "0", "prediction": "1", "correct": False, "probabilities": {"0": 0.4, "1": 0.6}},
        {"index": 1, "gold": "1", "prediction": "0", "correct": False, "probabilities": {"0": 0.9, "1": 0.1}},
        {"index": 2, "gold": "1", "prediction": "1", "correct": True, "probabilities": {"0": 0.2, "1": 0.8}},
    ]
    found = error_report(get_task("afqmc"), classify)
    assert found["confusion"] == {"labels": ["0", "1"], "rows": [[0, 1], [1, 1]]}
    assert [x["index"] for x in found["worst"]] == [1, 0]  # the surest mistake first
    with pytest.raises(ClueError, match="no gold labels"):
        error_report(get_task("afqmc"), [{"index": 0, "prediction": "1"}])
