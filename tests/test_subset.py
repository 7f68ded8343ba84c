"""`clue subset`: smaller copies in the official layout that the task readers and `clue check-data` accept, with
records copied verbatim (lines) or whole (questions with their contexts, C3 documents, CHID records + answers)."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clue_runner.checkdata import check_task
from clue_runner.cli import app
from clue_runner.errors import ClueError
from clue_runner.registry import get_task
from clue_runner.subset import stratified, subset_task
from clue_runner.tasks.chid import BLANK

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI's setup_logging stops `clue_runner` records propagating; undo it so later caplog tests see them."""
    log = logging.getLogger("clue_runner")
    saved = (log.propagate, list(log.handlers), log.level)
    yield
    log.propagate, log.handlers[:], _ = saved
    log.setLevel(saved[2])


FIXTURES = REPO / "tests" / "fixtures"
SIZES = {"train": 3, "dev": 2, "test": 2, "other": 1}


def lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True) if line.strip()]


def is_ordered_sublist(small: list[Any], big: list[Any]) -> bool:
    it = iter(big)
    return all(any(x == y for y in it) for x in small)


def assert_valid(task: str, folder: Path) -> None:
    report = check_task(get_task(task), folder)
    assert report.ok, [str(p) for p in report.problems]


# ---------------------------------------------------------------------------------------------- sampling


def test_stratified_keeps_label_shares() -> None:
    labels = ["a"] * 60 + ["b"] * 30 + ["c"] * 10
    random.Random(1).shuffle(labels)
    picked = stratified(labels, 10, random.Random(0))
    assert picked == sorted(picked) and len(set(picked)) == 10
    assert Counter(labels[i] for i in picked) == {"a": 6, "b": 3, "c": 1}
    # Every label present at least once when n allows, even a rare one.
    rare = ["a"] * 98 + ["b", "c"]
    assert Counter(rare[i] for i in stratified(rare, 5, random.Random(0))) == {"a": 3, "b": 1, "c": 1}
    assert len(stratified(rare, 2, random.Random(0))) == 2
    assert stratified(rare, 500, random.Random(0)) == list(range(100))


# ---------------------------------------------------------------------------------------------- layouts


def test_classification_subset_is_verbatim_stratified_and_keeps_every_test_version(tmp_path: Path) -> None:
    src = tmp_path / "tnews-full"
    src.mkdir()
    records = [{"label": code, "label_desc": "x", "sentence": f"标题{i}", "keywords": ""} for i, code in
               enumerate(["100"] * 12 + ["103"] * 6 + ["109"] * 2)]  # fmt: skip
    random.Random(3).shuffle(records)
    (src / "train.json").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )
    for name in ("dev.json", "labels.json"):
        (src / name).write_bytes((FIXTURES / "tnews" / name).read_bytes())
    for name in ("test.json", "test1.0.json"):
        (src / name).write_bytes((FIXTURES / "tnews" / name).read_bytes())
    (src / ".clue-download.json").write_text("{}")
    dst = tmp_path / "tnews"
    kept = subset_task(get_task("tnews"), src, dst, {"train": 10, "dev": 3, "test": 2}, seed=5)
    assert kept == {"train": 10, "dev": 3, "test": 2, "test1.0": 2}
    out = lines(dst / "train.json")
    assert is_ordered_sublist(out, lines(src / "train.json"))
    assert Counter(json.loads(line)["label"] for line in out) == {"100": 6, "103": 3, "109": 1}
    assert sorted(p.name for p in dst.iterdir()) == [
        "dev.json",
        "labels.json",
        "test.json",
        "test1.0.json",
        "train.json",
    ]
    assert (dst / "labels.json").read_bytes() == (src / "labels.json").read_bytes()
    for name in ("test.json", "test1.0.json"):
        assert len(lines(dst / name)) == 2 and is_ordered_sublist(lines(dst / name), lines(src / name))
    assert_valid("tnews", dst)
    # Same seed, same subset; the temp folder is gone.
    again = tmp_path / "again"
    subset_task(get_task("tnews"), src, again, {"train": 10, "dev": 3, "test": 2}, seed=5)
    assert (again / "train.json").read_bytes() == (dst / "train.json").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again", "tnews", "tnews-full"]


@pytest.mark.parametrize("task", ["afqmc", "ocnli", "cluewsc2020", "csl", "iflytek", "cmnli", "cluener"])
def test_json_lines_subsets_pass_check_data(
    task: str, task_data: Callable[[str], Path], tmp_path: Path
) -> None:
    src = task_data(task)
    dst = tmp_path / "out" / task
    kept = subset_task(get_task(task), src, dst, SIZES, seed=1)
    spec = get_task(task)
    for split, n in kept.items():
        for path in spec.split_paths(dst, split):
            assert len(lines(path)) == n
            assert is_ordered_sublist(lines(path), lines(src / path.name))
    assert_valid(task, dst)


