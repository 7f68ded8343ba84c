"""The 7 sentence / sentence-pair classification tasks against their fixtures and golden leaderboard files.

Fixtures (tests/fixtures/<task>/) are invented records in the official formats; golden files
(tests/golden/<task>/<leaderboard file>) are what `render` must write, byte for byte, for the fixed predictions
below. To refresh a golden file after an intended format change, delete it and run with CLUE_WRITE_GOLDEN=1.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clue_runner import config
from clue_runner.errors import ClueError, DataError
from clue_runner.registry import get_task
from clue_runner.roundtrip import roundtrip
from clue_runner.tasks import cluewsc2020, csl
from clue_runner.tasks.base import Task

FIXTURES = Path(__file__).parent / "fixtures"
GOLDEN = Path(__file__).parent / "golden"
TASKS = ("afqmc", "tnews", "iflytek", "cmnli", "ocnli", "cluewsc2020", "csl")

# Records per split in the fixtures after '-' rows are dropped (NLI: one '-' row in train and one in dev).
SIZES = {
    "afqmc": {"train": 6, "dev": 5, "test": 5},
    "tnews": {"train": 8, "dev": 6, "test": 5, "test1.0": 5},
    "iflytek": {"train": 6, "dev": 5, "test": 5},
    "cmnli": {"train": 6, "dev": 4, "test": 5},
    "ocnli": {"train": 6, "dev": 4, "test": 5},
    "cluewsc2020": {"train": 6, "dev": 5, "test": 5, "test1.0": 5},
    "csl": {"train": 6, "dev": 5, "test": 5},
}
SUBMISSIONS = {
    "afqmc": {"test": "afqmc_predict.json"},
    "tnews": {"test": "tnews11_predict.json", "test1.0": "tnews10_predict.json"},
    "iflytek": {"test": "iflytek_predict.json"},
    "cmnli": {"test": "cmnli_predict.json"},
    "ocnli": {"test": "ocnli_50k_predict.json"},
    "cluewsc2020": {"test": "cluewsc11_predict.json", "test1.0": "cluewsc10_predict.json"},
    "csl": {"test": "csl_predict.json"},
}


def fixed_predictions(task: Task, n: int) -> list[str]:
    """Deterministic, varied labels: what the golden files were written from."""
    return [task.labels[(3 * i + 1) % len(task.labels)] for i in range(n)]


def logits_for(task: Task, predictions: list[str]) -> list[np.ndarray]:
    out = []
    for label in predictions:
        row = np.zeros(task.num_outputs, dtype=np.float32)
        row[task.labels.index(label)] = 1.0
        out.append(row)
    return out


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def rewrite_line(path: Path, line: int, edit: Any) -> None:
    """Replace 1-based `line` of a JSON-lines file by edit(record) (a dict) or by raw text (a str)."""
    rows = lines(path)
    rows[line - 1] = (
        edit if isinstance(edit, str) else json.dumps(edit(json.loads(rows[line - 1])), ensure_ascii=False)
    )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def cfgs() -> dict[str, config.RunConfig]:
    return {name: config.load(name) for name in TASKS}


# ---------------------------------------------------------------- contract: read, round trip, render, parse


@pytest.mark.parametrize("name", TASKS)
def test_task_declares_the_spec_files(name: str) -> None:
    task = get_task(name)
    assert task.name == name and task.head == "classify" and task.version == 1
    assert task.num_outputs == len(task.labels) == len(set(task.labels))
    assert dict(task.submissions) == SUBMISSIONS[name]
    assert set(task.splits) == set(SIZES[name])
    assert task.main_metric == "accuracy"


@pytest.mark.parametrize("name", TASKS)
def test_reads_every_split_of_the_fixture(name: str) -> None:
    task = get_task(name)
    for split, size in SIZES[name].items():
        examples = task.read(FIXTURES / name, split)
        assert len(examples) == size, split
        labelled = split in ("train", "dev")
        assert all((ex.label is not None) == labelled for ex in examples), split
        assert all(ex.label in task.labels for ex in examples if labelled), split
        assert all(ex.source.startswith(str(FIXTURES / name)) for ex in examples)


@pytest.mark.parametrize("name", TASKS)
def test_gold_round_trip_scores_100(name: str, tokenizer: Any, cfgs: dict[str, config.RunConfig]) -> None:
    task = get_task(name)
    for split in ("train", "dev"):
        examples = task.read(FIXTURES / name, split)
        predictions, metrics = roundtrip(task, examples, tokenizer, cfgs[name])
        assert metrics == {"accuracy": 100.0}, split
        assert predictions == [ex.label for ex in examples]


@pytest.mark.parametrize("name", TASKS)
def test_render_matches_golden_and_parses_back(name: str, tmp_path: Path, assert_golden: Any) -> None:
    task = get_task(name)
    for split, file_name in task.submissions.items():
        examples = task.read(FIXTURES / name, split)
        predictions = fixed_predictions(task, len(examples))
        text = task.render(predictions, examples)
        golden = GOLDEN / name / file_name
        assert_golden(golden, text)
        written = tmp_path / file_name
        written.write_text(text, encoding="utf-8")
        assert task.parse(written, examples) == predictions
        for row, (i, label) in zip(lines(golden), enumerate(predictions), strict=True):
            assert json.loads(row) == {"id": i, "label": label}  # every test record, in file order


@pytest.mark.parametrize("name", TASKS)
def test_decode_takes_the_argmax(name: str, tokenizer: Any, cfgs: dict[str, config.RunConfig]) -> None:
    task = get_task(name)
    examples = task.read(FIXTURES / name, "test")
    features = task.encode(examples, tokenizer, cfgs[name])
    assert features.labels == [None] * len(examples)
    wanted = fixed_predictions(task, len(examples))
    assert task.decode(logits_for(task, wanted), features, examples, cfgs[name]) == wanted


@pytest.mark.parametrize("name", TASKS)
def test_gold_dev_leaderboard_file_scores_100(name: str, tmp_path: Path) -> None:
    task = get_task(name)
    examples = task.read(FIXTURES / name, "dev")
    path = tmp_path / "dev_predict.json"
    path.write_text(task.render(task.gold(examples), examples), encoding="utf-8")
    assert task.score(task.parse(path, examples), examples) == {"accuracy": 100.0}
    wrong = [task.labels[(task.labels.index(ex.label) + 1) % len(task.labels)] for ex in examples]
    assert task.score(wrong, examples) == {"accuracy": 0.0}


@pytest.mark.parametrize("name", TASKS)
def test_segment_ids_zero_by_default_pair_on_request(name: str, tokenizer: Any) -> None:
    task = get_task(name)
    examples = task.read(FIXTURES / name, "dev")
    zero = task.encode(examples, tokenizer, config.load(name))
    assert all(set(row["token_type_ids"]) == {0} for row in zero.rows)
    pair = task.encode(examples, tokenizer, config.load(name, sets=["task.segment_ids=pair"]))
    is_pair = examples[0].text_b is not None
    assert all((1 in row["token_type_ids"]) == is_pair for row in pair.rows)
    assert [r["input_ids"] for r in zero.rows] == [r["input_ids"] for r in pair.rows]
    with pytest.raises(ClueError, match="segment_ids"):
        task.encode(examples, tokenizer, config.load(name, sets=["task.segment_ids=both"]))


# ---------------------------------------------------------------- recipes


def test_recipes_follow_the_published_settings(cfgs: dict[str, config.RunConfig]) -> None:
    # (epochs, batch, lr, max_len): docs/clue.md §4.1-4.2, best BERT-Base-Chinese cell.
    expected = {
        "afqmc": (3, 16, 2e-5, 128),
        "tnews": (3, 16, 5e-5, 128),
        "iflytek": (3, 16, 5e-5, 128),
        "cmnli": (2, 64, 5e-5, 128),
        "ocnli": (5, 16, 3e-5, 128),
        "cluewsc2020": (50, 16, 3e-5, 128),
        "csl": (5, 16, 1e-5, 256),
    }
    for name, (epochs, batch, lr, max_len) in expected.items():
        cfg = cfgs[name]
        got = (cfg.train.epochs, cfg.train.batch_size, cfg.train.lr, cfg.data.max_len)
        assert got == (epochs, batch, lr, max_len), name
        assert (cfg.train.warmup_ratio, cfg.train.eval_every, cfg.task["segment_ids"]) == (
            0.1,
            100,
            "zero",
        ), name


# ---------------------------------------------------------------- edge cases


def test_tnews_and_iflytek_labels_are_the_archive_codes() -> None:
    for name, desc in (("tnews", "label_desc"), ("iflytek", "label_des")):
        task = get_task(name)
        listed = [json.loads(row) for row in lines(FIXTURES / name / "labels.json")]
        assert tuple(r["label"] for r in listed) == task.labels
        assert all(desc in r for r in listed)
    assert get_task("tnews").labels[:3] == ("100", "101", "102") and "105" not in get_task("tnews").labels
    golden = lines(GOLDEN / "tnews" / "tnews11_predict.json")
    assert all(json.loads(row)["label"] in get_task("tnews").labels for row in golden)  # codes, never indices


def test_tnews_test_ids_are_line_indices_without_warning(caplog: pytest.LogCaptureFixture) -> None:
    task = get_task("tnews")
    examples = task.read(FIXTURES / "tnews", "test")
    assert [ex.record_id for ex in examples] == [ex.index for ex in examples] == list(range(5))
    with caplog.at_level(logging.WARNING, logger="clue_runner"):
        task.render(fixed_predictions(task, len(examples)), examples)
    assert not caplog.records


@pytest.mark.parametrize("name", ["cmnli", "ocnli"])
def test_nli_dash_rows_are_dropped_but_keep_their_line_index(name: str, tmp_path: Path) -> None:
    task = get_task(name)
    train_file = task.splits["train"][0]
    assert any(json.loads(r)["label"] == "-" for r in lines(FIXTURES / name / train_file))
    raw = [json.loads(r)["label"] for r in lines(FIXTURES / name / "dev.json")]
    kept = [i for i, label in enumerate(raw) if label != "-"]
    assert len(kept) == len(raw) - 1 and kept[-1] == len(raw) - 1  # one '-' row, not the last
    dev = task.read(FIXTURES / name, "dev")
    assert [ex.index for ex in dev] == kept
    assert [ex.label for ex in dev] == [raw[i] for i in kept]
    text = task.render(task.gold(dev), dev)
    assert [json.loads(r)["id"] for r in text.splitlines()] == kept
    assert task.score(task.gold(dev), dev)["accuracy"] == 100.0
    # A file with a prediction for the dropped row too (a model predicts every line) parses and scores the same.
    full = tmp_path / "full.json"
    rows = [{"id": i, "label": "neutral"} for i in range(5)]
    full.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert task.parse(full, dev) == ["neutral"] * 4


def test_ocnli_reads_train_50k() -> None:
    task = get_task("ocnli")
    assert task.splits["train"] == ("train.50k.json",)
    assert len(task.read(FIXTURES / "ocnli", "train")) == 6


def test_wsc_marks_noun_and_pronoun_in_either_order() -> None:
    task = get_task("cluewsc2020")
    train = task.read(FIXTURES / "cluewsc2020", "train")
    assert train[0].text_a == "_小明_把书借给了同桌，因为[他]已经读完了。"  # noun first
    assert train[4].text_a == "[她]说她的_妹妹_明天要来北京出差。"  # pronoun first
    dev = task.read(FIXTURES / "cluewsc2020", "dev")
    assert dev[4].text_a == "[它]一直趴在门口，那只_小狗_在等主人回家。"
    test = task.read(FIXTURES / "cluewsc2020", "test")
    assert test[1].text_a == "[他]让弟弟先走，因为_弟弟_赶时间。"  # the second occurrence, by offset
    assert all(ex.text_b is None for ex in train + dev + test)


def test_wsc_mark_is_the_reference_insertion() -> None:
    assert cluewsc2020.mark("甲看见乙，他笑了", "乙", 3, "他", 5) == "甲看见_乙_，[他]笑了"
    assert cluewsc2020.mark("他看见乙", "乙", 3, "他", 0) == "[他]看见_乙_"
    assert cluewsc2020.mark("ab", "a", 0, "b", 1) == "_a_[b]"
    assert cluewsc2020.mark("ab", "b", 1, "a", 0) == "[a]_b_"


def test_csl_keywords_joined_with_fullwidth_semicolon_by_default(tokenizer: Any) -> None:
    task = get_task("csl")
    examples = task.read(FIXTURES / "csl", "train")
    assert examples[0].text_a == ("图像去噪", "残差网络", "多尺度")
    abst = examples[0].text_b
    default = task.encode(examples[:1], tokenizer, config.load("csl"))
    expected = tokenizer("图像去噪；残差网络；多尺度", abst, truncation=True, max_length=256)["input_ids"]
    assert default.rows[0]["input_ids"] == expected
    assert tokenizer.convert_tokens_to_ids("；") in expected


def test_csl_joiner_override_gives_the_paddlenlp_input(tokenizer: Any) -> None:
    task = get_task("csl")
    examples = task.read(FIXTURES / "csl", "train")[:1]
    cfg = config.load("csl", sets=['task.keyword_joiner=" "'])
    assert cfg.task["keyword_joiner"] == " "
    spaced = task.encode(examples, tokenizer, cfg)
    expected = tokenizer("图像去噪 残差网络 多尺度", examples[0].text_b, truncation=True, max_length=256)[
        "input_ids"
    ]
    assert spaced.rows[0]["input_ids"] == expected
    assert tokenizer.convert_tokens_to_ids("；") not in expected
    slash = task.encode(examples, tokenizer, config.load("csl", sets=["task.keyword_joiner=/"]))
    assert tokenizer.convert_tokens_to_ids("/") in slash.rows[0]["input_ids"]
    assert csl.keyword_joiner(config.load("csl")) == "\uff1b"


def test_csl_ids_are_line_indices_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    task = get_task("csl")
    examples = task.read(FIXTURES / "csl", "test")
    assert [ex.record_id for ex in examples][:2] == [2415, 88]
    with caplog.at_level(logging.WARNING, logger="clue_runner"):
        text = task.render(fixed_predictions(task, len(examples)), examples)
    assert [json.loads(r)["id"] for r in text.splitlines()] == [0, 1, 2, 3, 4]
    assert "differs from their line index" in caplog.text and "csl" in caplog.text


def test_csl_parse_accepts_a_file_keyed_by_record_ids(tmp_path: Path) -> None:
    task = get_task("csl")
    examples = task.read(FIXTURES / "csl", "test")
    path = tmp_path / "csl_predict.json"  # bojone writes str(record id)
    path.write_text(
        "".join(json.dumps({"id": str(ex.record_id), "label": "1"}) + "\n" for ex in examples),
        encoding="utf-8",
    )
    assert task.parse(path, examples) == ["1"] * len(examples)


# ---------------------------------------------------------------- bad input


# (field removed from line 2 of dev, for the missing-field check)
REQUIRED = {
    "afqmc": "sentence2",
    "tnews": "sentence",
    "iflytek": "sentence",
    "cmnli": "sentence1",
    "ocnli": "sentence2",
    "cluewsc2020": "target",
    "csl": "keyword",
}


def dev_path(task_dir: Path, name: str) -> Path:
    return task_dir / get_task(name).splits["dev"][0]


@pytest.mark.parametrize("name", TASKS)
def test_malformed_json_line_names_file_and_line(name: str, task_data: Any) -> None:
    data = task_data(name)
    rewrite_line(dev_path(data, name), 2, '{"sentence": "缺了右括号"')
    with pytest.raises(DataError, match=r"dev\.json:2: malformed JSON"):
        get_task(name).read(data, "dev")


@pytest.mark.parametrize("name", TASKS)
def test_missing_field_names_file_and_line(name: str, task_data: Any) -> None:
    data = task_data(name)
    rewrite_line(dev_path(data, name), 2, lambda r: {k: v for k, v in r.items() if k != REQUIRED[name]})
    with pytest.raises(DataError, match=rf"dev\.json:2: missing field '{REQUIRED[name]}'"):
        get_task(name).read(data, "dev")


@pytest.mark.parametrize("name", TASKS)
def test_unknown_label_names_file_and_line(name: str, task_data: Any) -> None:
    data = task_data(name)
    rewrite_line(dev_path(data, name), 2, lambda r: {**r, "label": "105" if name == "tnews" else "maybe"})
    with pytest.raises(DataError, match=r"dev\.json:2: unknown label"):
        get_task(name).read(data, "dev")


@pytest.mark.parametrize("name", TASKS)
def test_empty_file_is_an_error(name: str, task_data: Any) -> None:
    data = task_data(name)
    (data / "test.json").write_text("\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"test\.json: file is empty"):
        get_task(name).read(data, "test")


def test_nli_file_of_only_dash_rows_is_an_error(task_data: Any) -> None:
    data = task_data("cmnli")
    (data / "dev.json").write_text('{"sentence1": "甲", "sentence2": "乙", "label": "-"}\n', encoding="utf-8")
    with pytest.raises(DataError, match="no usable records"):
        get_task("cmnli").read(data, "dev")


@pytest.mark.parametrize(
    ("split", "line", "target"),
    [
        ("train", 3, {"span1_index": 5, "span1_text": "小猫"}),  # noun moved off its text
        ("dev", 1, {"span2_index": 1, "span2_text": "他"}),  # pronoun offset wrong
        ("test1.0", 2, {"span2_index": 99}),  # beyond the text
        ("test", 4, {"span1_index": -1}),
        ("test", 1, {"span1_text": ""}),
    ],
)
def test_wsc_span_that_does_not_match_names_file_and_line(
    split: str, line: int, target: dict[str, Any], task_data: Any
) -> None:
    data = task_data("cluewsc2020")
    file_name = get_task("cluewsc2020").splits[split][0]
    rewrite_line(data / file_name, line, lambda r: {**r, "target": {**r["target"], **target}})
    with pytest.raises(
        DataError, match=rf"{file_name.replace('.', '[.]')}:{line}: target\.span\d_text .* is not at"
    ):
        get_task("cluewsc2020").read(data, split)


def test_wsc_span_index_of_wrong_type_names_file_and_line(task_data: Any) -> None:
    data = task_data("cluewsc2020")
    rewrite_line(data / "dev.json", 2, lambda r: {**r, "target": {**r["target"], "span1_index": "4"}})
    with pytest.raises(DataError, match=r"dev\.json:2: field 'span1_index' must be int"):
        get_task("cluewsc2020").read(data, "dev")


def test_csl_keyword_must_be_a_list_of_strings(task_data: Any) -> None:
    data = task_data("csl")
    rewrite_line(data / "test.json", 3, lambda r: {**r, "keyword": "粒子群,车辆路径"})
    with pytest.raises(DataError, match=r"test\.json:3: field 'keyword' must be list"):
        get_task("csl").read(data, "test")
    rewrite_line(data / "test.json", 3, lambda r: {**r, "keyword": ["粒子群", 7]})
    with pytest.raises(DataError, match=r"test\.json:3: field 'keyword' must be a list of strings"):
        get_task("csl").read(data, "test")


def test_csl_joiner_must_be_a_string(tokenizer: Any) -> None:
    examples = get_task("csl").read(FIXTURES / "csl", "dev")
    with pytest.raises(ClueError, match="keyword_joiner"):
        csl.keyword_joiner(config.load("csl", sets=["task.keyword_joiner=3"]))
    with pytest.raises(ClueError, match="keyword_joiner"):
        get_task("csl").encode(examples, tokenizer, config.load("csl", sets=["task.keyword_joiner=3"]))


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([{"id": 0, "label": "1"}, {"id": 1, "label": "0"}], r"3 of 5 records have no prediction"),
        ([{"id": 0, "label": "2"}], r"afqmc_predict\.json:1: unknown label '2'"),
        ([{"id": 0, "label": "1"}, {"id": 0, "label": "1"}], r"afqmc_predict\.json:2: duplicate id 0"),
        ([{"label": "1"}], r"afqmc_predict\.json:1: missing or non-integer 'id'"),
        (
            [{"id": 0, "label": 1}],
            r"afqmc_predict\.json:1: 'label' must be a JSON string such as \"1\", got 1",
        ),
    ],
)
def test_bad_leaderboard_file_is_refused(rows: list[dict[str, Any]], message: str, tmp_path: Path) -> None:
    task = get_task("afqmc")
    examples = task.read(FIXTURES / "afqmc", "test")
    path = tmp_path / "afqmc_predict.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(DataError, match=message):
        task.parse(path, examples)


def nli_gold_file(path: Path, name: str = "cmnli", extra: tuple[dict[str, Any], ...] = ()) -> Path:
    """The dev labels as a leaderboard file, one line per dev line ('-' rows included), plus `extra` lines."""
    raw = [json.loads(r)["label"] for r in lines(FIXTURES / name / "dev.json")]
    rows = [{"id": i, "label": label} for i, label in enumerate(raw)] + list(extra)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def clue_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`clue ...` in a subprocess, as a user runs it (errors become one line on stderr, exit status 2)."""
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "clue_runner", *args], capture_output=True, text=True, env=env, timeout=300
    )


