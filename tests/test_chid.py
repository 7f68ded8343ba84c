"""CHID: reader and answer files, the [unused1]/[MASK] layout, centred truncation, joint assignment, round trips,
leaderboard files.

Golden files (tests/golden/chid/) are what `render` must write, byte for byte, for the fixed predictions below;
to refresh one after an intended format change, delete it and run with CLUE_WRITE_GOLDEN=1.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clue_runner import config
from clue_runner.errors import ClueError, DataError
from clue_runner.registry import get_task
from clue_runner.roundtrip import roundtrip
from clue_runner.tasks import _choice as K
from clue_runner.tasks import chid as T

FIXTURES = Path(__file__).parent / "fixtures" / "chid"
GOLDEN = Path(__file__).parent / "golden" / "chid"
PREDICTIONS = {"test": [6, 3, 4], "test1.0": [1, 8, 6]}
IDIOMS = (
    "画蛇添足",
    "守株待兔",
    "亡羊补牢",
    "掩耳盗铃",
    "对牛弹琴",
    "杯弓蛇影",
    "刻舟求剑",
    "井底之蛙",
    "叶公好龙",
    "拔苗助长",
)
MASK4 = ["[MASK]"] * 4


def tokens(tokenizer: Any, ids: list[int]) -> list[str]:
    return list(tokenizer.convert_ids_to_tokens(ids))


def chars(text: str) -> list[str]:
    return list(text)  # CJK text and CJK punctuation only: one token per character


def lines(path: Path, records: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def blank(passage: str, position: int = 0, key: str = "#idiom000001#") -> T.Blank:
    return T.Blank(key, IDIOMS, passage, position, 0, "made-up.json:1")


# --- reading ------------------------------------------------------------------------------------------------


def test_task_is_registered_with_the_choice_head() -> None:
    task = get_task("chid")
    assert (task.head, task.num_outputs, task.main_metric) == ("choice", 10, "accuracy")
    assert task.submissions == {"test": "chid11_predict.json", "test1.0": "chid10_predict.json"}
    assert task.splits["dev"] == ("dev.json", "dev_answer.json")


def test_read_one_example_per_blank() -> None:
    train = T.read(FIXTURES, "train")
    assert [ex.key for ex in train] == [f"#idiom00000{n}#" for n in range(1, 8)]
    assert [ex.label for ex in train] == [2, 0, 9, 7, 2, 5, 7]
    # Record 1 has blanks in two passages, the second passage two of them; they share the record's source.
    assert [ex.position for ex in train[:3]] == [0, 0, 1]
    assert train[1].passage is train[2].passage
    assert {ex.source for ex in train[:3]} == {f"{FIXTURES / 'train.json'}:1"}
    assert train[3].source.endswith("train.json:2") and train[3].candidates[0] == "半途而废"
    test = T.read(FIXTURES, "test")
    assert [(ex.key, ex.label) for ex in test] == [
        ("#idiom000201#", None),
        ("#idiom000202#", None),
        ("#idiom000203#", None),
    ]
    assert len(T.read(FIXTURES, "dev")) == 3 and len(T.read(FIXTURES, "test1.0")) == 3


# --- bad input ----------------------------------------------------------------------------------------------


def damage_record(data: Path, change: Any, line: int = 2) -> None:
    path = data / "train.json"
    records = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    change(records[line - 1])
    lines(path, records)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r: r["candidates"].pop(), r"train\.json:2: expected exactly 10 candidate idioms"),
        (lambda r: r["candidates"].append("一心一意"), r"train\.json:2: expected exactly 10 candidate idioms"),
        (lambda r: r.pop("content"), r"train\.json:2: missing field 'content'"),
        (lambda r: r.update(content=["没有空。"]), r"train\.json:2: record has no blank"),
        (lambda r: r["content"].append("又来#idiom000001#。"), r"train\.json:2: blank #idiom000001# also on line 1"),
        (
            lambda r: r.update(content=["".join(f"第{n}句#idiom00050{n}#。" for n in range(10)) + "末句#idiom000510#。"]),
            r"train\.json:2: 11 blanks but 10 candidates",
        ),
    ],
)  # fmt: skip
def test_bad_records_raise_with_file_and_line(task_data: Any, change: Any, message: str) -> None:
    data = task_data("chid")
    damage_record(data, change)
    with pytest.raises(DataError, match=message):
        T.read(data, "train")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.pop("#idiom000005#"), r"train\.json:2: blank #idiom000005# has no entry in train_answer\.json"),
        (lambda a: a.update({"#idiom000005#": 10}), r"train\.json:2: train_answer\.json gives #idiom000005# 10, not"),
        (lambda a: a.update({"#idiom000005#": -1}), "gives #idiom000005# -1, not a candidate index"),
        (lambda a: a.update({"#idiom000005#": "2"}), "gives #idiom000005# '2', not a candidate index"),
        (lambda a: a.update({"#idiom000005#": True}), "gives #idiom000005# True, not a candidate index"),
    ],
)  # fmt: skip
def test_bad_answers_raise_at_the_blank_line(task_data: Any, change: Any, message: str) -> None:
    data = task_data("chid")
    answers = json.loads((data / "train_answer.json").read_text(encoding="utf-8"))
    change(answers)
    (data / "train_answer.json").write_text(json.dumps(answers), encoding="utf-8")
    with pytest.raises(DataError, match=message):
        T.read(data, "train")


def test_malformed_files_name_file_and_line(task_data: Any) -> None:
    data = task_data("chid")
    with (data / "dev.json").open("a", encoding="utf-8") as handle:
        handle.write('{"candidates": [}\n')
    with pytest.raises(DataError, match=r"dev\.json:3: malformed JSON"):
        T.read(data, "dev")
    (data / "train_answer.json").write_text('{\n"#idiom000001#": 2,\n}', encoding="utf-8")
    with pytest.raises(DataError, match=r"train_answer\.json:3: malformed JSON"):
        T.read(data, "train")
    (data / "train_answer.json").write_text("[2, 0, 9]", encoding="utf-8")
    with pytest.raises(DataError, match=r"train_answer\.json: expected one JSON object"):
        T.read(data, "train")


# --- encoding -----------------------------------------------------------------------------------------------


def test_layout_marks_the_current_blank_and_masks_the_others(tokenizer: Any) -> None:
    train = T.read(FIXTURES, "train")
    features = T.encode(train[:3], tokenizer, config.load("chid"))
    assert features.labels == [2, 0, 9] and features.example_index == [0, 1, 2]
    left, right = "文章本已写完，他又硬加了一段议论，反而", "。老师看完直摇头，说他这样做和"
    tail = "没有区别，只会越帮越忙。"
    want = {
        0: (chars("丢了两只羊后他连夜修好了羊圈，虽说"), chars("，总比什么都不做强。")),
        1: (chars(left), [*chars(right), *MASK4, *chars(tail)]),
        2: ([*chars(left), *MASK4, *chars(right)], chars(tail)),
    }
    for f, (before, after) in want.items():
        rows = features.rows[f]["input_ids"]
        assert len(rows) == 10
        for ids, idiom in zip(rows, IDIOMS, strict=True):
            assert tokens(tokenizer, ids) == [
                "[CLS]",
                *chars(idiom),
                "[SEP]",
                *before,
                "[unused1]",
                *after,
                "[SEP]",
            ]
        assert all(
            set(t) == {0} and len(t) == len(i)
            for t, i in zip(features.rows[f]["token_type_ids"], rows, strict=True)
        )
        assert all(set(m) == {1} for m in features.rows[f]["attention_mask"])
    marker = tokenizer.convert_tokens_to_ids("[unused1]")
    assert all(list(ids).count(marker) == 1 for row in features.rows for ids in row["input_ids"])


PASSAGE = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉"  # 20 distinct characters


@pytest.mark.parametrize(
    ("at", "kept"),
    [
        (10, (4, 16)),  # in the middle: 12 // 2 = 6 tokens on each side
        (2, (0, 12)),  # near the start: the left side has 2, the right side takes the other 10
        (19, (8, 20)),  # near the end: the right side has 1, the left side takes the other 11
        (0, (0, 12)),  # first character: everything on the right
    ],
)
def test_truncation_is_centred_on_the_blank(tokenizer: Any, at: int, kept: tuple[int, int]) -> None:
    passage = f"{PASSAGE[:at]}#idiom000001#{PASSAGE[at:]}"
    # max_len 20 = 3 specials + 4 idiom tokens + [unused1] + 12 context tokens.
    cfg = config.load("chid", sets=["data.max_len=20"])
    row = T.encode([blank(passage)], tokenizer, cfg).rows[0]["input_ids"][0]
    left, right = PASSAGE[kept[0] : at], PASSAGE[at : kept[1]]
    assert tokens(tokenizer, row) == [
        "[CLS]",
        *chars(IDIOMS[0]),
        "[SEP]",
        *chars(left),
        "[unused1]",
        *chars(right),
        "[SEP]",
    ]
    assert len(row) == 20


def test_truncation_keeps_other_blanks_as_masks_inside_the_window(tokenizer: Any) -> None:
    passage = "前面很长很长的一段话#idiom000002#甲乙#idiom000001#丙丁#idiom000003#后面也很长很长"
    row = T.encode([blank(passage, position=1)], tokenizer, config.load("chid", sets=["data.max_len=28"]))
    got = tokens(tokenizer, row.rows[0]["input_ids"][0])
    # 20 context tokens: 10 on the left (4 text + 4 masks + 2 text), 10 on the right.
    context = [
        *chars("的一段话"),
        *MASK4,
        *chars("甲乙"),
        "[unused1]",
        *chars("丙丁"),
        *MASK4,
        *chars("后面也很"),
    ]
    assert got == ["[CLS]", *chars(IDIOMS[0]), "[SEP]", *context, "[SEP]"]


def test_window_smaller_than_a_candidate_and_missing_marker_are_errors(tokenizer: Any) -> None:
    ex = blank("一句#idiom000001#话")
    with pytest.raises(ClueError, match="data.max_len 7"):
        T.encode([ex], tokenizer, config.load("chid", sets=["data.max_len=7"]))
    with pytest.raises(ClueError, match=r"no '\[nope\]' token"):
        T.encode([ex], tokenizer, config.load("chid", sets=['task.blank_token="[nope]"']))


# --- assignment and decode ----------------------------------------------------------------------------------

# Two blanks, three candidates: independent argmax gives both candidate 0; greedy takes the best pair (0, 0)
# first and leaves blank 1 its second choice; Hungarian maximises the sum (9 + 9.5) with blank 0 -> 1.
SCORES = [[10.0, 9.0, 0.0], [9.5, 1.0, 0.0]]


@pytest.mark.parametrize(
    ("mode", "want"), [("hungarian", [1, 0]), ("greedy", [0, 1]), ("independent", [0, 0])]
)
def test_assignment_modes_differ_on_a_crafted_matrix(mode: str, want: list[int]) -> None:
    assert K.assign(SCORES, mode) == want


def test_assign_rejects_more_blanks_than_candidates_and_unknown_modes() -> None:
    with pytest.raises(ValueError, match="no more rows than columns"):
        K.assign(np.zeros((3, 2)))
    with pytest.raises(ClueError, match="hungarian, greedy, independent"):
        K.assign(SCORES, "best")
    with pytest.raises(ClueError, match="task.assignment"):
        K.assignment_mode(config.load("chid", sets=["task.assignment=optimal"]))


def test_assign_survives_non_finite_logits() -> None:
    assert K.assign([[float("nan"), 1.0], [float("inf"), 0.0]]) == [1, 0]


@pytest.mark.parametrize(
    ("mode", "want", "accuracy"),
    [("hungarian", [1, 0, 2], 25.0), ("greedy", [0, 1, 2], 0.0), ("independent", [0, 0, 2], 25.0)],
)
def test_decode_assigns_per_record(tokenizer: Any, mode: str, want: list[int], accuracy: float) -> None:
    train = T.read(FIXTURES, "train")[:4]  # record 1: three blanks; record 2: its first blank
    features = T.encode(train, tokenizer, config.load("chid"))
    outputs = [np.full(10, -5.0, dtype=np.float32) for _ in range(4)]
    outputs[0][:3], outputs[1][:3] = SCORES[0], SCORES[1]
    outputs[2][2] = 3.0
    outputs[3][0] = 8.0  # record 2 may use candidate 0 again, whatever record 1 took
    predictions = T.decode(outputs, features, train, config.load("chid", sets=[f"task.assignment={mode}"]))
    assert predictions == [*want, 0]
    assert T.score(predictions, train) == {"accuracy": accuracy}  # gold: 2, 0, 9, 7


@pytest.mark.parametrize("mode", ["hungarian", "greedy", "independent"])
@pytest.mark.parametrize("split", ["train", "dev"])
def test_gold_round_trip_scores_100(split: str, mode: str, tokenizer: Any) -> None:
    examples = T.read(FIXTURES, split)
    cfg = config.load("chid", sets=[f"task.assignment={mode}"])
    predictions, metrics = roundtrip(get_task("chid"), examples, tokenizer, cfg)
    assert predictions == T.gold(examples)
    assert metrics == {"accuracy": 100.0}


def test_test_split_has_no_gold() -> None:
    with pytest.raises(ClueError, match=r"blank #idiom000201# has no answer"):
        T.score([0, 1, 2], T.read(FIXTURES, "test"))


def test_tiny_model_scores_every_blank(tiny_model: Path, tokenizer: Any) -> None:
    from clue_runner.modeling import build_model, collate, reduce_outputs

    task, cfg = get_task("chid"), config.load("chid")
    examples = T.read(FIXTURES, "train")
    features = T.encode(examples, tokenizer, cfg)
    model = build_model(task, str(tiny_model), cfg).eval()
    batch = collate("choice", features, range(len(features)), tokenizer.pad_token_id)
    assert tuple(batch["input_ids"].shape) == (7, 10, 64)
    logits = model(batch)
    assert tuple(logits.shape) == (7, 10)
    predictions = T.decode(reduce_outputs("choice", logits, batch, cfg), features, examples, cfg)
    first = predictions[:3]  # one record: distinct candidates under the default Hungarian assignment
    assert len(predictions) == 7 and len(set(first)) == 3


# --- leaderboard files --------------------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["test", "test1.0"])
def test_render_matches_golden_and_parses_back(split: str, tmp_path: Path, assert_golden: Any) -> None:
    examples = T.read(FIXTURES, split)
    text = T.render(PREDICTIONS[split], examples)
    assert_golden(GOLDEN / T.TASK.submissions[split], text)
    assert json.loads(text) == {ex.key: p for ex, p in zip(examples, PREDICTIONS[split], strict=True)}
    path = tmp_path / T.TASK.submissions[split]
    path.write_text(text, encoding="utf-8")
    assert T.parse(path, examples) == PREDICTIONS[split]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"#idiom000201#": 6}, r"2 of 3 blanks have no prediction \(#idiom000202#, #idiom000203#\)"),
        ({"#idiom000201#": 6, "#idiom000202#": 10, "#idiom000203#": 4}, r":#idiom000202#: value must be a candidate index 0..9, got 10"),
        ({"#idiom000201#": 6, "#idiom000202#": "3", "#idiom000203#": 4}, r"got '3'"),
        ([6, 3, 4], "expected one JSON object"),
    ],
)  # fmt: skip
def test_parse_rejects_incomplete_or_invalid_files(doc: Any, message: str, tmp_path: Path) -> None:
    path = tmp_path / "chid11_predict.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(DataError, match=message):
        T.parse(path, T.read(FIXTURES, "test"))


def test_parse_ignores_extra_blanks_with_a_warning(tmp_path: Path, caplog: Any) -> None:
    path = tmp_path / "chid11_predict.json"
    path.write_text(
        json.dumps({"#idiom000201#": 6, "#idiom000202#": 3, "#idiom000203#": 4, "#idiom999999#": 1})
    )
    with caplog.at_level(logging.WARNING, logger="clue_runner"):
        assert T.parse(path, T.read(FIXTURES, "test")) == [6, 3, 4]
    assert "1 predictions for blanks not in the split were ignored" in caplog.text
