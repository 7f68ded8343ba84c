"""`clue validate` and `clue submit` on good and broken leaderboard files, against the fixture test sets."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clue_runner.cli import app
from clue_runner.registry import get_task
from clue_runner.submission import leaderboard_names, validate, write_zip
from clue_runner.tasks.base import Note

FIXTURES = Path(__file__).parent / "fixtures"
# Both shapes (JSON lines / one object), tasks with two test versions, every head kind.
TASKS = ("tnews", "afqmc", "cmrc2018", "cluener", "chid", "c3")


def dummy_prediction(task: str, index: int) -> Any:
    """A valid prediction of the right type for one test example."""
    spec = get_task(task)
    if spec.head == "classify":
        return spec.labels[index % len(spec.labels)]
    if task == "cmrc2018":
        return "古井"
    if task == "cluener":
        return {}
    if task == "chid":
        return index % 10  # consecutive blanks of one fixture record get distinct candidates
    if task == "c3":
        return "0"
    raise AssertionError(task)


def render_files(task: str, data_dir: Path, out: Path, shift: int = 0) -> list[str]:
    """Write every test version's leaderboard file for `task` with dummy predictions; returns the names."""
    spec = get_task(task)
    names = []
    for split, name in spec.submissions.items():
        if not spec.has_split(data_dir, split):
            continue
        examples = spec.read(data_dir, split)
        preds = [dummy_prediction(task, i + shift) for i in range(len(examples))]
        out.mkdir(parents=True, exist_ok=True)
        (out / name).write_text(spec.render(preds, examples), encoding="utf-8")
        names.append(name)
    return names