@pytest.mark.parametrize("name", ["cmnli", "ocnli"])
def test_evaluate_cli_scores_a_gold_file_that_keeps_the_dash_rows(name: str, tmp_path: Path) -> None:
    extra = ({"id": 99, "label": "no such label"}, {"id": 100, "label": 7})  # ids not in the split: ignored
    path = nli_gold_file(tmp_path / "gold.json", name, extra)
    assert '"label": "-"' in path.read_text(encoding="utf-8")
    result = clue_cli("evaluate", name, str(path), "--data-dir", str(FIXTURES / name), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"accuracy": 100.0}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"id": 1, "label": "entailmen"}, r"gold\.json:2: unknown label 'entailmen'"),  # a scored id
        ({"id": 3, "label": "-"}, r"gold\.json:4: unknown label '-'"),  # '-' on a kept row is not a label
        ({"id": 0, "label": 1}, r"gold\.json:1: 'label' must be a JSON string such as \"contradiction\""),
        ({"id": 1}, r"gold\.json:2: missing field 'label'"),
    ],
)
def test_evaluate_cli_names_a_bad_label_on_a_scored_id(
    edit: dict[str, Any], message: str, tmp_path: Path
) -> None:
    path = nli_gold_file(tmp_path / "gold.json")
    rewrite_line(path, int(edit["id"]) + 1, lambda r: edit)
    result = clue_cli("evaluate", "cmnli", str(path), "--data-dir", str(FIXTURES / "cmnli"), "--json")
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert re.search(message, " ".join(result.stderr.split())), result.stderr


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"id": 2, "label": "neutral"}, r"gold\.json:6: duplicate id 2"),  # the dropped row's id, twice
        ({"id": "x", "label": "neutral"}, r"gold\.json:6: missing or non-integer 'id'"),
    ],
)
def test_lines_for_unscored_ids_still_need_a_unique_integer_id(
    extra: dict[str, Any], message: str, tmp_path: Path
) -> None:
    task = get_task("cmnli")
    path = nli_gold_file(tmp_path / "gold.json", extra=(extra,))
    with pytest.raises(DataError, match=message):
        task.parse(path, task.read(FIXTURES / "cmnli", "dev"))