def test_whole_file_kept_when_asking_for_more(task_data: Callable[[str], Path], tmp_path: Path) -> None:
    src = task_data("cluener")
    dst = tmp_path / "cluener"
    subset_task(get_task("cluener"), src, dst, {"train": 10_000, "dev": 10_000, "test": 10_000})
    for name in ("train.json", "dev.json", "test.json"):
        assert (dst / name).read_bytes() == (src / name).read_bytes()


def _squad_questions(path: Path) -> dict[str, tuple[str, dict[str, Any]]]:
    doc = json.loads(path.read_text(encoding="utf-8"))
    return {
        qa["id"]: (para["context"], qa)
        for art in doc["data"]
        for para in art["paragraphs"]
        for qa in para["qas"]
    }


def test_cmrc2018_keeps_whole_questions_with_their_contexts(
    task_data: Callable[[str], Path], tmp_path: Path
) -> None:
    src = task_data("cmrc2018")
    dst = tmp_path / "cmrc2018"
    kept = subset_task(get_task("cmrc2018"), src, dst, SIZES, seed=2)
    assert kept == {"train": 3, "dev": 2, "test": 2, "trial": 1}
    for name in ("train.json", "dev.json", "test.json", "trial.json"):
        full, small = _squad_questions(src / name), _squad_questions(dst / name)
        assert small and set(small) <= set(full)
        for qid, (context, qa) in small.items():
            assert (context, qa) == full[qid]
        doc = json.loads((dst / name).read_text(encoding="utf-8"))
        original = json.loads((src / name).read_text(encoding="utf-8"))
        assert doc["version"] == original["version"]
        titles = {a["id"]: a["title"] for a in original["data"]}
        assert all(a["title"] == titles[a["id"]] and a["paragraphs"] for a in doc["data"])
    assert_valid("cmrc2018", dst)


def test_c3_keeps_whole_documents_from_each_file(task_data: Callable[[str], Path], tmp_path: Path) -> None:
    src = task_data("c3")
    dst = tmp_path / "c3"
    subset_task(get_task("c3"), src, dst, {"train": 2, "dev": 2, "test": 1}, seed=0)
    for name in ("d-train.json", "m-train.json", "d-dev.json", "m-dev.json", "test1.1.json", "test1.0.json"):
        small = json.loads((dst / name).read_text(encoding="utf-8"))
        full = json.loads((src / name).read_text(encoding="utf-8"))
        assert small and is_ordered_sublist(small, full), name
    assert_valid("c3", dst)


def test_chid_keeps_records_with_exactly_their_answers(
    task_data: Callable[[str], Path], tmp_path: Path
) -> None:
    src = task_data("chid")
    dst = tmp_path / "chid"
    subset_task(get_task("chid"), src, dst, {"train": 2, "dev": 1, "test": 1}, seed=4)
    for split in ("train", "dev"):
        out = lines(dst / f"{split}.json")
        assert is_ordered_sublist(out, lines(src / f"{split}.json"))
        blanks = {b for line in out for text in json.loads(line)["content"] for b in BLANK.findall(text)}
        answers = json.loads((dst / f"{split}_answer.json").read_text())
        full = json.loads((src / f"{split}_answer.json").read_text())
        assert set(answers) == blanks and all(answers[k] == full[k] for k in answers)
    assert (dst / "test1.1.json").is_file() and (dst / "test1.0.json").is_file()
    assert_valid("chid", dst)


# ---------------------------------------------------------------------------------------------- refusals


def test_refusals_leave_the_destination_alone(task_data: Callable[[str], Path], tmp_path: Path) -> None:
    src = task_data("afqmc")
    dst = tmp_path / "afqmc"
    dst.mkdir()
    (dst / "keep.txt").write_text("mine")
    with pytest.raises(ClueError, match="not empty"):
        subset_task(get_task("afqmc"), src, dst, SIZES)
    assert [p.name for p in dst.iterdir()] == ["keep.txt"]
    # --overwrite replaces only what looks like a task folder: a user's file stops it, named in the message.
    with pytest.raises(ClueError, match=r"not overwriting .*'keep\.txt'"):
        subset_task(get_task("afqmc"), src, dst, SIZES, overwrite=True)
    assert [p.name for p in dst.iterdir()] == ["keep.txt"]
    assert (dst / "keep.txt").read_text() == "mine"
    (dst / "keep.txt").unlink()
    subset_task(get_task("afqmc"), src, dst, SIZES)

    (src / "dev.json").write_text('{"sentence1": "a", "sentence2": "b", "label": "7"}\n')
    with pytest.raises(ClueError, match=r"dev\.json:1: \(subset\) unknown label '7'"):
        subset_task(get_task("afqmc"), src, tmp_path / "other", SIZES)
    (src / "test.json").unlink()
    with pytest.raises(ClueError, match="no test file"):
        subset_task(get_task("afqmc"), src, tmp_path / "other", SIZES)
    assert not (tmp_path / "other").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afqmc", "data"]