@pytest.fixture()
def data_root(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for task in TASKS:
        shutil.copytree(FIXTURES / task, root / task)
    return root


@pytest.fixture()
def good(tmp_path: Path, data_root: Path) -> Path:
    folder = tmp_path / "good"
    for task in TASKS:
        render_files(task, data_root / task, folder)
    return folder


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_lines(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def test_names_follow_the_spec() -> None:
    names = leaderboard_names()
    assert names["tnews11_predict.json"] == ("tnews", "test")
    assert names["tnews10_predict.json"] == ("tnews", "test1.0")
    assert names["ocnli_50k_predict.json"] == ("ocnli", "test")
    assert names["cluewsc11_predict.json"] == ("cluewsc2020", "test")
    assert names["cmrc2018_predict.json"] == ("cmrc2018", "test")


def test_good_folder_zip_and_single_file(good: Path, data_root: Path, tmp_path: Path) -> None:
    expected = {
        "tnews11_predict.json",
        "tnews10_predict.json",
        "afqmc_predict.json",
        "cmrc2018_predict.json",
        "cluener_predict.json",
        "chid11_predict.json",
        "chid10_predict.json",
        "c311_predict.json",
        "c310_predict.json",
    }
    assert {p.name for p in good.iterdir()} == expected
    result = validate(good, data_root)
    assert result.ok, result.all_problems()
    assert {f.name: f.records for f in result.files}["tnews10_predict.json"] == 5
    archive = write_zip({p.name: p for p in good.iterdir()}, tmp_path / "out" / "submit.zip")
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == sorted(expected)  # flat: names only, no folder
        assert zf.read("afqmc_predict.json") == (good / "afqmc_predict.json").read_bytes()
    assert (
        stat.S_IMODE(archive.stat().st_mode) & 0o044
    )  # readable beyond the owner, unlike a bare mkstemp file
    assert [p.name for p in archive.parent.iterdir()] == ["submit.zip"]  # no temp file left behind
    zipped = validate(archive, data_root)
    assert zipped.ok, zipped.all_problems()
    single = validate(good / "cmrc2018_predict.json", data_root)
    assert single.ok and single.files[0].records == 3


def _rename(old: str, new: str) -> Callable[[Path], object]:
    return lambda folder: (folder / old).rename(folder / new)


def _drop_last(name: str) -> Callable[[Path], None]:
    return lambda folder: write_lines(folder / name, lines_of(folder / name)[:-1])


def _duplicate(folder: Path) -> None:
    records = lines_of(folder / "afqmc_predict.json")
    write_lines(folder / "afqmc_predict.json", [*records, records[0]])


def _extra(folder: Path) -> None:
    records = lines_of(folder / "afqmc_predict.json")
    write_lines(folder / "afqmc_predict.json", [*records, {"id": 99, "label": "0"}])


def _label(value: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        records = lines_of(folder / "tnews11_predict.json")
        records[2]["label"] = value
        write_lines(folder / "tnews11_predict.json", records)

    return mutate


def _array(folder: Path) -> None:
    records = lines_of(folder / "afqmc_predict.json")
    (folder / "afqmc_predict.json").write_text(json.dumps([r["label"] for r in records]), encoding="utf-8")


def _cmrc_as_lines(folder: Path) -> None:
    doc = json.loads((folder / "cmrc2018_predict.json").read_text(encoding="utf-8"))
    write_lines(folder / "cmrc2018_predict.json", [{"id": k, "answer": v} for k, v in doc.items()])


def _cmrc_edit(text: Callable[[dict[str, str]], str]) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        doc = json.loads((folder / "cmrc2018_predict.json").read_text(encoding="utf-8"))
        (folder / "cmrc2018_predict.json").write_text(text(doc), encoding="utf-8")

    return mutate


def _dup_key(doc: dict[str, str]) -> str:
    first = next(iter(doc))
    return json.dumps(doc, ensure_ascii=False)[:-1] + f', "{first}": "又一个"}}'


def _gbk(folder: Path) -> None:
    (folder / "cluener_predict.json").write_bytes(
        '{"id": 0, "label": {"name": {"王小明": [[0, 2]]}}}'.encode("gbk")
    )


def _chid_edit(blank: str, value: object) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        doc = json.loads((folder / "chid11_predict.json").read_text(encoding="utf-8"))
        doc[blank] = value
        (folder / "chid11_predict.json").write_text(json.dumps(doc), encoding="utf-8")

    return mutate


def _c3_label(index: int, label: str) -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        records = lines_of(folder / "c311_predict.json")
        records[index]["label"] = label
        write_lines(folder / "c311_predict.json", records)

    return mutate


BROKEN: dict[str, tuple[Callable[[Path], object], str, str]] = {
    "wrong name": (
        _rename("afqmc_predict.json", "afqmc_predicts.json"),
        "afqmc_predicts.json",
        "did you mean",
    ),
    "old name": (
        _rename("tnews11_predict.json", "tnews_predict.json"),
        "tnews_predict.json",
        "2021 test-set update",
    ),
    "missing records": (_drop_last("tnews10_predict.json"), "tnews10_predict.json", "have no prediction"),
    "duplicate ids": (_duplicate, "afqmc_predict.json", "duplicate id"),
    "extra record": (_extra, "afqmc_predict.json", "6 records, expected 5"),
    "unknown label": (_label("105"), "tnews11_predict.json", "unknown label '105'"),
    "class index as label": (_label("3"), "tnews11_predict.json", "unknown label '3'"),
    "json array": (_array, "afqmc_predict.json", "JSON array"),
    "object task as lines": (_cmrc_as_lines, "cmrc2018_predict.json", "got JSON lines"),
    "duplicate keys": (_cmrc_edit(_dup_key), "cmrc2018_predict.json", "duplicate keys"),
    "unknown key": (
        _cmrc_edit(lambda d: json.dumps({**d, "TEST_9_QUERY_9": "x"}, ensure_ascii=False)),
        "cmrc2018_predict.json",
        "not in the test set: TEST_9_QUERY_9",
    ),
    "missing answer": (
        _cmrc_edit(lambda d: json.dumps(dict(list(d.items())[1:]), ensure_ascii=False)),
        "cmrc2018_predict.json",
        "have no answer",
    ),
    "not utf-8": (_gbk, "cluener_predict.json", "not UTF-8"),
    "chid index out of range": (
        _chid_edit("#idiom000203#", 10),
        "chid11_predict.json",
        "candidate index 0..9",
    ),
    "chid index as string": (_chid_edit("#idiom000203#", "2"), "chid11_predict.json", "candidate index 0..9"),
    "c3 label beyond 0..3": (_c3_label(2, "4"), "c311_predict.json", "unknown label '4'"),
    # Question 1 of the C3 fixture has only 2 choices.
    "c3 label beyond the choices": (_c3_label(1, "2"), "c311_predict.json", "id 1 has 2 choices, label '2'"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_files_are_named(case: str, good: Path, data_root: Path) -> None:
    mutate, name, message = BROKEN[case]
    mutate(good)
    result = validate(good, data_root)
    assert not result.ok
    bad = [f for f in result.files if not f.ok]
    assert [f.name for f in bad] == [name], result.all_problems()  # only the damaged file is blamed
    assert message in " ".join(bad[0].problems)


@pytest.mark.filterwarnings("ignore:Duplicate name")  # the duplicate entry is the point of the test
def test_zip_with_folder_duplicates_and_junk(good: Path, data_root: Path, tmp_path: Path) -> None:
    archive = tmp_path / "nested.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(good / "afqmc_predict.json", "submit/afqmc_predict.json")
        zf.write(good / "tnews11_predict.json", "tnews11_predict.json")
        zf.write(good / "tnews11_predict.json", "tnews11_predict.json")
        zf.writestr("README.txt", "hello")
    result = validate(archive, data_root)
    problems = "\n".join(result.all_problems())
    assert not result.ok
    assert "submit/: a folder in the zip" in problems
    assert "submit/afqmc_predict.json: inside a folder" in problems
    assert "tnews11_predict.json: appears 2 times" in problems
    assert "README.txt: unknown leaderboard file name" in problems


def test_folder_with_subfolder_and_missing_test_data(good: Path, data_root: Path) -> None:
    (good / "submit").mkdir()
    shutil.rmtree(data_root / "cluener")
    result = validate(good, data_root)
    problems = "\n".join(result.all_problems())
    assert "submit/: a folder" in problems
    assert "cluener_predict.json: cannot check against the cluener test set" in problems
    assert [f.name for f in result.files if not f.ok] == ["cluener_predict.json"]


def test_chid_shared_candidate_is_a_note_not_a_failure(good: Path, data_root: Path) -> None:
    """Record 1 of the CHID fixture holds blanks 201 and 202: one idiom cannot rightly fill both, but the
    leaderboard scores such a file, and `task.assignment: independent` writes them, so `clue validate` (and
    `clue submit`) accept it and say so."""
    doc = json.loads((good / "chid11_predict.json").read_text(encoding="utf-8"))
    _chid_edit("#idiom000202#", doc["#idiom000201#"])(good)
    result = validate(good, data_root)
    assert result.ok, result.all_problems()
    (chid,) = [f for f in result.files if f.name == "chid11_predict.json"]
    assert len(chid.notes) == 1 and "#idiom000201# and #idiom000202#" in chid.notes[0]
    done = CliRunner().invoke(app, ["validate", str(good), "--data-root", str(data_root)])
    assert done.exit_code == 0, done.output
    assert "share a candidate" in " ".join(done.stdout.split())


def test_chid_indices_in_range_and_shared_candidates_noted(tmp_path: Path) -> None:
    test = tmp_path / "test1.1.json"
    records = [
        {
            "candidates": [f"成语{i}" for i in range(10)],
            "content": ["甲#idiom000001#乙#idiom000002#", "丙#idiom000003#"],
        },
        {"candidates": [f"成语{i}" for i in range(10)], "content": ["丁#idiom000004#"]},
    ]
    write_lines(test, records)
    chid = get_task("chid")
    assert chid.submission_check is not None
    examples = chid.read(tmp_path, "test")
    predictions = tmp_path / "chid11_predict.json"

    def problems(doc: dict[str, object]) -> list[str]:
        predictions.write_text(json.dumps(doc), encoding="utf-8")
        return chid.submission_check(predictions, examples, None)  # type: ignore[misc]

    good = {"#idiom000001#": 0, "#idiom000002#": 1, "#idiom000003#": 2, "#idiom000004#": 0}
    assert problems(good) == []  # the same index in different records is fine
    shared = problems({**good, "#idiom000003#": 1})
    assert len(shared) == 1 and "#idiom000002# and #idiom000003#" in shared[0]
    assert isinstance(shared[0], Note)  # shown, not failing: the leaderboard scores such a file
    out = problems({**good, "#idiom000004#": 10, "#idiom000001#": "0"})
    assert len(out) == 1 and "2 blanks" in out[0] and "#idiom000004#=10" in out[0]


def test_validate_cli_exit_codes(good: Path, data_root: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", str(good), "--data-root", str(data_root)])
    assert ok.exit_code == 0, ok.output
    assert "9 file(s) ok" in ok.stdout
    _drop_last("afqmc_predict.json")(good)
    bad = runner.invoke(app, ["validate", str(good), "--data-root", str(data_root)])
    assert bad.exit_code == 1
    assert "afqmc_predict.json: 1 of 5 records have no prediction" in bad.output
    done = subprocess.run(
        [sys.executable, "-m", "clue_runner", "validate", str(tmp_path / "absent.zip")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "not found" in done.stderr


# ---------------------------------------------------------------------------------------------------- submit


def fake_run(
    root: Path, task: str, seed: int, score: float, data_dir: Path, shift: int, status: str = "completed"
) -> Path:
    """A run folder as `clue run` leaves it: results.json plus submission/ files."""
    run = root / task / f"seed{seed}"
    written = render_files(task, data_dir, run / "submission", shift=shift)
    results = {
        "schema": 1,
        "task": task,
        "model": {"name": "bert-base-chinese", "resolved": "x"},
        "status": status,
        "seed": seed,
        "main_metric": get_task(task).main_metric,
        "data": {"dir": str(data_dir), "files": {}},
        "metrics": {"dev": {get_task(task).main_metric: score}},
        "submission_files": dict.fromkeys(written, 5),
    }
    (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return run


@pytest.fixture()
def runs(tmp_path: Path, data_root: Path) -> Path:
    root = tmp_path / "sweep"
    fake_run(root, "tnews", 1, 50.0, data_root / "tnews", shift=0)
    fake_run(root, "tnews", 2, 60.0, data_root / "tnews", shift=1)  # best dev: its files must be chosen
    fake_run(root, "tnews", 3, 99.0, data_root / "tnews", shift=2, status="failed")  # never chosen
    fake_run(root, "afqmc", 1, 70.0, data_root / "afqmc", shift=0)
    return root


def test_submit_picks_best_dev_and_writes_flat_zip(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "submit.zip"
    result = CliRunner().invoke(app, ["submit", str(runs), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["afqmc_predict.json", "tnews10_predict.json", "tnews11_predict.json"]
        chosen = zf.read("tnews11_predict.json")
    assert chosen == (runs / "tnews" / "seed2" / "submission" / "tnews11_predict.json").read_bytes()
    assert validate(out, runs.parent / "data").ok


def test_submit_aborts_with_the_list_of_problems(runs: Path, tmp_path: Path) -> None:
    bad = runs / "afqmc" / "seed1" / "submission" / "afqmc_predict.json"
    write_lines(bad, lines_of(bad)[:-2])
    records = lines_of(runs / "tnews" / "seed2" / "submission" / "tnews10_predict.json")
    records[0]["label"] = "0"
    write_lines(runs / "tnews" / "seed2" / "submission" / "tnews10_predict.json", records)
    out = tmp_path / "submit.zip"
    result = CliRunner().invoke(app, ["submit", str(runs), "-o", str(out)])
    assert result.exit_code == 1
    assert "afqmc_predict.json: 2 of 5 records have no prediction" in result.output
    assert "tnews10_predict.json: line 1: unknown label '0'" in result.output
    assert "not written: 2 problem(s)" in result.output
    assert not out.exists() and not list(tmp_path.glob(".submit.zip*"))


def test_submit_and_validate_subprocess(runs: Path, tmp_path: Path) -> None:
    out = tmp_path / "s" / "submit.zip"
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "clue_runner",
            "submit",
            str(runs),
            "-o",
            str(out),
            "--data-root",
            str(runs.parent / "data"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert f"wrote {out} (3 files, flat)" in done.stdout
    checked = subprocess.run(
        [sys.executable, "-m", "clue_runner", "validate", str(out), "--data-root", str(runs.parent / "data")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    empty = tmp_path / "nothing"
    empty.mkdir()
    (empty / "results.json").write_text(json.dumps({"task": "tnews", "status": "failed"}), encoding="utf-8")
    none = subprocess.run(
        [sys.executable, "-m", "clue_runner", "submit", str(empty), "-o", str(tmp_path / "x.zip")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert none.returncode == 2 and "no leaderboard files in completed runs" in none.stderr
