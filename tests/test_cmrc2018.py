"""CMRC2018: reader, sliding windows and labels, decode, gold round trips, leaderboard file, official metric."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import pytest

from clue_runner import config
from clue_runner.errors import ClueError, DataError
from clue_runner.metrics import cmrc
from clue_runner.registry import get_task
from clue_runner.roundtrip import roundtrip
from clue_runner.tasks import _span as S
from clue_runner.tasks import cmrc2018 as T
from clue_runner.tasks.base import Features

FIXTURES = Path(__file__).parent / "fixtures" / "cmrc2018"
GOLDEN = Path(__file__).parent / "golden" / "cmrc2018"


def small(*sets: str) -> config.RunConfig:
    """Windows small enough that the fixture contexts (157 tokens at most) need several."""
    return config.load("cmrc2018", sets=["data.max_len=64", "task.doc_stride=32", *sets])


def by_example(features: Features, index: int) -> list[int]:
    return [f for f, i in enumerate(features.example_index) if i == index]


def write(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


# --- reading ------------------------------------------------------------------------------------------------


def test_task_is_registered_with_the_span_head() -> None:
    task = get_task("cmrc2018")
    assert (task.head, task.main_metric, task.metrics) == ("span", "average", ("average", "em", "f1"))
    assert task.submissions == {"test": "cmrc2018_predict.json"}
    assert task.check is T.check


def test_read_all_splits() -> None:
    train = T.read(FIXTURES, "train")
    assert [ex.qid for ex in train][:2] == ["TRAIN_1_QUERY_0", "TRAIN_1_QUERY_1"]
    assert [ex.answer_start for ex in train] == [0, 48, 149, 154, 59, 9, 35]
    dev = T.read(FIXTURES, "dev")
    assert dev[3].answers == ("128元", "128元", "128")  # every gold answer kept, duplicates included
    assert len(T.read(FIXTURES, "trial")) == 1
    for split in ("train", "dev", "trial"):
        for ex in T.read(FIXTURES, split):
            assert ex.context[ex.answer_start :].startswith(ex.answers[0])


def test_test_questions_without_answers_are_accepted() -> None:
    # Placeholder answer, empty list, and no `answers` key at all.
    test = T.read(FIXTURES, "test")
    assert [(ex.qid, ex.answers, ex.answer_start) for ex in test] == [
        ("TEST_1_QUERY_0", (), None),
        ("TEST_1_QUERY_1", (), None),
        ("TEST_2_QUERY_0", (), None),
    ]
    with pytest.raises(ClueError, match="no gold answer"):
        T.score([""] * 3, test)
    with pytest.raises(ClueError, match="TEST_1_QUERY_0"):
        T.gold(test)


def test_locate_prefers_answer_start_then_the_nearest_occurrence() -> None:
    context = "木桶甲木桶乙木桶"
    assert S.locate(context, "木桶", 3) == 3
    assert S.locate(context, "木桶", 4) == 3  # nearest to 4: 3 (distance 1) beats 6 (distance 2)
    assert S.locate(context, "木桶", 5) == 6
    assert S.locate(context, "木桶", -1) == 0
    assert S.locate(context, "木桶", 99) == 6
    assert S.locate(context, "铁桶", 0) is None


# --- bad input ----------------------------------------------------------------------------------------------


def test_malformed_json_names_file_and_line(task_data: Any) -> None:
    data = task_data("cmrc2018")
    (data / "dev.json").write_text('{"version": "v1.0",\n "data": [\n  {"title": }]}', encoding="utf-8")
    with pytest.raises(DataError, match=r"dev\.json:3: malformed JSON"):
        T.read(data, "dev")


def test_missing_context_names_the_paragraph(task_data: Any) -> None:
    data = task_data("cmrc2018")
    doc = json.loads((data / "train.json").read_text(encoding="utf-8"))
    del doc["data"][1]["paragraphs"][0]["context"]
    write(data / "train.json", doc)
    with pytest.raises(
        DataError,
        match=r"train\.json:data\[1\]\.paragraphs\[0\] \(paragraph TRAIN_2\): missing field 'context'",
    ):
        T.read(data, "train")


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d.update(data={}), "SQuAD-style object"),
        (lambda d: d["data"][0]["paragraphs"][0]["qas"][1].pop("question"), "TRAIN_1_QUERY_1: missing field 'question'"),
        (lambda d: d["data"][0]["paragraphs"][0]["qas"][1].update(answers=[]), "TRAIN_1_QUERY_1: question has no answers"),
        (lambda d: d["data"][0]["paragraphs"][0]["qas"][1].update(id="TRAIN_1_QUERY_0"), "TRAIN_1_QUERY_0: duplicate question id"),
        (lambda d: d["data"][0]["paragraphs"][0]["qas"][2]["answers"][0].update(answer_start="149"), "TRAIN_1_QUERY_2: field 'answer_start' must be int"),
        (lambda d: d["data"][0]["paragraphs"][0]["qas"].append("oops"), r"data\[0\]\.paragraphs\[0\] \(paragraph TRAIN_1\)\.qas\[5\]: question must be an object"),
    ],
)  # fmt: skip
def test_bad_train_records_raise(task_data: Any, damage: Any, message: str) -> None:
    data = task_data("cmrc2018")
    doc = json.loads((data / "train.json").read_text(encoding="utf-8"))
    damage(doc)
    write(data / "train.json", doc)
    with pytest.raises(DataError, match=message):
        T.read(data, "train")


def test_train_answer_absent_from_context_is_skipped_and_reported(task_data: Any) -> None:
    data = task_data("cmrc2018")
    before = [ex.qid for ex in T.read(data, "train")]
    doc = json.loads((data / "train.json").read_text(encoding="utf-8"))
    doc["data"][1]["paragraphs"][0]["qas"][0]["answers"][0].update(text="2020年")
    write(data / "train.json", doc)
    after = [ex.qid for ex in T.read(data, "train")]
    assert after == [q for q in before if q != "TRAIN_2_QUERY_0"]
    problems = T.check(data, "train")
    assert [str(p).split("json:")[1] for p in problems] == [
        "TRAIN_2_QUERY_0: answer 0 '2020年' does not occur in the context"
    ]


def test_wrong_answer_start_is_recovered_and_reported_by_check(task_data: Any, caplog: Any) -> None:
    data = task_data("cmrc2018")
    assert T.check(data, "train") == [] and T.check(data, "dev") == []
    doc = json.loads((data / "train.json").read_text(encoding="utf-8"))
    # '木桶' occurs at 141 and 149; 147 is off but nearest to 149, the occurrence the annotator meant.
    doc["data"][0]["paragraphs"][0]["qas"][2]["answers"][0]["answer_start"] = 147
    write(data / "train.json", doc)
    with caplog.at_level(logging.WARNING, logger="clue_runner"):
        examples = T.read(data, "train")
    assert examples[2].answer_start == 149
    assert "1 answers have an answer_start" in caplog.text
    problems = T.check(data, "train")
    assert [(p.line, p.message) for p in problems] == [
        ("TRAIN_1_QUERY_2", "answer 0 '木桶': answer_start 147 does not point at it; using 149")
    ]


def test_dev_answer_missing_from_context_is_tolerated_but_reported(task_data: Any, tokenizer: Any) -> None:
    data = task_data("cmrc2018")
    doc = json.loads((data / "dev.json").read_text(encoding="utf-8"))
    doc["data"][0]["paragraphs"][0]["qas"][0]["answers"][0]["text"] = (
        "清代"  # a gold text the model cannot reach
    )
    write(data / "dev.json", doc)
    examples = T.read(data, "dev")
    assert examples[0].answers == ("清代", "明代") and examples[0].answer_start is None
    assert [p.line for p in T.check(data, "dev")] == ["DEV_1_QUERY_0"]
    features = T.encode(examples, tokenizer, small())
    assert all(features.labels[f] == (0, 0) for f in by_example(features, 0))


# --- windows and labels -------------------------------------------------------------------------------------


def test_windows_step_by_doc_stride_and_label_only_whole_answers(tokenizer: Any) -> None:
    examples = T.read(FIXTURES, "train")
    features = T.encode(examples, tokenizer, small())
    # TRAIN_1 context: 157 tokens. Question "听风桥建于哪一年？" has 9 tokens, so a window holds 64-3-9 = 52 context
    # tokens and windows start at 0, 32, 64, 96, 128 (the 5th reaches the end). The answer 一九三六年 covers
    # tokens 48..52: window 0 stops at 51, so only window 1 holds it, at rows 11 + (48-32) .. 11 + (52-32).
    q1 = by_example(features, 1)
    assert [features.meta[f].offsets[0][0] for f in q1] == [0, 32, 64, 96, 128]
    assert [features.labels[f] for f in q1] == [(0, 0), (27, 31), (0, 0), (0, 0), (0, 0)]
    # The answer at the very first context token is labelled right after [CLS] question [SEP] (10 tokens).
    assert features.labels[by_example(features, 0)[0]] == (12, 14)
    # 海外 (tokens 154-155) is only in the last window.
    assert [features.labels[f] for f in by_example(features, 3)] == [(0, 0)] * 4 + [(39, 40)]
    for f, (start, end) in enumerate(features.labels):
        row, window = features.rows[f], features.meta[f]
        assert len(row["input_ids"]) <= 64
        assert (
            row["input_ids"][0] == tokenizer.cls_token_id and row["input_ids"][-1] == tokenizer.sep_token_id
        )
        assert row["input_ids"][window.first - 1] == tokenizer.sep_token_id
        assert row["span_mask"] == [1] + [0] * (window.first - 1) + [1] * len(window.offsets) + [0]
        assert row["token_type_ids"] == [0] * len(row["input_ids"])
        if (start, end) != (0, 0):
            ex = examples[features.example_index[f]]
            chars = (window.offsets[start - window.first][0], window.offsets[end - window.first][1])
            assert chars == (ex.answer_start, ex.answer_start + len(ex.answers[0]))


def test_repeated_answer_text_is_labelled_at_its_answer_start(tokenizer: Any) -> None:
    examples = T.read(FIXTURES, "train")
    ex = examples[2]
    assert ex.answers[0] == "木桶" and ex.context.find("木桶") == 141 and ex.answer_start == 149
    features = T.encode(examples, tokenizer, small())
    rows = by_example(features, 2)
    # Window 3 covers tokens 96..148: it holds the first 木桶 (141) but not the labelled one (149).
    assert features.meta[rows[3]].offsets[-1] == (148, 149)
    labelled = [(f, features.labels[f]) for f in rows if features.labels[f] != (0, 0)]
    assert len(labelled) == 1
    f, (start, end) = labelled[0]
    window = features.meta[f]
    assert (window.offsets[start - window.first][0], window.offsets[end - window.first][1]) == (149, 151)


def test_pair_segment_ids(tokenizer: Any) -> None:
    features = T.encode(T.read(FIXTURES, "trial"), tokenizer, small("task.segment_ids=pair"))
    row, window = features.rows[0], features.meta[0]
    assert row["token_type_ids"] == [0] * window.first + [1] * (len(window.offsets) + 1)
    with pytest.raises(ClueError, match="segment_ids"):
        T.encode(T.read(FIXTURES, "trial"), tokenizer, small("task.segment_ids=both"))


def test_default_config_is_the_published_recipe(tokenizer: Any) -> None:
    cfg = config.load("cmrc2018")
    assert (cfg.train.epochs, cfg.train.batch_size, cfg.train.lr, cfg.train.warmup_ratio) == (
        2,
        24,
        3e-5,
        0.1,
    )
    assert cfg.train.eval_every is None and cfg.data.max_len == 512
    assert cfg.task == {
        "doc_stride": 128,
        "max_answer_len": None,
        "max_question_len": 64,
        "segment_ids": "zero",
    }
    # Every fixture context fits one 512-token window.
    features = T.encode(T.read(FIXTURES, "train"), tokenizer, cfg)
    assert features.example_index == list(range(7))


def test_token_span_widens_to_whole_tokens(tokenizer: Any) -> None:
    context = "一台GPS接收机"
    offsets = [
        tuple(o)
        for o in tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    ]
    assert offsets == [
        (0, 1),
        (1, 2),
        (2, 3),
        (3, 4),
        (4, 5),
        (5, 6),
        (6, 7),
        (7, 8),
    ]  # g ##p ##s: one char each
    assert S.token_span(offsets, 2, 5) == (2, 4)
    assert S.token_span([(0, 3), (3, 4)], 1, 3) == (0, 0)  # "PS" inside one token "GPS": the whole token
    assert S.token_span([(0, 1), (2, 3)], 1, 2) is None  # whitespace between tokens


# --- decode and round trips ---------------------------------------------------------------------------------


@pytest.mark.parametrize("split", ["train", "dev", "trial"])
@pytest.mark.parametrize(
    "sets",
    [
        (),
        ("data.max_len=64", "task.doc_stride=32"),
        ("data.max_len=40", "task.doc_stride=7"),
        ("data.max_len=40", "task.doc_stride=7", "task.segment_ids=pair"),
    ],
)
def test_gold_round_trip_scores_100(tokenizer: Any, split: str, sets: tuple[str, ...]) -> None:
    task = get_task("cmrc2018")
    examples = task.read(FIXTURES, split)
    predictions, scores = roundtrip(task, examples, tokenizer, config.load("cmrc2018", sets=list(sets)))
    assert scores == {"average": 100.0, "em": 100.0, "f1": 100.0}
    assert predictions == [
        ex.context[ex.answer_start : ex.answer_start + len(ex.answers[0])] for ex in examples
    ]


def test_bad_window_settings_are_refused(tokenizer: Any) -> None:
    examples = T.read(FIXTURES, "trial")
    with pytest.raises(ClueError, match=r"task\.doc_stride must be a positive integer"):
        T.encode(examples, tokenizer, small("task.doc_stride=0"))
    with pytest.raises(ClueError, match="leaves no room"):
        T.encode(examples, tokenizer, small("data.max_len=4"))


def test_round_trip_counts_answers_lost_to_small_windows(tokenizer: Any) -> None:
    task = get_task("cmrc2018")
    examples = task.read(FIXTURES, "train")
    # max_len 24: the question keeps at most 10 tokens, a window holds 11 context tokens; the 13-token answer
    # 附近村民会在湖边举行赛舟会 fits in no window, so 1 of 7 answers is lost.
    predictions, scores = roundtrip(task, examples, tokenizer, small("data.max_len=24", "task.doc_stride=8"))
    lost = [ex.qid for ex, p in zip(examples, predictions, strict=True) if p == ""]
    assert lost == ["TRAIN_1_QUERY_4"]
    assert scores["em"] == pytest.approx(100 * 6 / 7)
    # max_answer_len 4 (tokens): 一九三六年 and 2019年 (2 ##0 ##1 ##9 年) are 5 tokens long, so the head
    # cannot return them either; the round trip counts that too.
    predictions, scores = roundtrip(task, examples, tokenizer, small("task.max_answer_len=4"))
    lost = [ex.qid for ex, p in zip(examples, predictions, strict=True) if p == ""]
    assert lost == ["TRAIN_1_QUERY_1", "TRAIN_1_QUERY_4", "TRAIN_2_QUERY_0"]
    assert scores["average"] == pytest.approx(100 * 4 / 7)


def test_a_step_wider_than_the_window_is_capped_to_adjacent_windows(tokenizer: Any) -> None:
    task = get_task("cmrc2018")
    examples = task.read(FIXTURES, "trial")  # 29 context tokens; 荷花 = tokens 26-27
    cfg = small("data.max_len=40", "task.doc_stride=1000")
    features = task.encode(examples, tokenizer, cfg)
    # The 10-token question leaves 27 context tokens per window: windows 0..26 and 27..28, no token skipped,
    # but no overlap either, so the answer across the boundary is in neither window.
    assert [(w.offsets[0][0], len(w.offsets)) for w in features.meta] == [(0, 27), (27, 2)]
    assert features.labels == [(0, 0), (0, 0)]
    assert roundtrip(task, examples, tokenizer, cfg)[0] == [""]


def test_decode_takes_the_best_window_and_empty_when_none(tokenizer: Any) -> None:
    examples = T.read(FIXTURES, "train")[:2]
    cfg = small()
    features = T.encode(examples, tokenizer, cfg)
    q0, q1 = by_example(features, 0), by_example(features, 1)
    outputs: list[tuple[int, int, float]] = [(0, 0, -math.inf)] * len(features)
    w0, w1 = features.meta[q0[0]], features.meta[q0[1]]
    outputs[q0[0]] = (w0.first, w0.first + 2, 1.5)  # context chars 0..3: 云杉湖
    outputs[q0[1]] = (w1.first + 1, w1.first + 2, 3.0)  # chars 33..35 in window 2: the winner
    outputs[q0[2]] = (2, 3, 9.0)  # question tokens: never an answer
    predictions = T.decode(outputs, features, examples, cfg)
    assert predictions == [examples[0].context[33:35], ""]
    assert all(outputs[f][2] == -math.inf for f in q1)


# --- leaderboard file ---------------------------------------------------------------------------------------


def fake_outputs(features: Features, examples: list[T.QAExample], answers: dict[str, str]) -> list[Any]:
    """Per-window outputs pointing at the first occurrence of each question's wanted answer, score 1."""
    outputs: list[Any] = []
    for index, window in zip(features.example_index, features.meta, strict=True):
        ex = examples[index]
        start = ex.context.find(answers[ex.qid])
        span = S.token_span(window.offsets, start, start + len(answers[ex.qid])) if start >= 0 else None
        outputs.append((window.first + span[0], window.first + span[1], 1.0) if span else (0, 0, -math.inf))
    return outputs


