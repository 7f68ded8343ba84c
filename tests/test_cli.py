"""The `clue` command as a user runs it: real subprocesses for the README's commands, and error behaviour."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from clue_runner import __version__
from clue_runner.cli import app
from clue_runner.registry import task_names


def clue(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "clue_runner", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=full_env,
        timeout=300,
    )


def test_version_and_help() -> None:
    done = clue("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"clue-runner {__version__}"
    runner = CliRunner()
    for command in ("run", "predict", "evaluate", "config", "tasks", "models", "tiny-model"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage" in result.output


def test_run_help_shows_every_default_and_flags_as_flags() -> None:
    """`clue run --help` as a user sees it: each value option names its default (the data and run locations
    included, which rich markup used to swallow), and on/off options take no value."""
    import typer._click as click

    from clue_runner.cli.app import command

    done = clue("run", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert (
        "[default: $CLUE_DATA_DIR/<task>, else ~/.cache/clue_runner/data/<task>; for a task file, its own folder]"
        in text
    )
    assert "[default: runs/<task>/<model>/<UTC time>-<id>]" in text
    for flag in ("--overwrite", "--offline", "--download", "--quiet"):
        assert f"{flag} " in text and f"{flag} <bool>" not in text and f"{flag} BOOL" not in text
    assert "<list[" not in text and "--set KEY=VALUE" in text and "--config FILE" in text
    run = command().commands["run"]  # type: ignore[attr-defined]
    ctx = click.Context(run, info_name="run")
    for param in run.params:
        if param.param_type_name == "option" and not param.is_flag:
            names, help_text = param.get_help_record(ctx)
            assert "default:" in help_text or "required" in help_text, names
            assert names.split()[-1].split(",")[-1] in done.stdout  # the option is in the printed help


def test_tasks_and_models_json() -> None:
    tasks = json.loads(clue("tasks", "--json").stdout)
    by_name = {t["task"]: t for t in tasks["tasks"]}
    assert list(by_name) == task_names()
    assert (
        by_name["cmrc2018"]["main_metric"] == "average" and by_name["cmrc2018"]["leaderboard_metric"] == "em"
    )
    assert by_name["tnews"]["leaderboard_files"] == {
        "test": "tnews11_predict.json",
        "test1.0": "tnews10_predict.json",
    }
    assert by_name["cmnli"]["in_clue_score"] is False and "cluener (f1 vs macro_f1)" in tasks["note"]
    models = json.loads(clue("models", "--json").stdout)["models"]
    assert models["roberta-wwm-ext"] == "hfl/chinese-roberta-wwm-ext"
    table = clue("tasks").stdout
    assert "leaderboard metric" in " ".join(table.split()) and "checkpoint" in table


def test_tasks_and_models_tables() -> None:
    done = clue("tasks")
    assert done.returncode == 0, done.stderr
    for name in task_names():
        assert name in done.stdout
    assert "tnews11_predict.json" in done.stdout
    models = clue("models")
    assert "hfl/chinese-roberta-wwm-ext" in models.stdout


def test_config_prints_merged_yaml() -> None:
    done = clue("config", "csl", "--set", "train.lr=4e-5")
    assert done.returncode == 0, done.stderr
    assert "lr: 4.0e-05" in done.stdout and "keyword_joiner" in done.stdout


def test_run_predict_evaluate_round_trip(tmp_path: Path, tiny_model: Path, task_data) -> None:
    data = task_data("tnews")
    out = tmp_path / "run"
    done = clue(
        "run",
        "tnews",
        "--model",
        str(tiny_model),
        "--data-dir",
        str(data),
        "--output-dir",
        str(out),
        "--set",
        "train.max_steps=3",
        "--offline",
        "--quiet",
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["status"] == "completed"
    assert "accuracy" in results["metrics"]["dev"]
    for key in (
        "task_version",
        "model",
        "best_step",
        "timings",
        "throughput",
        "environment",
        "submission_files",
    ):
        assert key in results
    assert set(results["submission_files"]) == {"tnews11_predict.json", "tnews10_predict.json"}
    assert (out / "config.yaml").is_file() and (out / "best" / "config.json").is_file()

    again = clue(
        "predict",
        "tnews",
        "--run",
        str(out),
        "--data-dir",
        str(data),
        "--output-dir",
        str(tmp_path / "p"),
        "--quiet",
    )
    assert again.returncode == 0, again.stderr
    for name in results["submission_files"]:
        assert (tmp_path / "p" / name).read_bytes() == (out / "submission" / name).read_bytes()

    gold = tmp_path / "gold.json"
    lines = [
        json.loads(line)
        for line in (data / "dev.json").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    gold.write_text("".join(json.dumps({"id": i, "label": r["label"]}) + "\n" for i, r in enumerate(lines)))
    scored = clue("evaluate", "tnews", str(gold), "--data-dir", str(data), "--split", "dev", "--json")
    assert scored.returncode == 0, scored.stderr
    assert json.loads(scored.stdout) == {"accuracy": 100.0}


def _assert_one_line_error(done: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stderr
    text = " ".join(done.stderr.split())
    for fragment in fragments:
        assert fragment in text, text


@pytest.mark.parametrize(
    ("defect", "where", "what"),
    [
        ("malformed", "train.json:2", "malformed JSON"),
        ("missing", "train.json:2", "missing field 'sentence'"),
        ("label", "train.json:2", "unknown label '999'"),
        ("empty", "dev.json", "file is empty"),
    ],
)
def test_bad_input_names_file_and_line_and_writes_nothing(
    tmp_path: Path, tiny_model: Path, task_data, defect: str, where: str, what: str
) -> None:
    data = task_data("tnews")
    train = data / "train.json"
    lines = train.read_text(encoding="utf-8").splitlines()
    if defect == "malformed":
        lines[1] = lines[1][:-3]
    elif defect == "missing":
        lines[1] = json.dumps({"label": "100", "label_desc": "news_story", "keywords": ""})
    elif defect == "label":
        lines[1] = json.dumps(
            {"label": "999", "label_desc": "x", "sentence": "某句", "keywords": ""}, ensure_ascii=False
        )
    train.write_text("\n".join(lines) + "\n", encoding="utf-8")
    if defect == "empty":
        (data / "dev.json").write_text("")
    out = tmp_path / "run"
    done = clue(
        "run", "tnews", "--model", str(tiny_model), "--data-dir", str(data), "--output-dir", str(out), "-q"
    )
    _assert_one_line_error(done, where, what)
    assert not out.exists()


def test_missing_prediction_ids_count_as_wrong_unless_strict(tmp_path: Path, task_data) -> None:
    """As the official scorers: a record without a prediction is wrong, with a warning; --strict refuses."""
    data = task_data("tnews")
    dev = [json.loads(line) for line in (data / "dev.json").read_text(encoding="utf-8").split("\n") if line]
    pred = tmp_path / "p.json"
    pred.write_text(json.dumps({"id": 0, "label": dev[0]["label"]}) + "\n")
    done = clue("evaluate", "tnews", str(pred), "--data-dir", str(data), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"accuracy": round(100 / len(dev), 4)}
    warning = " ".join(done.stderr.split())
    assert (
        f"{len(dev) - 1} of {len(dev)} records have no prediction" in warning and "count as wrong" in warning
    )
    strict = clue("evaluate", "tnews", str(pred), "--data-dir", str(data), "--strict")
    _assert_one_line_error(strict, "p.json", "have no prediction")


def test_refuses_non_empty_output_dir(tmp_path: Path, tiny_model: Path, task_data) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    done = clue(
        "run", "tnews", "--model", str(tiny_model), "--data-dir", str(task_data("tnews")), "-o", str(out)
    )
    _assert_one_line_error(done, "not empty", "--overwrite")
    assert (out / "keep.txt").read_text() == "mine"


def test_unknown_names_suggest(tmp_path: Path) -> None:
    _assert_one_line_error(clue("run", "tnewz"), "unknown task 'tnewz'", "did you mean 'tnews'")
    _assert_one_line_error(clue("config", "tnews", "--set", "data.maxlen=3"), "did you mean 'data.max_len'")
    _assert_one_line_error(
        clue("run", "tnews", "--model", "roberta-wwm", "--data-dir", str(tmp_path)),
        "unknown model short name 'roberta-wwm'",
        "did you mean",
    )


def test_missing_data_says_how_to_download(tmp_path: Path) -> None:
    done = clue("run", "afqmc", env={"CLUE_DATA_DIR": str(tmp_path / "nowhere")})
    _assert_one_line_error(done, "no data for afqmc", "clue download afqmc")


def test_hub_id_offline_fails_fast_with_advice(tmp_path: Path, task_data) -> None:
    done = clue(
        "run",
        "tnews",
        "--model",
        "hfl/chinese-roberta-wwm-ext",
        "--data-dir",
        str(task_data("tnews")),
        "-o",
        str(tmp_path / "r"),
        "--offline",
        env={"HF_HOME": str(tmp_path / "hf")},
    )
    _assert_one_line_error(done, "could not load model", "--model DIR")
    assert not (tmp_path / "r").exists()


def test_tiny_model_with_a_vocab_file(tmp_path: Path) -> None:
    vocab = tmp_path / "vocab.txt"
    tokens = [
        "[PAD]",
        *[f"[unused{i}]" for i in range(1, 100)],
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        "你",
        "好",
    ]
    vocab.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    done = clue("tiny-model", str(tmp_path / "m"), "--vocab", str(vocab), "--layers", "1", "--hidden", "32")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # no library chatter (transformers' "Writing model shards" bar)
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tmp_path / "m")
    assert tok.convert_ids_to_tokens(tok("你好")["input_ids"]) == ["[CLS]", "你", "好", "[SEP]"]


def test_overwrite_replaces_only_an_earlier_run(tmp_path: Path, tiny_model: Path, task_data) -> None:
    data = task_data("tnews")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    args = (
        "run",
        "tnews",
        "--model",
        str(tiny_model),
        "--data-dir",
        str(data),
        "--set",
        "train.max_steps=1",
        "-q",
    )
    # A non-empty folder that is not a run: refused even with --overwrite, and untouched.
    _assert_one_line_error(clue(*args, "-o", str(mine), "--overwrite"), "not a clue run folder")
    assert (mine / "notes.txt").read_text() == "keep me"
    # An earlier run: its artefacts are replaced, a file the user added beside them is kept.
    run = tmp_path / "run"
    assert clue(*args, "-o", str(run)).returncode == 0
    (run / "notes.txt").write_text("mine too")
    (run / "submission" / "tnews11_predict.json").write_text("stale")
    (run / "tensorboard").mkdir()  # as `--report-to tensorboard` leaves it: the new run's events alone count
    (run / "tensorboard" / "events.out.tfevents.1").write_bytes(b"old run")
    assert clue(*args, "-o", str(run), "--overwrite").returncode == 0
    assert (run / "notes.txt").read_text() == "mine too"
    assert (run / "submission" / "tnews11_predict.json").read_text() != "stale"
    assert not (run / "tensorboard").exists()


def test_overwrite_never_clears_the_data_folder(tmp_path: Path, tiny_model: Path, task_data) -> None:
    data = task_data("tnews")
    (data.parent / "results.json").write_text("{}")  # looks like a run folder, but holds the data
    done = clue("run", "tnews", "--model", str(tiny_model), "--data-dir", str(data), "-o", str(data.parent),
                "--overwrite", "-q")  # fmt: skip
    _assert_one_line_error(done, "holds the data folder")
    assert (data / "train.json").is_file()


def test_task_knobs_are_checked_before_the_run_folder(tmp_path: Path, tiny_model: Path, task_data) -> None:
    out = tmp_path / "run"
    done = clue("run", "chid", "--model", str(tiny_model), "--data-dir", str(task_data("chid")), "-o", str(out),
                "--set", "task.assignment=hungarain", "-q")  # fmt: skip
    _assert_one_line_error(done, "task.assignment")
    assert not out.exists()


def test_non_utf8_data_is_one_line(tmp_path: Path, tiny_model: Path, task_data) -> None:
    data = task_data("tnews")
    (data / "dev.json").write_bytes(b"\xff\xfe{}\n")
    out = tmp_path / "run"
    done = clue("run", "tnews", "--model", str(tiny_model), "--data-dir", str(data), "-o", str(out), "-q")
    _assert_one_line_error(done, "dev.json:1", "not UTF-8")
    assert not out.exists()