def test_missing_id_is_reported_even_when_the_file_has_extra_lines(tmp_path: Path) -> None:
    task = get_task("cmnli")
    path = nli_gold_file(tmp_path / "gold.json", extra=({"id": 9, "label": "neutral"},))
    rows = [r for r in lines(path) if json.loads(r)["id"] != 4]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"gold\.json: 1 of 4 records have no prediction \(ids 4\)"):
        task.parse(path, task.read(FIXTURES / "cmnli", "dev"))


@pytest.mark.parametrize(
    ("label", "shown"),
    [
        (103, r'"103", got 103'),
        (3, r'"100", got 3'),
        (None, r'"100", got null'),
        (["103"], r'"100", got \["103"\]'),
    ],
)
def test_leaderboard_label_must_be_a_json_string(label: Any, shown: str, tmp_path: Path) -> None:
    task = get_task("tnews")
    examples = task.read(FIXTURES / "tnews", "test")
    rows = [{"id": i, "label": "103"} for i in range(len(examples))]
    rows[2]["label"] = label
    path = tmp_path / "tnews11_predict.json"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with pytest.raises(
        DataError, match=rf"tnews11_predict\.json:3: 'label' must be a JSON string such as {shown}"
    ):
        task.parse(path, examples)
    rows[2]["label"] = "103"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    assert task.parse(path, examples) == ["103"] * len(examples)