def test_overwrite_replaces_a_previous_subset(task_data: Callable[[str], Path], tmp_path: Path) -> None:
    src = task_data("tnews")
    (src / "README.md").write_text("about the data")
    dst = tmp_path / "small"
    subset_task(get_task("tnews"), src, dst, SIZES, seed=1)
    first = (dst / "train.json").read_bytes()
    (dst / ".train.json.x1.tmp").write_text("")  # hidden temp files do not stop it
    kept = subset_task(get_task("tnews"), src, dst, {**SIZES, "train": 5}, seed=2, overwrite=True)
    assert kept["train"] == 5 and (dst / "train.json").read_bytes() != first
    assert sorted(p.name for p in dst.iterdir()) == [
        "README.md",
        "dev.json",
        "labels.json",
        "test.json",
        "test1.0.json",
        "train.json",
    ]
    assert_valid("tnews", dst)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "small"]  # no staging or old folder left


@pytest.mark.parametrize("entry", ["notes.txt", "runs/", ".git/"])
def test_overwrite_refuses_a_folder_with_other_entries(
    entry: str, task_data: Callable[[str], Path], tmp_path: Path
) -> None:
    src = task_data("tnews")
    dst = tmp_path / "small"
    subset_task(get_task("tnews"), src, dst, SIZES)
    before = {p.name: p.read_bytes() for p in dst.iterdir()}
    if entry.endswith("/"):
        (dst / entry).mkdir()
        (dst / entry / "x").write_text("mine")
    else:
        (dst / entry).write_text("mine")
    name = entry.rstrip("/")
    with pytest.raises(ClueError, match=rf"not overwriting .*'{name}'"):
        subset_task(get_task("tnews"), src, dst, {**SIZES, "train": 5}, seed=3, overwrite=True)
    assert {p.name: p.read_bytes() for p in dst.iterdir() if p.name != name} == before
    assert (dst / entry / "x" if entry.endswith("/") else dst / entry).read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "small"]