def test_leaderboard_file_matches_golden_and_parses_back(tokenizer: Any, tmp_path: Path) -> None:
    examples = T.read(FIXTURES, "test")
    cfg = small()
    features = T.encode(examples, tokenizer, cfg)
    assert features.labels == [None] * len(features)  # test windows carry no training target
    wanted = {"TEST_1_QUERY_0": "一片竹林", "TEST_1_QUERY_1": "祠堂前", "TEST_2_QUERY_0": "200毫米"}
    predictions = T.decode(fake_outputs(features, examples, wanted), features, examples, cfg)
    text = T.render(predictions, examples)
    assert text == (GOLDEN / "cmrc2018_predict.json").read_text(encoding="utf-8")
    assert json.loads(text) == wanted
    path = tmp_path / "cmrc2018_predict.json"
    path.write_text(text, encoding="utf-8")
    assert T.parse(path, examples) == predictions


def test_parse_refuses_missing_ids_and_ignores_extra_ones(tmp_path: Path, caplog: Any) -> None:
    examples = T.read(FIXTURES, "test")
    path = write(tmp_path / "p.json", {"TEST_1_QUERY_0": "竹林"})
    with pytest.raises(
        DataError, match=r"2 of 3 questions have no answer \(TEST_1_QUERY_1, TEST_2_QUERY_0\)"
    ):
        T.parse(path, examples)
    write(path, {"TEST_1_QUERY_0": "竹林", "TEST_1_QUERY_1": 3, "TEST_2_QUERY_0": ""})
    with pytest.raises(DataError, match=r"TEST_1_QUERY_1: answer must be a string"):
        T.parse(path, examples)
    write(path, ["竹林"])
    with pytest.raises(DataError, match="one JSON object"):
        T.parse(path, examples)
    write(path, {"OTHER": "x", "TEST_2_QUERY_0": "", "TEST_1_QUERY_1": "祠堂", "TEST_1_QUERY_0": "竹林"})
    with caplog.at_level(logging.WARNING, logger="clue_runner"):
        assert T.parse(path, examples) == ["竹林", "祠堂", ""]
    assert "1 answers for question ids not in the split were ignored" in caplog.text