def test_validate_cli_refuses_an_integer_label(tmp_path: Path) -> None:
    task = get_task("tnews")
    examples = task.read(FIXTURES / "tnews", "test")
    path = tmp_path / "tnews11_predict.json"
    path.write_text("".join(json.dumps({"id": ex.index, "label": 103}) + "\n" for ex in examples))
    result = clue_cli("validate", str(path), "--data-root", str(FIXTURES))
    assert result.returncode == 1, (result.stdout, result.stderr)
    text = " ".join((result.stdout + result.stderr).split())
    assert "tnews11_predict.json: line 1: 'label' must be a JSON string such as \"103\", got 103" in text


def test_training_and_dev_files_still_accept_integer_labels(task_data: Any) -> None:
    data = task_data("afqmc")
    rewrite_line(data / "dev.json", 1, lambda r: {**r, "label": int(r["label"])})
    assert isinstance(json.loads(lines(data / "dev.json")[0])["label"], int)
    dev = get_task("afqmc").read(data, "dev")
    assert dev[0].label == json.loads(lines(FIXTURES / "afqmc" / "dev.json")[0])["label"]


# ---------------------------------------------------------------- demo data (scripts/make_demo_data.py)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def demo() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_demo_data", ROOT / "scripts" / "make_demo_data.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", TASKS)
def test_demo_generator_writes_every_file_the_task_reads(name: str, demo: Any, tmp_path: Path) -> None:
    task = get_task(name)
    folder = demo.make_task(name, tmp_path / name, n_train=60, n_dev=20, n_test=10, seed=1)
    for split in task.splits:
        examples = task.read(folder, split)  # validates fields, labels and (WSC) span offsets
        labelled = split in ("train", "dev")
        if labelled:
            assert len({ex.label for ex in examples}) > 1, split
        else:
            assert len(examples) == 10, split
    if name in ("tnews", "iflytek"):
        assert [json.loads(r)["label"] for r in lines(folder / "labels.json")] == list(task.labels)
    if name in ("cmnli", "ocnli"):
        assert len(task.read(folder, "train")) < 60  # a few '-' rows, dropped by the reader
    if name == "csl":
        assert any(ex.record_id != ex.index for ex in task.read(folder, "test"))