def test_destination_may_not_be_or_hold_the_source_or_cwd(
    task_data: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = task_data("tnews")
    files = sorted(p.name for p in src.iterdir())
    for dst in (src, src / ".." / "tnews", src.parent, tmp_path):
        with pytest.raises(ClueError, match="contains the --data-dir folder"):
            subset_task(get_task("tnews"), src, dst, SIZES, overwrite=True)
    assert sorted(p.name for p in src.iterdir()) == files
    work = tmp_path / "work"
    (work / "inner").mkdir(parents=True)
    monkeypatch.chdir(work / "inner")
    for dst in (Path("."), work):
        with pytest.raises(ClueError, match="contains the current directory"):
            subset_task(get_task("tnews"), src, dst, SIZES, overwrite=True)
    assert (work / "inner").is_dir()
    with pytest.raises(ClueError, match="not a folder"):
        (tmp_path / "file").write_text("x")
        subset_task(get_task("tnews"), src, tmp_path / "file", SIZES, overwrite=True)
    assert (tmp_path / "file").read_text() == "x"


# ---------------------------------------------------------------------------------------------- the CLI


def test_cli_subset_then_check_data(task_data: Callable[[str], Path], tmp_path: Path) -> None:
    src = task_data("cluewsc2020")
    dst = tmp_path / "small"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "subset",
            "cluewsc2020",
            "--data-dir",
            str(src),
            "--out",
            str(dst),
            "--train",
            "4",
            "--dev",
            "2",
            "--test",
            "1",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "train 4" in result.stdout and "test1.0 1" in result.stdout
    check = runner.invoke(app, ["check-data", "cluewsc2020", "--data-dir", str(dst), "--json"])
    assert check.exit_code == 0, check.output
    report = json.loads(check.stdout)
    assert report["splits"]["train"]["examples"] == 4 and report["splits"]["test1.0"]["examples"] == 1
    bad = runner.invoke(
        app, ["subset", "cluewsc2020", "--data-dir", str(src), "--out", str(dst), "--train", "0"]
    )
    assert bad.exit_code == 2 and "--train" in bad.output


def test_subprocess_subset(task_data: Callable[[str], Path], tmp_path: Path) -> None:
    src = task_data("tnews")
    dst = tmp_path / "tnews-small"
    cmd = [
        sys.executable,
        "-m",
        "clue_runner",
        "subset",
        "tnews",
        "-d",
        str(src),
        "-o",
        str(dst),
        "--train",
        "3",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=dict(os.environ), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert len(lines(dst / "train.json")) == 3 and (dst / "test1.0.json").is_file()
    again = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=dict(os.environ), timeout=120)
    assert again.returncode == 2 and "not empty" in again.stderr and "Traceback" not in again.stderr
    # The review's repro: --overwrite with a user's file in --out refuses, in one line naming it.
    (dst / "notes.txt").write_text("mine")
    refused = subprocess.run(
        [*cmd, "--overwrite"], capture_output=True, text=True, cwd=REPO, env=dict(os.environ), timeout=120
    )
    assert refused.returncode == 2 and "'notes.txt'" in refused.stderr and "Traceback" not in refused.stderr
    assert (dst / "notes.txt").read_text() == "mine" and (dst / "train.json").is_file()
    same = [*cmd[:-4], "-o", str(src), "--overwrite"]
    refused = subprocess.run(
        same, capture_output=True, text=True, cwd=REPO, env=dict(os.environ), timeout=120
    )
    assert refused.returncode == 2 and "--data-dir" in refused.stderr
    assert sorted(p.name for p in src.iterdir()) == sorted(p.name for p in (FIXTURES / "tnews").iterdir())


def test_task_file_with_a_data_subfolder_and_no_test_file(tmp_path: Path) -> None:
    """The bundled example keeps its files in a subfolder (`files: {train: simreg/train.tsv}`), and a task file
    need not name a test file: subset writes the subfolder, --overwrite replaces it (and refuses a stray file in
    it), and check-data reads the result."""
    runner = CliRunner()
    example = REPO / "tasks" / "examples"
    dst = tmp_path / "small"
    args = ["subset", str(example / "simreg.yaml"), "-d", str(example), "-o", str(dst), "--train", "5"]
    done = runner.invoke(app, args)
    assert done.exit_code == 0, done.output
    assert len((dst / "simreg" / "train.tsv").read_text(encoding="utf-8").splitlines()) == 5  # no header row
    check = runner.invoke(app, ["check-data", str(example / "simreg.yaml"), "--data-dir", str(dst), "--json"])
    assert check.exit_code == 0, check.output
    assert runner.invoke(app, [*args, "--overwrite"]).exit_code == 0
    (dst / "simreg" / "notes.txt").write_text("mine")
    refused = runner.invoke(app, [*args, "--overwrite"])
    assert refused.exit_code != 0 and "simreg/notes.txt" in str(refused.exception)
    assert (dst / "simreg" / "notes.txt").read_text() == "mine"

    task = tmp_path / "notest.yaml"
    text = (example / "simreg.yaml").read_text(encoding="utf-8")
    task.write_text(text.replace(", test: simreg/test.tsv}", "}").replace("name: simreg", "name: notest"))
    assert "test:" not in task.read_text(encoding="utf-8")
    done = runner.invoke(app, ["subset", str(task), "-d", str(example), "-o", str(tmp_path / "notest")])
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "notest" / "simreg").iterdir()) == ["dev.tsv", "train.tsv"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "tsv"])
def test_task_file_subsets_are_stratified_by_their_label_field(tmp_path: Path, fmt: str) -> None:
    """A task file names its label field (`label: polarity`): train and dev subsets keep every label, as the
    CLUE tasks' do, whatever the format."""
    data = tmp_path / "data"
    data.mkdir()
    labels = ["common"] * 96 + ["rare1"] * 2 + ["rare2"] * 2
    random.Random(1).shuffle(labels)
    for split in ("train", "dev"):
        rows = [(f"文本{i}", label) for i, label in enumerate(labels)]
        if fmt == "jsonl":
            text = "".join(json.dumps({"text": t, "polarity": y}, ensure_ascii=False) + "\n" for t, y in rows)
        else:
            sep = "," if fmt == "csv" else "\t"
            text = f"text{sep}polarity\n" + "".join(f"{t}{sep}{y}\n" for t, y in rows)
        (data / f"{split}.{fmt}").write_text(text, encoding="utf-8")
    task = tmp_path / "mood.yaml"
    task.write_text(
        f"name: mood\nhead: classify\nformat: {fmt}\ntext: [text]\nlabel: polarity\n"
        f"files: {{train: train.{fmt}, dev: dev.{fmt}}}\n",
        encoding="utf-8",
    )
    done = CliRunner().invoke(
        app,
        ["subset", str(task), "-d", str(data), "-o", str(tmp_path / "small"), "--train", "10", "--dev", "10"],
    )
    assert done.exit_code == 0, done.output
    for split in ("train", "dev"):
        lines_kept = (tmp_path / "small" / f"{split}.{fmt}").read_text(encoding="utf-8").splitlines()
        body = lines_kept if fmt == "jsonl" else lines_kept[1:]
        assert len(body) == 10
        assert {"rare1", "rare2"} <= {label for label in labels if any(label in line for line in body)}
