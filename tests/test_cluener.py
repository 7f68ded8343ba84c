"""CLUENER2020: reader checks, char / wordpiece encodings, gold round trips, the golden leaderboard file, and the
metrics against the official scorer's algorithm (hand-computed cases in tests/reference/cluener_scorer_cases.json)."""

from __future__ import annotations

import json
import logging
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from clue_runner import config
from clue_runner.errors import ClueError, DataError
from clue_runner.metrics.ner import (
    ENTITY_TYPES,
    entity_scores,
    format_report,
    leaderboard_scores,
    per_type_report,
    score_files,
)
from clue_runner.roundtrip import roundtrip
from clue_runner.tasks import cluener
from clue_runner.tasks.cluener import TASK

GOLDEN = Path(__file__).parent / "golden" / "cluener"
REFERENCE = Path(__file__).parent / "reference" / "cluener_scorer_cases.json"


def cfg(*sets: str) -> config.RunConfig:
    return config.load("cluener", sets=list(sets))


class Collect(logging.Handler):
    """Records of the `clue_runner` logger; a handler of our own because the CLI turns off propagation (so
    pytest's caplog, which listens on the root logger, misses them once a CLI test has run)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())

    @property
    def text(self) -> str:
        return "\n".join(self.messages)


@pytest.fixture()
def logged() -> Any:
    logger = logging.getLogger("clue_runner")
    handler, level = Collect(), logger.level
    logger.addHandler(handler)
    logger.setLevel(min(level or logging.WARNING, logging.WARNING))
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


def write_lines(path: Path, records: list[Any]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


# --- reading -------------------------------------------------------------------------------------------------


def test_read_keeps_nested_crossing_and_repeated_entities(task_data: Any) -> None:
    folder = task_data("cluener")
    dev = TASK.read(folder, "dev")
    assert len(dev) == 8
    assert dev[2].entities == {
        "name": {"张伟": [[0, 1], [5, 6]], "王芳": [[2, 3]]},
        "scene": {"西湖": [[9, 10]]},
    }
    # nested: the address lies inside the government
    assert dev[1].entities == {
        "address": {"北京市海淀区": [[0, 5]]},
        "government": {"北京市海淀区人民政府": [[0, 9]]},
    }
    # crossing: [0, 6] and [4, 8] share 俱乐部
    assert dev[3].entities == {
        "organization": {"红星足球俱乐部": [[0, 6]]},
        "position": {"俱乐部队长": [[4, 8]]},
    }
    assert dev[7].entities == {}
    assert {kind for ex in dev for kind in (ex.entities or {})} == set(ENTITY_TYPES)
    assert [sorted(ex.entities or {}) for ex in TASK.read(folder, "train")][3] == [
        "game",
        "government",
        "organization",
    ]
    test = TASK.read(folder, "test")
    assert [(ex.record_id, ex.entities) for ex in test] == [(0, None), (1, None), (2, None), (3, None)]


BAD_RECORDS = [
    (
        {"text": "李明在青禾科技", "label": {"name": {"李明": [[1, 2]]}}},
        "'李明' at [1, 2] does not match the text there ('明在')",
    ),
    (
        {"text": "李明在青禾科技", "label": {"goverment": {"李明": [[0, 1]]}}},
        "unknown entity type 'goverment' (did you mean 'government'?)",
    ),
    ({"text": "李明在青禾科技", "label": {"name": {"李明": [0, 1]}}}, "malformed span 0"),
    ({"text": "李明在青禾科技", "label": {"name": {"李明": [[0, "1"]]}}}, "malformed span [0, '1']"),
    ({"text": "李明在青禾科技", "label": {"name": {"李明": [[1, 0]]}}}, "span [1, 0] is outside the text"),
    (
        {"text": "李明在青禾科技", "label": {"name": {"李明": [[6, 7]]}}},
        "span [6, 7] is outside the text (length 7)",
    ),
    ({"text": "李明在青禾科技", "label": {"name": {"李明": []}}}, "expected a non-empty list"),
    ({"text": "李明在青禾科技", "label": {"name": ["李明"]}}, "label['name'] must be an object"),
    ({"text": "李明在青禾科技", "label": []}, "field 'label' must be dict"),
    ({"text": "李明在青禾科技"}, "missing field 'label'"),
    ({"label": {}}, "missing field 'text'"),
]


@pytest.mark.parametrize(("record", "message"), BAD_RECORDS)
def test_bad_train_records_name_file_and_line(task_data: Any, record: dict[str, Any], message: str) -> None:
    folder = task_data("cluener")
    good = (folder / "train.json").read_text(encoding="utf-8").splitlines()
    (folder / "train.json").write_text(
        "\n".join([good[0], good[1], json.dumps(record, ensure_ascii=False)]) + "\n", encoding="utf-8"
    )
    with pytest.raises(DataError) as err:
        TASK.read(folder, "train")
    assert err.value.line == 3
    assert str(err.value).startswith(f"{folder / 'train.json'}:3: ")
    assert message in str(err.value)


def test_malformed_json_and_bad_test_ids(task_data: Any) -> None:
    folder = task_data("cluener")
    with (folder / "dev.json").open("a", encoding="utf-8") as handle:
        handle.write('{"text": "坏行", "label": {\n')
    with pytest.raises(DataError, match=r"dev\.json:9: malformed JSON"):
        TASK.read(folder, "dev")
    write_lines(folder / "test.json", [{"id": 0, "text": "甲"}, {"id": 0, "text": "乙"}])
    with pytest.raises(DataError, match=r"test\.json:2: duplicate id 0 \(first on line 1\)"):
        TASK.read(folder, "test")
    write_lines(folder / "test.json", [{"id": 0, "text": "甲"}, {"text": "乙"}])
    with pytest.raises(DataError, match=r"test\.json:2: missing field 'id'"):
        TASK.read(folder, "test")


# --- encoding --------------------------------------------------------------------------------------------------


def test_char_encoding_gives_every_character_one_token(task_data: Any, tokenizer: Any) -> None:
    folder = task_data("cluener")
    dev = TASK.read(folder, "dev")
    features = TASK.encode(dev, tokenizer, cfg())
    vocab, unk = tokenizer.get_vocab(), tokenizer.unk_token_id
    for ex, row, meta in zip(dev, features.rows, features.meta, strict=True):
        n = len(ex.text)
        assert len(row["input_ids"]) == n + 2
        assert row["span_mask"] == [0] + [1] * n + [0]
        assert row["token_type_ids"] == [0] * (n + 2)
        assert meta == [(0, 0), *((i, i + 1) for i in range(n)), (0, 0)]
    ids = features.rows[5]["input_ids"]  # 𠀀小龙看了Star Wars和😀大电影，读完Ｃ语言１００例
    text = dev[5].text
    assert ids[1 + text.index("𠀀")] == unk  # CJK extension B: not in the vocab
    assert ids[1 + text.index("😀")] == unk
    assert ids[1 + text.index(" ")] == unk  # whitespace keeps its slot, so later offsets do not shift
    assert ids[1 + text.index("S")] == vocab["s"]  # lower-cased like the tokenizer's normaliser
    assert ids[1 + text.index("小")] == vocab["小"]
    assert features.rows[6]["input_ids"][1 + dev[6].text.index("\u3000")] == unk  # ideographic space
    # labels: (type index, start token, end token) = character offsets + 1 for [CLS]
    assert features.labels[2] == [(6, 1, 2), (6, 3, 4), (6, 6, 7), (9, 10, 11)]
    assert TASK.encode(TASK.read(folder, "test"), tokenizer, cfg()).labels == [None] * 4


def test_gold_round_trip_char_is_perfect(task_data: Any, tokenizer: Any, logged: Collect) -> None:
    dev = TASK.read(task_data("cluener"), "dev")
    predictions, metrics = roundtrip(TASK, dev, tokenizer, cfg())
    assert predictions == TASK.gold(dev)
    assert metrics == {
        "f1": 100.0,
        "precision": 100.0,
        "recall": 100.0,
        "macro_f1": 100.0,
        **{f"f1_{kind}": 100.0 for kind in ENTITY_TYPES},
    }
    assert not logged.messages


def test_wordpiece_loses_entities_inside_a_word(task_data: Any, tokenizer: Any, logged: Collect) -> None:
    dev = TASK.read(task_data("cluener"), "dev")
    features, losses = cluener.encode_with_losses(dev, tokenizer, cfg("task.tokenize=wordpiece"))
    # "Tom😀Lee" is one word the vocab cannot spell: one [UNK] for all 7 characters, so "Tom" has no end token.
    assert (losses.entities, losses.misaligned, losses.truncated) == (20, 1, 0)
    assert features.meta[4][1] == (0, 7)
    predictions, metrics = roundtrip(TASK, dev, tokenizer, cfg("task.tokenize=wordpiece"))
    assert "1 of 20 gold entities cannot be represented" in logged.text
    expected = TASK.gold(dev)
    expected[4] = {k: v for k, v in expected[4].items() if k != "name"}
    assert (
        predictions == expected
    )  # everything else, "Star Wars" and "Ｃ语言１００例" included, maps back exactly
    assert metrics["precision"] == 100.0 and metrics["recall"] == 95.0


def test_truncation_reports_lost_entities(task_data: Any, tokenizer: Any, logged: Collect) -> None:
    dev = TASK.read(task_data("cluener"), "dev")
    small = cfg("data.max_len=12")  # 10 characters survive: entities ending at index >= 10 are cut
    features, losses = cluener.encode_with_losses(dev, tokenizer, small)
    assert max(len(r["input_ids"]) for r in features.rows) == 12
    # lost: 经理, 西湖, Apple公司, CEO, Star Wars, 😀大电影, Ｃ语言１００例, 王者荣耀; 6 texts are longer than 10
    assert (losses.truncated, losses.misaligned, losses.texts_truncated) == (8, 0, 6)
    _, metrics = roundtrip(TASK, dev, tokenizer, small)
    assert "8 of 20 gold entities cannot be represented" in logged.text and "max_len=12" in logged.text
    assert metrics["recall"] == pytest.approx(60.0) and metrics["precision"] == 100.0


def test_decode_drops_special_tokens_and_keeps_overlaps(task_data: Any, tokenizer: Any) -> None:
    dev = TASK.read(task_data("cluener"), "dev")[:1]  # 李明在青禾科技担任经理 (11 chars, [SEP] = token 12)
    features = TASK.encode(dev, tokenizer, cfg())
    pairs = [
        (6, 1, 2, 3.0),  # 李明
        (6, 1, 1, 0.5),  # 李 (nested in 李明)
        (2, 2, 7, 1.0),  # 明在青禾科技 (crosses 李明)
        (6, 0, 2, 9.0),  # starts on [CLS]
        (6, 11, 12, 9.0),  # ends on [SEP]
        (6, 5, 4, 9.0),  # start after end
        (10, 1, 2, 9.0),  # no such type
    ]
    (prediction,) = TASK.decode([pairs], features, dev, cfg())
    assert prediction == {"company": {"明在青禾科技": [[1, 6]]}, "name": {"李": [[0, 0]], "李明": [[0, 1]]}}


# --- leaderboard file -------------------------------------------------------------------------------------------

# Invented predictions for the four test records, as (type, first char, last char).
TEST_SPANS = [
    [("name", 0, 2), ("company", 6, 11)],  # 王小明 / 蓝海科技公司
    [("game", 9, 11), ("game", 14, 16)],  # Ａ计划 twice: one string, two spans
    [("government", 0, 7), ("address", 0, 5), ("address", 10, 11)],  # nested, and 𠀀路 (not in the vocab)
    [],  # nothing found -> "label": {}
]


def test_render_matches_golden_and_parses_back(task_data: Any, tokenizer: Any, tmp_path: Path) -> None:
    test = TASK.read(task_data("cluener"), "test")
    features = TASK.encode(test, tokenizer, cfg())
    outputs = []
    for meta, spans in zip(features.meta, TEST_SPANS, strict=True):
        start = {s: i for i, (s, e) in enumerate(meta) if e > s}
        end = {e - 1: i for i, (s, e) in enumerate(meta) if e > s}
        outputs.append([(ENTITY_TYPES.index(k), start[s], end[e], 1.0) for k, s, e in spans])
    predictions = TASK.decode(outputs, features, test, cfg())
    text = TASK.render(predictions, test)
    golden = GOLDEN / TASK.submissions["test"]
    assert text == golden.read_text(encoding="utf-8")
    assert TASK.parse(golden, test) == predictions
    assert json.loads(text.splitlines()[3]) == {"id": 3, "label": {}}
    # ids written as strings (another tool's habit) still match
    records = [json.loads(line) for line in text.splitlines()]
    path = write_lines(tmp_path / "str_ids.json", [{**r, "id": str(r["id"])} for r in records])
    assert TASK.parse(path, test) == predictions


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rs: rs[:3], r"1 of 4 records have no prediction \(ids 3\)"),
        (
            lambda rs: [*rs, {"id": 9, "label": {}}],
            r":5: 1 predictions for ids not in the test set \(first: '9'\)",
        ),
        (lambda rs: [*rs[:3], rs[0]], r":4: duplicate id '0'"),
        (
            lambda rs: [rs[0], {"id": 1, "label": {"game": {"Ａ计划": [[8, 10]]}}}, *rs[2:]],
            r":2: game entity 'Ａ计划' at \[8, 10\] does not match",
        ),
        (lambda rs: [rs[0], {"id": 1, "label": {"games": {}}}, *rs[2:]], r":2: unknown entity type 'games'"),
        (lambda rs: [rs[0], {"id": 1}, *rs[2:]], r":2: missing field 'label'"),
    ],
)
def test_parse_rejects_broken_prediction_files(
    task_data: Any, tmp_path: Path, edit: Any, message: str
) -> None:
    test = TASK.read(task_data("cluener"), "test")
    records = [
        json.loads(line)
        for line in (GOLDEN / "cluener_predict.json").read_text(encoding="utf-8").splitlines()
    ]
    path = write_lines(tmp_path / "cluener_predict.json", edit(records))
    with pytest.raises(DataError, match=message):
        TASK.parse(path, test)


# --- metrics ----------------------------------------------------------------------------------------------------

CASES = json.loads(REFERENCE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES["cases"], ids=lambda c: c["name"])
def test_leaderboard_score_agrees_with_official_algorithm(case: dict[str, Any], tmp_path: Path) -> None:
    gold = write_lines(tmp_path / "dev.json", CASES["gold"])
    pred = write_lines(tmp_path / "pred.json", case["predictions"])
    per_type, macro = score_files(pred, gold)
    assert macro == pytest.approx(100 * float(Fraction(case["macro"])), abs=1e-3)
    assert set(per_type) == set(ENTITY_TYPES)
    for kind, value in case["per_type"].items():
        assert per_type[kind] == pytest.approx(100 * float(Fraction(value)), abs=1e-3), kind
    if case.get("raises"):  # score.py stops with ZeroDivisionError here; zero_division=None reproduces that
        with pytest.raises(ZeroDivisionError):
            score_files(pred, gold, zero_division=None)
    else:
        assert score_files(pred, gold, zero_division=None)[1] == macro


def test_task_score_micro_spans_versus_leaderboard_strings(task_data: Any) -> None:
    dev = TASK.read(task_data("cluener"), "dev")
    predictions = TASK.gold(dev)
    # 张伟 found at one of its two spans: a span miss for the micro metric, nothing for the string-set scorer
    predictions[2] = {**predictions[2], "name": {"张伟": [[0, 1]], "王芳": [[2, 3]]}}
    # a wrong extra scene
    predictions[0] = {**predictions[0], "scene": {"青禾": [[3, 4]]}}
    metrics = TASK.score(predictions, dev)
    assert metrics["precision"] == pytest.approx(100 * 19 / 20)
    assert metrics["recall"] == pytest.approx(100 * 19 / 20)
    assert metrics["f1"] == pytest.approx(95.0)
    # strings: only scene changes (TP 2, FP 1 -> F1 4/5); the 9 other types stay at 1
    assert metrics["macro_f1"] == pytest.approx(100 * (9 + 0.8) / 10)
    per_type, macro = leaderboard_scores(predictions, TASK.gold(dev))
    assert metrics["macro_f1"] == macro
    # Keys in TASK.metrics order: main first, then the other three, then f1_address ... f1_scene.
    assert list(metrics) == list(TASK.metrics)
    # The per-type leaderboard F1s are the 10 numbers macro_f1 averages (and per_type_report's last column).
    assert {k: v for k, v in metrics.items() if k.startswith("f1_")} == {
        "f1_address": 100.0,
        "f1_book": 100.0,
        "f1_company": 100.0,
        "f1_game": 100.0,
        "f1_government": 100.0,
        "f1_movie": 100.0,
        "f1_name": 100.0,
        "f1_organization": 100.0,
        "f1_position": 100.0,
        "f1_scene": pytest.approx(80.0),
    }
    assert all(metrics[f"f1_{k}"] == per_type[k] for k in ENTITY_TYPES)
    rows = per_type_report(predictions, TASK.gold(dev))
    assert [metrics[f"f1_{r.type}"] for r in rows] == [r.leaderboard_f1 for r in rows]
    assert metrics["macro_f1"] == pytest.approx(sum(metrics[f"f1_{k}"] for k in ENTITY_TYPES) / 10)


def test_task_score_keys_and_zero_division(task_data: Any) -> None:
    dev = TASK.read(task_data("cluener"), "dev")
    assert TASK.metrics == ("f1", "precision", "recall", "macro_f1", *(f"f1_{k}" for k in ENTITY_TYPES))
    assert TASK.main_metric == "f1" and TASK.board_metric == "macro_f1"
    # Nothing predicted: every ratio score.py cannot compute counts 0, never NaN.
    metrics = TASK.score([{} for _ in dev], dev)
    assert set(metrics) == set(TASK.metrics) and all(v == 0.0 for v in metrics.values())
    # A whole type missed: only its own f1_<type> and the macro average move.
    golds = TASK.gold(dev)
    no_address = [{k: v for k, v in g.items() if k != "address"} for g in golds]
    metrics = TASK.score(no_address, dev)
    assert metrics["f1_address"] == 0.0 and metrics["macro_f1"] == pytest.approx(90.0)
    assert all(metrics[f"f1_{k}"] == 100.0 for k in ENTITY_TYPES if k != "address")
    with pytest.raises(ValueError, match="predictions for"):
        TASK.score(golds[:-1], dev)


def test_cli_evaluate_json_lists_per_type_f1(task_data: Any, tmp_path: Path) -> None:
    import subprocess
    import sys

    folder = task_data("cluener")
    dev = TASK.read(folder, "dev")
    predictions = TASK.gold(dev)
    predictions[0] = {**predictions[0], "scene": {"青禾": [[3, 4]]}}
    pred = tmp_path / "cluener_dev_predict.json"
    pred.write_text(TASK.render(predictions, dev), encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "clue_runner",
            "evaluate",
            "cluener",
            str(pred),
            "--data-dir",
            str(folder),
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert list(shown) == list(TASK.metrics)
    assert shown["f1_scene"] == 80.0 and shown["f1_address"] == 100.0 and shown["macro_f1"] == 98.0


def _bio(length: int, label: dict[str, Any]) -> list[str]:
    tags = ["O"] * length
    for kind, entities in label.items():
        for spans in entities.values():
            for s, e in spans:
                tags[s] = f"B-{kind}"
                tags[s + 1 : e + 1] = [f"I-{kind}"] * (e - s)
    return tags


def test_per_type_report_agrees_with_seqeval_on_flat_entities(task_data: Any) -> None:
    from seqeval.metrics import classification_report

    dev = [
        ex for i, ex in enumerate(TASK.read(task_data("cluener"), "dev")) if i not in (1, 3)
    ]  # flat records only
    golds = TASK.gold(dev)
    predictions = [
        {"name": {"李明": [[0, 1]]}, "company": {"青禾": [[3, 4]]}, "position": {"经理": [[9, 10]]}},
        {"name": {"张伟": [[0, 1]]}, "scene": {"西湖": [[9, 10]]}},
        {"name": {"Tom": [[0, 2]]}, "position": {"CEO": [[27, 29]]}, "company": {"Apple": [[8, 12]]}},
        {
            "movie": {"Star Wars": [[5, 13]]},
            "book": {"Ｃ语言１００例": [[22, 28]]},
            "name": {"小龙": [[1, 2]]},
        },
        {"scene": {"故宫博物院": [[4, 8]]}},
        {"position": {"天气": [[2, 3]]}},
    ]
    rows = per_type_report(predictions, golds)
    report = classification_report(
        [_bio(len(ex.text), g) for ex, g in zip(dev, golds, strict=True)],
        [_bio(len(ex.text), p) for ex, p in zip(dev, predictions, strict=True)],
        output_dict=True,
        zero_division=0,
    )
    checked = 0
    for row in rows:
        if row.type in report:
            ref = report[row.type]
            assert row.support == ref["support"]
            assert row.precision == pytest.approx(100 * ref["precision"])
            assert row.recall == pytest.approx(100 * ref["recall"])
            assert row.f1 == pytest.approx(100 * ref["f1-score"])
            checked += 1
    assert checked >= 7
    micro = entity_scores(predictions, golds)
    assert micro["f1"] == pytest.approx(100 * report["micro avg"]["f1-score"])
    table = format_report(rows)
    assert all(kind in table for kind in ENTITY_TYPES) and "board F1" in table


# --- task and config --------------------------------------------------------------------------------------------


def test_task_contract_and_config_defaults() -> None:
    assert TASK.labels == tuple(sorted(TASK.labels)) and TASK.num_outputs == 10
    assert TASK.head == "entities" and TASK.main_metric == "f1"
    assert TASK.submissions == {"test": "cluener_predict.json"}
    c = cfg()
    assert (c.data.max_len, c.train.batch_size, c.train.epochs, c.train.lr) == (256, 32, 10, 3e-5)
    assert c.train.eval_every is None and c.task == {"tokenize": "char"}


def test_unknown_tokenize_mode_is_refused(task_data: Any, tokenizer: Any) -> None:
    dev = TASK.read(task_data("cluener"), "dev")
    with pytest.raises(ClueError, match=r"task\.tokenize must be one of char, wordpiece, got 'bpe'"):
        TASK.encode(dev, tokenizer, cfg("task.tokenize=bpe"))
