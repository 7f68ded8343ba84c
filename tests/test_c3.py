"""C3: reader, 4-choice encoding with padding and passage-first truncation, decode, round trips, leaderboard files.

Golden files (tests/golden/c3/) are what `render` must write, byte for byte, for the fixed predictions below;
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
from clue_runner.tasks import c3 as T
from clue_runner.tasks.base import Features

FIXTURES = Path(__file__).parent / "fixtures" / "c3"
GOLDEN = Path(__file__).parent / "golden" / "c3"
PREDICTIONS = {"test": ["1", "0", "1"], "test1.0": ["1", "1", "0", "2"]}


def tokens(tokenizer: Any, ids: list[int]) -> list[str]:
    return list(tokenizer.convert_ids_to_tokens(ids))


def chars(text: str) -> list[str]:
    return list(text)  # the fixture text is CJK and CJK punctuation only: one token per character


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def item(context: list[str], questions: list[dict[str, Any]], ident: str = "d-9") -> list[Any]:
    return [context, questions, ident]


# --- reading ------------------------------------------------------------------------------------------------


def test_task_is_registered_with_the_choice_head() -> None:
    task = get_task("c3")
    assert (task.head, task.num_outputs, task.main_metric) == ("choice", 4, "accuracy")
    assert task.submissions == {"test": "c311_predict.json", "test1.0": "c310_predict.json"}
    assert task.splits["train"] == ("d-train.json", "m-train.json")
    assert task.splits["test"] == ("test1.1.json",)


def test_read_all_splits() -> None:
    train = T.read(FIXTURES, "train")
    # d- then m- items; question indices run on across the two files.
    assert [ex.index for ex in train] == [0, 1, 2, 3, 4]
    assert [len(ex.choices) for ex in train] == [4, 2, 3, 4, 4]
    assert [ex.label for ex in train] == [1, 0, 1, 0, 1]
    assert train[2].passage == ("女：这件蓝色的外套多少钱？", "男：两百块，打八折。", "女：那我买一件。")
    assert train[3].source.endswith("m-train.json:m-1-1 question 0")
    assert len(T.read(FIXTURES, "dev")) == 5
    test = T.read(FIXTURES, "test")
    assert [(ex.index, ex.question_id, ex.label) for ex in test] == [(0, 0, None), (1, 1, None), (2, 2, None)]
    assert len(T.read(FIXTURES, "test1.0")) == 4


# --- bad input ----------------------------------------------------------------------------------------------


def test_answer_not_among_choices_names_item_and_question(task_data: Any) -> None:
    data = task_data("c3")
    doc = json.loads((data / "d-dev.json").read_text(encoding="utf-8"))
    doc[1][1][1]["answer"] = "很累"
    write(data / "d-dev.json", doc)
    with pytest.raises(
        DataError, match=r"d-dev\.json:d-2-2 question 1: answer '很累' is not one of the choices"
    ):
        T.read(data, "dev")


def test_malformed_json_names_file_and_line(task_data: Any) -> None:
    data = task_data("c3")
    (data / "m-train.json").write_text('[\n[["一句话。"],\n [{"question": }], "m-1"]]', encoding="utf-8")
    with pytest.raises(DataError, match=r"m-train\.json:3: malformed JSON"):
        T.read(data, "train")


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"data": []}, "expected a JSON list"),
        ([], "no questions"),
        (["oops"], r"item 0: item must be a list"),
        ([item("一段话", [])], "d-9: context must be a list of strings"),
        ([item(["一段话"], [{"choice": ["是", "否"], "answer": "是"}])], "d-9 question 0: missing field 'question'"),
        ([item(["一段话"], [{"question": "吗？", "choice": ["是", "否"]}])], "d-9 question 0: missing field 'answer'"),
        ([item(["一段话"], [{"question": "吗？", "choice": ["是", 1], "answer": "是"}])], "choice must be a list of strings"),
        ([item(["一段话"], [{"question": "吗？", "choice": [], "answer": "是"}])], "0 choices; C3 questions have 1 to 4"),
        ([item(["一段话"], [{"question": "吗？", "choice": list("甲乙丙丁戊"), "answer": "甲"}])], "5 choices"),
    ],
)  # fmt: skip
def test_bad_items_raise(task_data: Any, doc: Any, message: str) -> None:
    data = task_data("c3")
    write(data / "d-train.json", doc)
    with pytest.raises(DataError, match=message):
        T.read(data, "train")


# --- encoding -----------------------------------------------------------------------------------------------


def test_layout_and_padding_of_two_and_three_choice_questions(tokenizer: Any) -> None:
    train = T.read(FIXTURES, "train")
    features = T.encode(train, tokenizer, config.load("c3"))
    assert features.labels == [1, 0, 1, 0, 1] and features.example_index == [0, 1, 2, 3, 4]
    passage = ["[CLS]", *chars("男：明天我们几点出发？女：早上七点，别迟到。"), "[SEP]"]
    question = [*chars("女的提醒男的什么？"), "[SEP]"]
    rows = features.rows[1]["input_ids"]  # 2 real choices, then 2 x '无效答案'
    assert len(rows) == 4
    for ids, choice in zip(rows, ["别迟到", "带雨伞", "无效答案", "无效答案"], strict=True):
        assert tokens(tokenizer, ids) == [*passage, *question, *chars(choice), "[SEP]"]
    passage = ["[CLS]", *chars("女：这件蓝色的外套多少钱？男：两百块，打八折。女：那我买一件。"), "[SEP]"]
    question = [*chars("女的最后做了什么决定？"), "[SEP]"]
    rows = features.rows[2]["input_ids"]  # 3 real choices, then 1 x '无效答案'
    for ids, choice in zip(rows, ["不买了", "买一件", "买两件", "无效答案"], strict=True):
        assert tokens(tokenizer, ids) == [*passage, *question, *chars(choice), "[SEP]"]
    for row in features.rows:
        assert [len(t) for t in row["token_type_ids"]] == [len(i) for i in row["input_ids"]]
        assert all(set(t) == {0} for t in row["token_type_ids"])
        assert all(set(m) == {1} for m in row["attention_mask"])


def test_pair_segment_ids_mark_question_and_choice(tokenizer: Any) -> None:
    train = T.read(FIXTURES, "train")[:1]
    row = T.encode(train, tokenizer, config.load("c3", sets=["task.segment_ids=pair"])).rows[0]
    n_passage = 1 + len("男：明天我们几点出发？女：早上七点，别迟到。") + 1
    for ids, types in zip(row["input_ids"], row["token_type_ids"], strict=True):
        assert types == [0] * n_passage + [1] * (len(ids) - n_passage)
    with pytest.raises(ClueError, match="segment_ids"):
        T.encode(train, tokenizer, config.load("c3", sets=["task.segment_ids=both"]))


def test_long_passage_is_cut_at_its_tail_keeping_question_and_choice_whole(tokenizer: Any) -> None:
    ex = T.read(FIXTURES, "train")[3]  # m-1-1: a 47-character passage, choices of 2 characters
    features = T.encode([ex], tokenizer, config.load("c3", sets=["data.max_len=20"]))
    question = chars(
        "石桥在小镇的哪一边？"
    )  # 10 tokens: with 4 specials and 2 choice tokens, 4 passage tokens fit
    for ids, choice in zip(features.rows[0]["input_ids"], ["东边", "西边", "南边", "北边"], strict=True):
        assert len(ids) == 20
        assert tokens(tokenizer, ids) == [
            "[CLS]",
            *chars("小镇的东"),
            "[SEP]",
            *question,
            "[SEP]",
            *chars(choice),
            "[SEP]",
        ]


def test_all_choices_see_the_same_passage_when_one_choice_is_longer(tokenizer: Any) -> None:
    ex = T.read(FIXTURES, "train")[2]  # choices 不买了 / 买一件 / 买两件 / 无效答案 (4 tokens: the longest)
    features = T.encode([ex], tokenizer, config.load("c3", sets=["data.max_len=24"]))
    rows = [tokens(tokenizer, ids) for ids in features.rows[0]["input_ids"]]
    passages = [r[: r.index("[SEP]") + 1] for r in rows]
    # 24 - 4 specials - 11 question - 4 ('无效答案') = 5 passage tokens, for every choice.
    assert passages == [["[CLS]", *chars("女：这件蓝"), "[SEP]"]] * 4
    assert [len(r) for r in rows] == [23, 23, 23, 24]
    assert [r[-4:] for r in rows[:3]] == [[*chars(c), "[SEP]"] for c in ("不买了", "买一件", "买两件")]


def test_question_and_choice_longer_than_the_window_are_cut_longest_first(tokenizer: Any) -> None:
    ex = T.read(FIXTURES, "train")[3]
    features = T.encode([ex], tokenizer, config.load("c3", sets=["data.max_len=12"]))
    for ids in features.rows[0]["input_ids"]:
        got = tokens(tokenizer, ids)
        # Budget 8: the 10-token question is cut to 6, the choice (2) stays; no passage token fits.
        assert got[:2] == ["[CLS]", "[SEP]"] and len(got) == 12
        assert got[2:9] == [*chars("石桥在小镇的"), "[SEP]"]
    with pytest.raises(ClueError, match="max_len"):
        T.encode([ex], tokenizer, config.load("c3", sets=["data.max_len=5"]))


# --- decode, score, round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "dev"])
def test_gold_round_trip_scores_100(split: str, tokenizer: Any) -> None:
    examples = T.read(FIXTURES, split)
    predictions, metrics = roundtrip(get_task("c3"), examples, tokenizer, config.load("c3"))
    assert predictions == T.gold(examples)
    assert metrics == {"accuracy": 100.0}


def test_decode_never_picks_a_padding_choice() -> None:
    examples = T.read(FIXTURES, "train")[:3]  # 4, 2 and 3 real choices
    features = Features(rows=[{}] * 3, labels=[1, 0, 1], example_index=[0, 1, 2])
    outputs = [np.array(v, dtype=np.float32) for v in ([0, 1, 2, 3], [2, 1, 5, 9], [0, 1, 2, 9])]
    predictions = T.decode(outputs, features, examples, config.load("c3"))
    assert predictions == ["3", "0", "2"]  # the padding's high scores (index 2, 3) are ignored
    assert T.score(predictions, examples) == {"accuracy": pytest.approx(100 / 3)}  # gold: 1, 0, 1


def test_test_split_has_no_gold() -> None:
    test = T.read(FIXTURES, "test")
    with pytest.raises(ClueError, match="test1.1.json:test-1 question 0: question has no answer"):
        T.score(["0"] * 3, test)


def test_tiny_model_scores_every_question(tiny_model: Path, tokenizer: Any) -> None:
    from clue_runner.modeling import build_model, collate, reduce_outputs

    task, cfg = get_task("c3"), config.load("c3")
    examples = T.read(FIXTURES, "dev")
    features = T.encode(examples, tokenizer, cfg)
    model = build_model(task, str(tiny_model), cfg).eval()
    batch = collate("choice", features, range(len(features)), tokenizer.pad_token_id)
    assert tuple(batch["input_ids"].shape[:2]) == (5, 4)
    logits = model(batch)
    assert tuple(logits.shape) == (5, 4)
    predictions = T.decode(reduce_outputs("choice", logits, batch, cfg), features, examples, cfg)
    assert len(predictions) == 5 and set(predictions) <= set(T.LABELS)


# --- leaderboard files --------------------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["test", "test1.0"])
def test_render_matches_golden_and_parses_back(split: str, tmp_path: Path, assert_golden: Any) -> None:
    examples = T.read(FIXTURES, split)
    text = T.render(PREDICTIONS[split], examples)
    assert_golden(GOLDEN / T.TASK.submissions[split], text)
    first = json.loads(text.splitlines()[0])
    assert first == {"id": 0, "label": PREDICTIONS[split][0]}
    path = tmp_path / T.TASK.submissions[split]
    path.write_text(text, encoding="utf-8")
    assert T.parse(path, examples) == PREDICTIONS[split]


def test_render_warns_when_a_question_id_differs_from_its_index(task_data: Any, caplog: Any) -> None:
    data = task_data("c3")
    doc = json.loads((data / "test1.1.json").read_text(encoding="utf-8"))
    doc[1][1][0]["id"] = 7
    write(data / "test1.1.json", doc)
    examples = T.read(data, "test")
    with caplog.at_level(logging.WARNING, logger="clue_runner"):
        text = T.render(["0", "1", "2"], examples)
    assert [json.loads(line)["id"] for line in text.splitlines()] == [0, 1, 2]
    assert "1 of 3 test questions have an `id`" in caplog.text and "test-2 question 0" in caplog.text


def test_parse_accepts_a_file_keyed_by_the_questions_own_ids(task_data: Any, tmp_path: Path) -> None:
    data = task_data("c3")
    doc = json.loads((data / "test1.1.json").read_text(encoding="utf-8"))
    for k, q in enumerate(q for it in doc for q in it[1]):
        q["id"] = 100 + k
    write(data / "test1.1.json", doc)
    path = tmp_path / "c311_predict.json"
    path.write_text("".join(json.dumps({"id": str(100 + k), "label": v}) + "\n" for k, v in enumerate("210")))
    assert T.parse(path, T.read(data, "test")) == ["2", "1", "0"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"id": 0, "label": "1"}\n{"id": 1, "label": "0"}\n',
            r"1 of 3 questions have no prediction \(ids 2\)",
        ),
        ('{"id": 0, "label": "4"}\n', r":1: unknown label '4'"),
        ('{"id": 0, "label": "1"}\n{"id": 0, "label": "1"}\n', r":2: duplicate id 0"),
        ('{"label": "1"}\n', r":1: missing or non-integer 'id'"),
        ('{"id": 0, "label": 1}\n', r":1: 'label' must be a JSON string such as \"1\", got 1"),
        (
            '{"id": 0, "label": "1"}\n{"id": 1, "label": null}\n',
            r":2: 'label' must be a JSON string such as \"0\"",
        ),
        ('{"id": 0, "label": "1"\n', r":1: malformed JSON"),
    ],
)
def test_parse_rejects_incomplete_or_malformed_files(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "c311_predict.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError, match=message):
        T.parse(path, T.read(FIXTURES, "test"))


def test_parse_ignores_lines_for_no_question_but_not_their_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "c311_predict.json"
    good = "".join(json.dumps({"id": k, "label": v}) + "\n" for k, v in enumerate("102"))
    extra = '{"id": 7, "label": "9"}\n{"id": 8, "label": 3}\n'  # no such questions: not checked, not used
    path.write_text(good + extra, encoding="utf-8")
    assert T.parse(path, T.read(FIXTURES, "test")) == ["1", "0", "2"]
    path.write_text(good + extra + '{"id": 7, "label": "1"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r":6: duplicate id 7"):
        T.parse(path, T.read(FIXTURES, "test"))


def test_question_ids_equal_to_their_index_as_strings_give_no_warning(task_data: Any, caplog: Any) -> None:
    data = task_data("c3")
    doc = json.loads((data / "test1.1.json").read_text(encoding="utf-8"))
    for k, q in enumerate(q for it in doc for q in it[1]):
        q["id"] = str(k)
    write(data / "test1.1.json", doc)
    examples = T.read(data, "test")
    assert [ex.record_id for ex in examples] == [ex.question_id for ex in examples] == ["0", "1", "2"]
    with caplog.at_level(logging.WARNING, logger="clue_runner"):
        T.render(["0", "1", "2"], examples)
    assert "differs" not in caplog.text