def test_gold_is_the_first_answer() -> None:
    assert T.gold(T.read(FIXTURES, "dev")) == ["明代", "三天", "Lumiere", "128元", "四十八场"]


# --- the official metric ------------------------------------------------------------------------------------
# Expected values worked out by hand from the official evaluator's algorithm (tasks/cmrc2018.md, Metric); the script itself
# carries no licence, so it is not copied into this repository.


@pytest.mark.parametrize(
    ("answers", "prediction", "em", "f1"),
    [
        (["明代", "明代"], "明代", 1, 1.0),
        (["明代"], "  明代。", 1, 1.0),  # strip, then '。' is in sp_char
        (["三天"], "“三天”", 1, 1.0),  # curly double quotes are in sp_char
        # '‘' is not in sp_char (only '’' is): EM fails; F1 segments ‘ 四 十 八 场 vs 四 十 八 场 -> P 4/5, R 1.
        (["四十八场", "四十八"], "‘四十八场’", 0, 8 / 9),
        (["Lumiere", "Lumiere牌"], "LUMIERE牌", 1, 1.0),  # lowercased
        # nltk run 'lumiere' + 牌 放 映 机 vs gold lumiere 牌: LCS 2, P 2/5, R 1 -> 4/7.
        (["Lumiere", "Lumiere牌"], "Lumiere牌放映机", 0, 4 / 7),
        # '-' is dropped before segmentation, leaving the run 'lumiere2': no common segment.
        (["Lumiere", "Lumiere牌"], "Lumiere-2", 0, 0.0),
        # ASCII quotes are not sp_char; nltk turns '"lumiere"' into `` lumiere '' -> P 1/3, R 1 -> 0.5.
        (["Lumiere", "Lumiere牌"], '"Lumiere"', 0, 0.5),
        (["128元", "128"], "128 元", 0, 1.0),  # the space breaks EM; segments 128 元 match
        (["128元", "128"], "12.8元", 0, 0.5),  # 12.8 元 vs 128 元: LCS 1, P 1/2, R 1/2
        (["e.g. 3.5km"], "e.g. 3.5 km", 0, 0.4),  # e.g. 3.5km (2 segs) vs e.g. 3.5 km (3): LCS 1 -> 0.4
        (["三天", "为期三天"], "为期三天的稻米节", 0, 2 / 3),  # vs 为期三天: P 4/8, R 1
        (["四十八场", "四十八"], "四十", 0, 0.8),  # vs 四十八: P 1, R 2/3
        (["明代"], "明清两代", 0, 1 / 3),  # contiguous LCS is 1: P 1/4, R 1/2
        (["𠀀明代"], "明代", 0, 0.8),  # U+20000 is outside [\u4e00-\u9fa5]: one nltk segment
        (["明代"], "", 0, 0.0),
        (["……"], "……", 1, 1.0),  # '……' in sp_char never matches a single '…'; both sides keep it
    ],
)  # fmt: skip
def test_metric_matches_the_official_algorithm(
    answers: list[str], prediction: str, em: int, f1: float
) -> None:
    assert cmrc.em_score(answers, prediction) == em
    assert cmrc.f1_score(answers, prediction) == pytest.approx(f1, abs=1e-9)


