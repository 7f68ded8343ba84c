"""`clue evaluate FILE` scores what the official scorers score, as they score it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"


def _questions() -> list[tuple[str, list[str]]]:
    doc = json.loads((FIXTURES / "cmrc2018" / "dev.json").read_text(encoding="utf-8"))
    return [
        (qa["id"], [a["text"] for a in qa["answers"]])
        for article in doc["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ]


def test_cmrc2018_unanswered_questions_count_as_wrong(tmp_path: Path, clue_cli: Any) -> None:
    """cmrc2018_evaluate.py skips an unanswered question but keeps it in the total: 0 EM and 0 F1 for it."""
    questions = _questions()
    answered = questions[: len(questions) // 2]
    pred = tmp_path / "cmrc2018_predict.json"
    pred.write_text(json.dumps({qid: answers[0] for qid, answers in answered}, ensure_ascii=False))
    done = clue_cli("evaluate", "cmrc2018", str(pred), "--data-dir", str(FIXTURES / "cmrc2018"), "--json")
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)
    expected = round(100 * len(answered) / len(questions), 4)
    assert scores["em"] == expected and scores["f1"] == expected
    missing = len(questions) - len(answered)
    assert f"{missing} of {len(questions)} questions have no answer" in " ".join(done.stderr.split())
    strict = clue_cli("evaluate", "cmrc2018", str(pred), "--data-dir", str(FIXTURES / "cmrc2018"), "--strict")
    assert strict.returncode == 2 and "have no answer" in strict.stderr


def test_cmrc2018_unanswered_question_scores_zero_even_against_punctuation(
    tmp_path: Path, clue_cli: Any
) -> None:
    """A gold answer of punctuation alone normalises to "": an unanswered question must still score 0, not match
    an empty answer (the official evaluator skips it)."""
    context = "甲－－乙丙"
    qas = [
        {"id": "D1_Q0", "question": "甲后面是什么？", "answers": [{"text": "－－", "answer_start": 1}]},
        {"id": "D1_Q1", "question": "最后一个字？", "answers": [{"text": "丙", "answer_start": 4}]},
    ]
    doc = {"version": "v1.0", "data": [{"id": "D1", "title": "t", "paragraphs": [
        {"id": "D1", "context": context, "qas": qas}]}]}  # fmt: skip
    data = tmp_path / "data"
    data.mkdir()
    (data / "dev.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    pred = tmp_path / "cmrc2018_predict.json"
    pred.write_text(json.dumps({"D1_Q1": "丙"}, ensure_ascii=False), encoding="utf-8")
    done = clue_cli("evaluate", "cmrc2018", str(pred), "--data-dir", str(data), "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"average": 50.0, "em": 50.0, "f1": 50.0}


def test_cluener_macro_f1_does_not_need_valid_spans(tmp_path: Path, clue_cli: Any) -> None:
    """The leaderboard scorer compares entity strings per type; a span that is off only costs the span F1."""
    records = [
        json.loads(line)
        for line in (FIXTURES / "cluener" / "dev.json").read_text(encoding="utf-8").split("\n")
        if line
    ]
    lines = []
    for i, record in enumerate(records):
        label = {
            kind: {entity: [[s + 1, e + 1] for s, e in spans] for entity, spans in entities.items()}
            for kind, entities in record["label"].items()
        }
        if i == 0:
            # score.py reads only the 10 types' entity strings: an unknown type is ignored, and an entity with no
            # spans still counts.
            label["weapon"] = {"剑": [[0, 0]]}
            kind, entities = next(iter(label.items()))
            label[kind] = {entity: [] for entity in entities}
        lines.append(json.dumps({"id": i, "label": label}, ensure_ascii=False))
    pred = tmp_path / "cluener_predict.json"
    pred.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = clue_cli("evaluate", "cluener", str(pred), "--data-dir", str(FIXTURES / "cluener"), "--json")
    assert done.returncode == 0, done.stderr
    scores = json.loads(done.stdout)
    assert scores["macro_f1"] == 100.0 and scores["f1"] == 0.0
