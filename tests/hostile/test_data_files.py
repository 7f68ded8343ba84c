"""Hostile data files: bytes that are not UTF-8, cut characters, duplicate answer keys, contradicting labels,
empty texts, and a model whose tokenizer does not cover the text."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from harness import FIXTURES, Sandbox, assert_clean_error, assert_only_changed

from clue_runner.checkdata import check_task
from clue_runner.errors import DataError
from clue_runner.registry import get_task
from clue_runner.subset import subset_task


def copy_task(sandbox: Sandbox, task: str) -> Path:
    folder = sandbox.root / "data" / task
    shutil.copytree(FIXTURES / task, folder)
    return folder


def test_non_utf8_bytes_and_a_cut_character_are_problems_with_exact_lines(sandbox: Sandbox) -> None:
    folder = copy_task(sandbox, "tnews")
    lines = (folder / "train.json").read_bytes().splitlines(keepends=True)
    big = (lines * 300)[:2000]
    big[1499] = big[1499][:20] + b"\xff\xfe" + big[1499][20:]  # line 1500, far past the first decode block
    (folder / "train.json").write_bytes(b"".join(big))
    cut = '{"label": "103", "label_desc": "news_sports", "sentence": "补时'.encode()[:-1]
    dev_lines = (folder / "dev.json").read_bytes().count(b"\n")
    (folder / "dev.json").write_bytes((folder / "dev.json").read_bytes() + cut)
    before = sandbox.files()
    done = sandbox.clue("check-data", "tnews", "--data-dir", folder)
    assert "Traceback" not in done.stderr + done.stdout and done.returncode == 1, done.stderr
    problems = [line for line in done.stderr.splitlines() if line.startswith("problem:")]
    assert f"problem: {folder / 'train.json'}:1500: not UTF-8 text: byte 0xff" in problems[0]
    assert f"{folder / 'dev.json'}:{dev_lines + 1}: not UTF-8 text" in problems[1]
    assert "a character cut at the end of the file" in problems[1]
    assert_only_changed(sandbox, before, [])


def test_run_refuses_non_utf8_data_naming_the_line(sandbox: Sandbox, tiny_model: Path) -> None:
    folder = copy_task(sandbox, "tnews")
    lines = (folder / "train.json").read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace("新".encode(), "新".encode()[:2])  # a character missing its last byte
    (folder / "train.json").write_bytes(b"".join(lines))
    before = sandbox.files()
    done = sandbox.clue(
        "run", "tnews", "--model", tiny_model, "--data-dir", folder, "-o", sandbox.root / "out"
    )
    assert_clean_error(done, 2, f"{folder / 'train.json'}:3: not UTF-8 text")
    assert_only_changed(sandbox, before, [])


def test_duplicate_key_in_chid_answers_is_refused(sandbox: Sandbox) -> None:
    folder = copy_task(sandbox, "chid")
    answers = folder / "train_answer.json"
    doc = json.loads(answers.read_text(encoding="utf-8"))
    first = next(iter(doc))
    text = answers.read_text(encoding="utf-8").rstrip().rstrip("}").rstrip()
    answers.write_text(text + f',\n    "{first}": {(doc[first] + 1) % 10}\n}}\n', encoding="utf-8")
    line = answers.read_text(encoding="utf-8").count("\n") - 1
    with pytest.raises(DataError, match=f'duplicate key "{first}"') as caught:
        get_task("chid").read(folder, "train")
    assert caught.value.line == line
    done = sandbox.clue("check-data", "chid", "--data-dir", folder)
    assert done.returncode == 1 and f"{answers}:{line}: duplicate key" in done.stderr


def test_tnews_label_contradicting_its_label_desc_is_refused(sandbox: Sandbox) -> None:
    folder = copy_task(sandbox, "tnews")
    lines = (folder / "dev.json").read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[1])
    record["label_desc"] = "news_game" if record["label"] != "116" else "news_car"
    lines[1] = json.dumps(record, ensure_ascii=False) + "\n"
    (folder / "dev.json").write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataError, match="but label_desc says") as caught:
        get_task("tnews").read(folder, "dev")
    assert caught.value.line == 2
    report = check_task(get_task("tnews"), folder)
    assert [str(p) for p in report.problems] == [f"{folder / 'dev.json'}:2: {caught.value.message}"]


@pytest.mark.parametrize(
    ("task", "file", "field", "named"),
    [("tnews", "train.json", "sentence", "sentence"), ("afqmc", "test.json", "sentence2", "sentence2")],
)
def test_empty_text_is_a_check_data_note(
    sandbox: Sandbox, task: str, file: str, field: str, named: str
) -> None:
    folder = copy_task(sandbox, task)
    lines = (folder / file).read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[0])
    record[field] = "  "
    lines[0] = json.dumps(record, ensure_ascii=False) + "\n"
    (folder / file).write_text("".join(lines), encoding="utf-8")
    report = check_task(get_task(task), folder)
    assert report.ok and not report.problems
    assert [str(n) for n in report.notes] == [f"{folder / file}:1: empty {named}: the model sees no text"]
    assert get_task(task).read(folder, "train" if file == "train.json" else "test")  # run still reads it


def test_check_data_model_without_a_fitting_tokenizer(sandbox: Sandbox, tiny_model: Path) -> None:
    model = sandbox.root / "model"
    shutil.copytree(tiny_model, model)
    for name in ("tokenizer.json", "vocab.txt", "tokenizer_config.json"):
        (model / name).unlink()
    done = sandbox.clue("check-data", "tnews", "--data-dir", FIXTURES / "tnews", "--model", model)
    assert done.returncode == 1, done.stderr
    assert "to [UNK] (at most 10% expected; vocab size 5)" in done.stderr
    assert "no problems found" not in done.stdout


def test_subset_folder_has_normal_permissions(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        subset_task(
            get_task("tnews"),
            FIXTURES / "tnews",
            tmp_path / "small",
            {"train": 3, "dev": 2, "test": 2, "other": 2},
        )
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "small").stat().st_mode) == 0o755