def test_segmentation() -> None:
    assert cmrc.mixed_segmentation("GPS接收机，2019年！", rm_punc=True) == [
        "gps",
        "接",
        "收",
        "机",
        "2019",
        "年",
    ]
    assert cmrc.mixed_segmentation("a，b") == ["a", "，", "b"]
    assert cmrc.remove_punctuation(" 《Lumiere》-牌 ") == "lumiere牌"
    assert cmrc.longest_common_run(list("abcde"), list("xbcdy")) == 3


def official_file_scores(gold_path: Path, predictions: dict[str, str]) -> dict[str, float]:
    """Score a prediction dict the way the official get_eval does: unanswered questions count 0."""
    examples = T.read(gold_path.parent, "dev")
    return cmrc.cmrc_scores([predictions.get(ex.qid) for ex in examples], [ex.answers for ex in examples])


@pytest.mark.parametrize(
    ("predictions", "em", "f1"),
    [
        ({"DEV_1_QUERY_0": "明代", "DEV_1_QUERY_1": "三天", "DEV_1_QUERY_2": "Lumiere", "DEV_2_QUERY_0": "128元", "DEV_2_QUERY_1": "四十八场"}, 100.0, 100.0),
        # Two questions dropped (official SKIP = 2): 3 of 5 right.
        ({"DEV_1_QUERY_0": "明代", "DEV_1_QUERY_1": "三天", "DEV_2_QUERY_0": "128"}, 60.0, 60.0),
        # Punctuation, case and spaces: EM 1, 1, 1, 0, 0; F1 1, 1, 1, 1, 8/9.
        ({"DEV_1_QUERY_0": "明代。", "DEV_1_QUERY_1": "“三天”", "DEV_1_QUERY_2": "LUMIERE", "DEV_2_QUERY_0": "128 元", "DEV_2_QUERY_1": "‘四十八场’"}, 60.0, 100 * (4 + 8 / 9) / 5),
        # Partial overlaps, one dropped: F1 2/3, 2/3, 4/7, 0.5, (dropped) = 2.40476.. / 5.
        ({"DEV_1_QUERY_0": "明", "DEV_1_QUERY_1": "为期三天的稻米节", "DEV_1_QUERY_2": "Lumiere牌放映机", "DEV_2_QUERY_0": "12.8元", "EXTRA": "x"}, 0.0, 100 * (2 / 3 + 2 / 3 + 4 / 7 + 0.5) / 5),
    ],
)  # fmt: skip
def test_file_level_scores(predictions: dict[str, str], em: float, f1: float) -> None:
    scores = official_file_scores(FIXTURES / "dev.json", predictions)
    assert scores["em"] == pytest.approx(em, abs=1e-3)
    assert scores["f1"] == pytest.approx(f1, abs=1e-3)
    assert scores["average"] == pytest.approx((em + f1) / 2, abs=1e-3)


def test_task_score_uses_all_gold_answers() -> None:
    dev = T.read(FIXTURES, "dev")
    scores = T.score(
        ["明代", "为期三天", "lumiere牌", "128", "四十八"], dev
    )  # each equals a non-first answer
    assert scores == {"average": 100.0, "em": 100.0, "f1": 100.0}
    assert cmrc.cmrc_scores([], []) == {"average": 0.0, "em": 0.0, "f1": 0.0}
    with pytest.raises(ValueError):
        cmrc.cmrc_scores(["x"], [])