def test_demo_generator_is_deterministic(demo: Any, tmp_path: Path) -> None:
    for name in TASKS:
        a = demo.make_task(name, tmp_path / "a" / name, 20, 10, 5, seed=3)
        b = demo.make_task(name, tmp_path / "b" / name, 20, 10, 5, seed=3)
        c = demo.make_task(name, tmp_path / "c" / name, 20, 10, 5, seed=4)
        for path in sorted(a.iterdir()):
            assert path.read_bytes() == (b / path.name).read_bytes(), path
        assert any(
            p.read_bytes() != (c / p.name).read_bytes() for p in a.iterdir() if p.name != "labels.json"
        )


def test_committed_demo_data_is_the_generator_output(demo: Any, tmp_path: Path) -> None:
    committed = ROOT / "demo" / "data"
    demo.make_all(tmp_path, seed=0)
    produced = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert produced == sorted(p.relative_to(committed) for p in committed.rglob("*") if p.is_file())
    for rel in produced:
        assert (tmp_path / rel).read_bytes() == (committed / rel).read_bytes(), (
            f"regenerate {committed / rel}"
        )
    assert sum((committed / rel).stat().st_size for rel in produced) < 2_000_000
    assert len(get_task("tnews").read(committed / "tnews", "train")) == 1500


@pytest.mark.slow
def test_tiny_model_learns_demo_tnews(tiny_model: Path, tmp_path: Path) -> None:
    from clue_runner.runner import run_task

    sets = ["train.max_steps=150", "train.lr=1e-3", "train.batch_size=16", "train.eval_every=50"]
    outcome = run_task(
        "tnews",
        model=str(tiny_model),
        data_dir=ROOT / "demo" / "data" / "tnews",
        output_dir=tmp_path / "run",
        sets=sets,
        progress=False,
        argv=["test"],
    )
    assert outcome.results["metrics"]["dev"]["accuracy"] > 30.0  # chance is 6.7%


def test_boolean_label_is_named_as_json(tmp_path: Path) -> None:
    from clue_runner.data import label_field

    with pytest.raises(DataError, match=r"x.json:3: field 'label' must be a label string, got JSON true"):
        label_field({"label": True}, ("true", "false"), tmp_path / "x.json", 3)
