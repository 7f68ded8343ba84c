"""The one JSON-lines reader (`data.jsonl_lines`): lines end at \\n, \\r\\n or \\r only, so U+2028, U+0085 and
form feeds inside a JSON string stay data, in the task readers, `subset`, `check-data` and `validate` alike."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest

from clue_runner.checkdata import check_task
from clue_runner.data import jsonl_lines, text_lines
from clue_runner.errors import DataError
from clue_runner.registry import get_task
from clue_runner.submission import validate
from clue_runner.subset import subset_jsonl

FIXTURES = Path(__file__).parent / "fixtures"
ODD = "甲\u2028乙\u0085丙\x0c丁\u2029戊"  # str.splitlines would cut this string in five


def _tnews(folder: Path) -> Path:
    shutil.copytree(FIXTURES / "tnews", folder)
    path = folder / "train.json"
    lines = path.read_text(encoding="utf-8").split("\n")
    record = json.loads(lines[0])
    record["sentence"] = ODD
    lines[0] = json.dumps(record, ensure_ascii=False)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_lines_split_only_at_line_breaks(tmp_path: Path) -> None:
    text = json.dumps({"a": ODD}, ensure_ascii=False) + "\r\n\n" + '{"b": 1}\r{"c": 2}'
    assert len(list(text_lines(text))) == 4
    path = tmp_path / "x.jsonl"
    path.write_bytes(("\ufeff" + text).encode("utf-8"))
    lines = list(jsonl_lines(path))
    assert [(line.number, line.record) for line in lines] == [(1, {"a": ODD}), (3, {"b": 1}), (4, {"c": 2})]
    assert lines[0].raw.endswith("\r\n") and not lines[0].raw.startswith("\ufeff")
    path.write_text('{"a": 1}\n[2]\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"x.jsonl:2: expected a JSON object, got list"):
        list(jsonl_lines(path))


def test_reader_subset_and_check_data_keep_odd_characters(tmp_path: Path) -> None:
    path = _tnews(tmp_path / "tnews")
    task = get_task("tnews")
    assert task.read(path.parent, "train")[0].text_a == ODD
    out = tmp_path / "out.json"
    n = sum(1 for line in path.read_text(encoding="utf-8").split("\n") if line.strip())
    assert subset_jsonl("train", [path], [out], n, random.Random(0), stratify=False) == n
    assert out.read_text(encoding="utf-8").rstrip("\n") == path.read_text(encoding="utf-8").rstrip("\n")
    # A bad line after the odd one is reported at its own line number, and the scan goes on past it.
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[2] = "{not json"
    lines[4] = '{"sentence": "x", "label": "999"}'
    path.write_text("\n".join(lines), encoding="utf-8")
    where = [(p.where, p.message[:14]) for p in check_task(task, path.parent).problems]
    assert where == [(3, "malformed JSON"), (5, "unknown label ")]


def test_validate_accepts_odd_characters_inside_a_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "tnews", data / "tnews")
    examples = get_task("tnews").read(data / "tnews", "test")
    out = tmp_path / "tnews11_predict.json"
    records = [{"id": ex.index, "label": "100", "note": ODD} for ex in examples]
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    result = validate(out, data)
    assert result.ok, result.all_problems()
    assert result.files[0].records == len(examples)
