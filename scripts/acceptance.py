"""Acceptance run: every issue's "Done when" checked through the CLI, on data the project has never seen.

    python3 scripts/acceptance.py --vocab /path/to/bert-base-chinese/vocab.txt [--work DIR] [--tasks all|t1,t2]

Data comes from scripts/make_acceptance_data.py (new invented text, its own seed). Everything the package does is
driven through `python3 -m clue_runner ...` subprocesses; everything the script checks is read back with plain
`json` / `zipfile` (never the package's own parse functions). See docs/acceptance.md for the list of checks.
Exit status 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import make_acceptance_data as gen  # noqa: E402

SEED = 20261124
ALL = gen.TASKS
# Leaderboard files per task (docs/clue.md §2.4): file name -> the test file it answers.
BOARD: dict[str, dict[str, str]] = {
    "afqmc": {"afqmc_predict.json": "test.json"},
    "tnews": {"tnews11_predict.json": "test.json", "tnews10_predict.json": "test1.0.json"},
    "iflytek": {"iflytek_predict.json": "test.json"},
    "cmnli": {"cmnli_predict.json": "test.json"},
    "ocnli": {"ocnli_50k_predict.json": "test.json"},
    "cluewsc2020": {"cluewsc11_predict.json": "test.json", "cluewsc10_predict.json": "test1.0.json"},
    "csl": {"csl_predict.json": "test.json"},
    "cmrc2018": {"cmrc2018_predict.json": "test.json"},
    "c3": {"c311_predict.json": "test1.1.json", "c310_predict.json": "test1.0.json"},
    "chid": {"chid11_predict.json": "test1.1.json", "chid10_predict.json": "test1.0.json"},
    "cluener": {"cluener_predict.json": "test.json"},
}
LABELS: dict[str, set[str]] = {
    "afqmc": {"0", "1"},
    "csl": {"0", "1"},
    "tnews": {str(c) for c in (*range(100, 105), *range(106, 111), *range(112, 117))},
    "iflytek": {str(i) for i in range(119)},
    "cmnli": {"entailment", "neutral", "contradiction"},
    "ocnli": {"entailment", "neutral", "contradiction"},
    "cluewsc2020": {"true", "false"},
}
MAIN_METRIC = {t: "accuracy" for t in ALL} | {"cmrc2018": "average", "cluener": "f1"}
# Metrics `clue evaluate` must report as 100 for the gold dev file.
GOLD_METRICS = {t: ["accuracy"] for t in ALL} | {
    "cmrc2018": ["average", "em", "f1"],
    "cluener": ["f1", "macro_f1"],
}
ENTITY_TYPES = {
    "address",
    "book",
    "company",
    "game",
    "government",
    "movie",
    "name",
    "organization",
    "position",
    "scene",
}
BLANK = re.compile(r"#idiom\d+#")


# ------------------------------------------------------------------------------------------------ plumbing


class CheckFailed(Exception):
    pass


def need(cond: Any, message: str) -> None:
    if not cond:
        raise CheckFailed(message)


class Runner:
    def __init__(self, work: Path, vocab: Path) -> None:
        self.work, self.vocab = work, vocab
        self.results: list[dict[str, Any]] = []
        self.log = (work / "acceptance.log").open("w", encoding="utf-8")

    def clue(
        self, *args: Any, env: dict[str, str] | None = None, timeout: int = 900
    ) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "clue_runner", *map(str, args)]
        full_env = dict(
            os.environ, PYTHONUNBUFFERED="1", HF_HUB_OFFLINE="1", NO_COLOR="1", COLUMNS="200", **(env or {})
        )
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout)
        took = time.perf_counter() - start
        self.log.write(
            f"\n$ {' '.join(cmd[2:])}  [rc={proc.returncode}, {took:.1f}s]\n{proc.stdout}{proc.stderr}"
        )
        self.log.flush()
        return proc

    def check(self, name: str, task: str, fn: Callable[[], str | None]) -> bool:
        start = time.perf_counter()
        try:
            detail = fn() or ""
            ok = True
        except CheckFailed as exc:
            detail, ok = str(exc), False
        except (
            Exception
        ) as exc:  # a bug in this script or an unexpected crash: a failure, with the trace logged
            detail, ok = f"{type(exc).__name__}: {exc}", False
            self.log.write(traceback.format_exc())
        took = time.perf_counter() - start
        self.results.append(
            {"check": name, "task": task, "ok": ok, "seconds": round(took, 1), "detail": detail}
        )
        mark = "PASS" if ok else "FAIL"
        print(f"[{mark}] {task:<11} {name:<34} {took:6.1f}s  {detail[:150]}", flush=True)
        return ok


def out_text(proc: subprocess.CompletedProcess[str]) -> str:
    return (proc.stdout or "") + (proc.stderr or "")


def tail(proc: subprocess.CompletedProcess[str], n: int = 300) -> str:
    text = " | ".join(line.strip() for line in out_text(proc).strip().splitlines() if line.strip())
    return text[-n:]


def expect_rc(proc: subprocess.CompletedProcess[str], rc: int, what: str) -> None:
    need(proc.returncode == rc, f"{what}: exit {proc.returncode}, expected {rc}: {tail(proc)}")


def read_jsonl(path: Path) -> list[Any]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------------ test-set facts


def test_units(task: str, path: Path) -> Any:
    """What one test file asks for, read with plain json: per task a count, ids, contexts or blank groups."""
    if task == "cmrc2018":
        doc = read_json(path)
        return {
            qa["id"]: para["context"]
            for art in doc["data"]
            for para in art["paragraphs"]
            for qa in para["qas"]
        }
    if task == "c3":
        return [len(q["choice"]) for item in read_json(path) for q in item[1]]
    if task == "chid":
        return [[k for p in rec["content"] for k in BLANK.findall(p)] for rec in read_jsonl(path)]
    return read_jsonl(path)


def check_board_file(task: str, pred: Path, test: Path) -> str:
    units = test_units(task, test)
    if task == "cmrc2018":
        obj = read_json(pred)
        need(isinstance(obj, dict), f"{pred.name}: not one JSON object")
        need(set(obj) == set(units), f"{pred.name}: keys != test question ids ({len(obj)} vs {len(units)})")
        for qid, ans in obj.items():
            need(isinstance(ans, str), f"{pred.name}: {qid} value is not a string")
            need(ans in units[qid], f"{pred.name}: {qid} answer {ans!r} is not a substring of its context")
        empty = sum(1 for a in obj.values() if not a)
        return f"{pred.name}: {len(obj)} answers, all substrings ({empty} empty)"
    if task == "chid":
        obj = read_json(pred)
        keys = [k for group in units for k in group]
        need(isinstance(obj, dict), f"{pred.name}: not one JSON object")
        need(
            set(obj) == set(keys) and len(obj) == len(keys),
            f"{pred.name}: keys != blank keys of the test text",
        )
        for group in units:
            vals = [obj[k] for k in group]
            need(
                all(type(v) is int and 0 <= v <= 9 for v in vals),
                f"{pred.name}: non-int or out-of-range value in {group}",
            )
            need(len(set(vals)) == len(vals), f"{pred.name}: repeated candidate within one record {group}")
        return f"{pred.name}: {len(obj)} blanks in {len(units)} records, distinct per record"
    rows = read_jsonl(pred)
    n = len(units)
    need(len(rows) == n, f"{pred.name}: {len(rows)} lines for {n} test records")
    if task == "cluener":
        ids = [r.get("id") for r in rows]
        need(
            ids == [u["id"] for u in units],
            f"{pred.name}: ids {ids[:4]}... != test ids {[u['id'] for u in units][:4]}...",
        )
        for r, u in zip(rows, units, strict=True):
            lab = r.get("label")
            need(isinstance(lab, dict), f"{pred.name}: id {r.get('id')} label is not an object")
            for kind, ents in lab.items():
                need(kind in ENTITY_TYPES, f"{pred.name}: unknown type {kind!r}")
                for ent, spans in ents.items():
                    for s, e in spans:
                        need(
                            u["text"][s : e + 1] == ent, f"{pred.name}: id {u['id']} span {[s, e]} != {ent!r}"
                        )
        return f"{pred.name}: {n} records, ids = test ids, spans match the text"
    need([r.get("id") for r in rows] == list(range(n)), f"{pred.name}: ids are not 0..{n - 1} in order")
    for i, r in enumerate(rows):
        lab = r.get("label")
        need(isinstance(lab, str), f"{pred.name}: line {i + 1} label {lab!r} is not a string")
        if task == "c3":
            need(
                lab.isdigit() and int(lab) < units[i],
                f"{pred.name}: question {i} label {lab} outside its {units[i]} choices",
            )
        else:
            need(lab in LABELS[task], f"{pred.name}: line {i + 1} label {lab!r} not in the label set")
    return f"{pred.name}: {n} lines, ids 0..{n - 1}, labels valid"


def gold_dev(task: str, data: Path, out: Path) -> Path:
    """The dev labels in leaderboard format, written by hand from the data files."""
    if task == "cmrc2018":
        doc = read_json(data / "dev.json")
        gold = {
            qa["id"]: qa["answers"][0]["text"]
            for a in doc["data"]
            for p in a["paragraphs"]
            for qa in p["qas"]
        }
        text = json.dumps(gold, ensure_ascii=False, indent=4)
    elif task == "chid":
        text = json.dumps(read_json(data / "dev_answer.json"), indent=4)
    elif task == "c3":
        rows, i = [], 0
        for name in ("d-dev.json", "m-dev.json"):
            for item in read_json(data / name):
                for q in item[1]:
                    rows.append({"id": i, "label": str(q["choice"].index(q["answer"]))})
                    i += 1
        text = "".join(json.dumps(r) + "\n" for r in rows)
    elif task == "cluener":
        rows = [{"id": i, "label": r["label"]} for i, r in enumerate(read_jsonl(data / "dev.json"))]
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    else:  # classification: id = 0-based line index; NLI '-' rows have no gold label and are left out
        rows = [
            {"id": i, "label": r["label"]}
            for i, r in enumerate(read_jsonl(data / "dev.json"))
            if r["label"] != "-"
        ]
        text = "".join(json.dumps(r) + "\n" for r in rows)
    name = next(iter(BOARD[task]))  # the leaderboard file name of the main test set
    path = out / name
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------ per task


def task_checks(r: Runner, task: str, model: Path) -> None:
    base = r.work / "tasks" / task
    data, run, pred = base / "data", base / "run", base / "predict"
    extra = ["--set", "data.max_len=128"] if task == "cmrc2018" else []
    gen.make_task(task, data, SEED)

    def data_props() -> str:
        # the corners the generator promises, verified on the written files
        if task in ("cmnli", "ocnli"):
            trn = "train.50k.json" if task == "ocnli" else "train.json"
            dashes = [sum(x["label"] == "-" for x in read_jsonl(data / f)) for f in (trn, "dev.json")]
            need(all(dashes), f"no '-' rows: {dashes}")
            return f"'-' rows train/dev: {dashes}"
        if task == "cluewsc2020":
            orders = {
                x["target"]["span2_index"] < x["target"]["span1_index"]
                for f in ("train.json", "dev.json", "test.json", "test1.0.json")
                for x in read_jsonl(data / f)
            }
            need(orders == {True, False}, "only one span order")
            return "pronoun before and after the noun"
        if task == "csl":
            rows = read_jsonl(data / "test.json")
            need([x["id"] for x in rows] != list(range(len(rows))), "CSL test ids are positional")
            return "corpus ids (non-positional)"
        if task == "chid":
            recs = read_jsonl(data / "test1.1.json")
            multi = sum(
                1 for x in recs if len(BLANK.findall("".join(x["content"]))) >= 2 and len(x["content"]) >= 2
            )
            need(multi, "no record with several blanks across passages")
            return f"{multi}/{len(recs)} test1.1 records with 2+ blanks across 2+ passages"
        if task == "c3":
            n = {
                len(q["choice"])
                for f in ("d-train.json", "m-dev.json", "test1.1.json")
                for it in read_json(data / f)
                for q in it[1]
            }
            need({2, 3, 4} <= n, f"choice counts {n}")
            return f"choice counts {sorted(n)}"
        if task == "cmrc2018":
            ctx = [len(p["context"]) for a in read_json(data / "test.json")["data"] for p in a["paragraphs"]]
            proc = r.clue(
                "check-data",
                task,
                "--data-dir",
                data,
                "--model",
                model,
                "--set",
                "data.max_len=128",
                "--json",
            )
            expect_rc(proc, 0, "check-data --model --json")
            test = json.loads(proc.stdout[proc.stdout.index("{") :])["splits"]["test"]
            need(test["features"] > test["examples"], f"no test question needs 2+ windows: {test}")
            return f"context chars {min(ctx)}-{max(ctx)}; test: {test['features']} windows for {test['examples']} questions at max_len 128"
        if task == "cluener":
            dev = read_jsonl(data / "dev.json")
            types = {k for x in dev for k in x["label"]}
            rep = sum(1 for x in dev for ents in x["label"].values() for sp in ents.values() if len(sp) > 1)
            need(types == ENTITY_TYPES and rep, f"dev types {types}, repeated {rep}")
            return f"10 types in dev, {rep} repeated strings, nested address/government"
        return ""

    r.check("data: generated corners", task, data_props)

    def check_data() -> str:
        proc = r.clue("check-data", task, "--data-dir", data)
        expect_rc(proc, 0, "check-data")
        return "exit 0"

    r.check("check-data on new data", task, check_data)

    def do_run() -> str:
        proc = r.clue(
            "run",
            task,
            "--model",
            model,
            "--data-dir",
            data,
            "--output-dir",
            run,
            "--set",
            "train.max_steps=6",
            *extra,
            "--quiet",
        )
        expect_rc(proc, 0, "clue run")
        sub = run / "submission"
        names = sorted(p.name for p in sub.iterdir())
        need(names == sorted(BOARD[task]), f"submission/ holds {names}, expected {sorted(BOARD[task])}")
        details = [check_board_file(task, sub / name, data / test) for name, test in BOARD[task].items()]
        res = read_json(run / "results.json")
        need(res.get("status") == "completed", f"results.json status {res.get('status')!r}")
        dev = (res.get("metrics") or {}).get("dev") or {}
        need(res.get("main_metric") == MAIN_METRIC[task], f"main_metric {res.get('main_metric')!r}")
        need(
            isinstance(dev.get(MAIN_METRIC[task]), (int, float)),
            f"results.json dev lacks {MAIN_METRIC[task]}: {dev}",
        )
        return "; ".join(details) + f"; dev {MAIN_METRIC[task]}={dev[MAIN_METRIC[task]]:.1f}"

    ran = r.check("run + leaderboard files", task, do_run)

    def evaluate_gold() -> str:
        gold = gold_dev(task, data, base / "gold")
        proc = r.clue("evaluate", task, gold, "--data-dir", data, "--split", "dev", "--json")
        expect_rc(proc, 0, "clue evaluate")
        scores = json.loads(proc.stdout[proc.stdout.index("{") :])
        bad = {
            m: scores.get(m)
            for m in GOLD_METRICS[task]
            if not (isinstance(scores.get(m), (int, float)) and abs(scores[m] - 100) < 1e-6)
        }
        need(not bad, f"gold dev scored {bad} (full output {scores})")
        return ", ".join(f"{m}={scores[m]:g}" for m in GOLD_METRICS[task])

    r.check("evaluate gold dev = 100", task, evaluate_gold)

    def predict() -> str:
        need(ran, "no run to predict from")
        proc = r.clue("predict", task, "--run", run, "--data-dir", data, "-o", pred, "--quiet")
        expect_rc(proc, 0, "clue predict")
        a = sorted(p.name for p in (run / "submission").iterdir())
        b = sorted(p.name for p in pred.iterdir()) if pred.is_dir() else []
        need(a == b, f"predict wrote {b}, run wrote {a}")
        diff = [n for n in a if (run / "submission" / n).read_bytes() != (pred / n).read_bytes()]
        need(not diff, f"not byte-identical: {diff}")
        return f"{len(a)} file(s) byte-identical"

    r.check("predict == run submission", task, predict)

    def subset() -> str:
        out = base / "subset"
        proc = r.clue(
            "subset",
            task,
            "--data-dir",
            data,
            "--out",
            out,
            "--train",
            9,
            "--dev",
            5,
            "--test",
            4,
            "--seed",
            3,
        )
        expect_rc(proc, 0, "clue subset")
        proc = r.clue("check-data", task, "--data-dir", out)
        expect_rc(proc, 0, "check-data of the subset")
        again = base / "subset-again"
        args = ["--train", 9, "--dev", 5, "--test", 4, "--seed", 3]
        proc = r.clue("subset", task, "--data-dir", data, "--out", again, *args)
        expect_rc(proc, 0, "second clue subset")
        files = sorted(f.name for f in out.iterdir())
        need(files == sorted(f.name for f in again.iterdir()), "second subset has other files")
        diff = [f for f in files if (out / f).read_bytes() != (again / f).read_bytes()]
        need(not diff, f"same seed, different bytes: {diff}")
        return f"subset ({', '.join(files)}) passes check-data; same seed gives the same bytes"

    r.check("subset passes check-data", task, subset)


# ------------------------------------------------------------------------------------------------ cross-task


def bad_input(r: Runner, model: Path) -> None:
    base = r.work / "bad"
    data, out = base / "afqmc", base / "out"
    gen.make_task("afqmc", data, SEED)
    lines = (data / "train.json").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[6] = '{"sentence1": "额度怎么提升", "sentence2": \n'  # line 7: truncated JSON
    (data / "train.json").write_text("".join(lines), encoding="utf-8")

    def fn() -> str:
        proc = r.clue(
            "run",
            "afqmc",
            "--model",
            model,
            "--data-dir",
            data,
            "--output-dir",
            out,
            "--set",
            "train.max_steps=6",
            "--quiet",
        )
        expect_rc(proc, 2, "run on a malformed train.json")
        shown = [line for line in out_text(proc).splitlines() if line.strip()]
        need(len(shown) == 1, f"{len(shown)} output lines, expected one: {tail(proc)}")
        need("train.json:7" in shown[0], f"error line does not name train.json:7: {shown[0]!r}")
        need(not out.exists(), f"output dir {out} was created")
        return shown[0][-160:]

    r.check("malformed train.json -> exit 2", "afqmc", fn)

    # the same for a test file, which is read after training: still no output at all
    data2, out2 = base / "tnews", base / "out-tnews"
    gen.make_task("tnews", data2, SEED)
    lines = (data2 / "test1.0.json").read_text(encoding="utf-8").splitlines(keepends=True)
    lines[4] = '{"id": 4, "keywords": ""}\n'  # line 5: no sentence
    (data2 / "test1.0.json").write_text("".join(lines), encoding="utf-8")

    def fn2() -> str:
        args = ["--data-dir", data2, "--output-dir", out2, "--set", "train.max_steps=6", "--quiet"]
        proc = r.clue("run", "tnews", "--model", model, *args)
        expect_rc(proc, 2, "run with a bad test1.0.json")
        shown = [line for line in out_text(proc).splitlines() if line.strip()]
        need(len(shown) == 1, f"{len(shown)} output lines, expected one: {tail(proc)}")
        need("test1.0.json:5" in shown[0], f"error line does not name test1.0.json:5: {shown[0]!r}")
        need(not out2.exists(), f"output dir {out2} was created")
        return shown[0][-160:]

    r.check("bad test1.0.json record -> exit 2", "tnews", fn2)


def check_data_pinpoints(r: Runner) -> None:
    base = r.work / "pinpoint"

    def ner() -> str:
        data = base / "cluener"
        gen.make_task("cluener", data, SEED)
        rows = (data / "dev.json").read_text(encoding="utf-8").splitlines()
        rec = json.loads(rows[4])  # line 5
        kind = next(iter(rec["label"]))
        ent = next(iter(rec["label"][kind]))
        s, e = rec["label"][kind][ent][0]
        rec["label"][kind][ent][0] = [s + 1, e + 1]
        rows[4] = json.dumps(rec, ensure_ascii=False)
        (data / "dev.json").write_text("\n".join(rows) + "\n", encoding="utf-8")
        proc = r.clue("check-data", "cluener", "--data-dir", data)
        need(proc.returncode == 1, f"exit {proc.returncode}, expected 1: {tail(proc)}")
        hit = [line for line in out_text(proc).splitlines() if "dev.json:5" in line]
        need(hit, f"no line names dev.json:5: {tail(proc)}")
        return hit[0].strip()[-150:]

    r.check("check-data: shifted CLUENER span", "cluener", ner)

    def cmrc() -> str:
        data = base / "cmrc2018"
        gen.make_task("cmrc2018", data, SEED)
        doc = read_json(data / "dev.json")
        qa = doc["data"][1]["paragraphs"][0]["qas"][1]
        qa["answers"][0]["answer_start"] += 3
        (data / "dev.json").write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
        proc = r.clue("check-data", "cmrc2018", "--data-dir", data)
        # A quirk of the official files that the readers tolerate: a note naming the question, exit 0.
        need(proc.returncode == 0, f"exit {proc.returncode}, expected 0 (a note): {tail(proc)}")
        hit = [line for line in out_text(proc).splitlines() if qa["id"] in line and "note:" in line]
        need(hit, f"no note names question {qa['id']}: {tail(proc)}")
        return hit[0].strip()[-150:]

    r.check("check-data: wrong answer_start note", "cmrc2018", cmrc)


def workflow(r: Runner, model: Path) -> None:
    base = r.work / "workflow"
    root, sweep = base / "data", base / "sweep"
    tasks = ["tnews", "afqmc", "csl"]
    for t in tasks:
        gen.make_task(t, root / t, SEED + 1)
    cmd = [
        "bench",
        "--tasks",
        ",".join(tasks),
        "--model",
        model,
        "--seeds",
        "1,2",
        "--data-root",
        root,
        "--output-dir",
        sweep,
        "--set",
        "train.max_steps=4",
        "--quiet",
    ]
    times: dict[str, float] = {}

    def bench1() -> str:
        t0 = time.perf_counter()
        proc = r.clue(*cmd)
        times["first"] = time.perf_counter() - t0
        expect_rc(proc, 0, "clue bench")
        for t in tasks:
            for s in (1, 2):
                res = read_json(sweep / t / f"seed{s}" / "results.json")
                need(res["status"] == "completed", f"{t}/seed{s}: {res['status']}")
        return f"6 cells completed in {times['first']:.1f}s"

    ok = r.check("bench 3 tasks x 2 seeds", "workflow", bench1)

    def bench2() -> str:
        need(ok, "first bench failed")
        t0 = time.perf_counter()
        proc = r.clue(*cmd)
        took = time.perf_counter() - t0
        expect_rc(proc, 0, "second clue bench")
        statuses = [c.get("status") for c in _cells(read_json(sweep / "bench.json"))]
        need(statuses and all(s == "skipped" for s in statuses), f"cell statuses {statuses}")
        need(took < times["first"] / 3, f"second run {took:.1f}s vs first {times['first']:.1f}s")
        return f"all {len(statuses)} cells skipped; {took:.1f}s vs {times['first']:.1f}s first"

    r.check("bench again: all skipped, faster", "workflow", bench2)

    def report() -> str:
        proc = r.clue("report", sweep, "--format", "json")
        expect_rc(proc, 0, "clue report")
        rep = json.loads(proc.stdout[proc.stdout.index("{") :])
        ns = {t: rep["tasks"][t]["n"] for t in tasks}
        need(all(n == 2 for n in ns.values()), f"n per task {ns}")
        need(rep.get("complete") is False, f"complete = {rep.get('complete')!r}")
        return f"n={ns}, complete=false, clue_score={rep.get('clue_score')}"

    r.check("report --format json", "workflow", report)

    def bench_changed() -> str:
        need(ok, "first bench failed")
        before = {p: p.stat().st_mtime_ns for p in sweep.rglob("results.json")}
        changed = [c if c != "train.max_steps=4" else "train.max_steps=5" for c in cmd]
        proc = r.clue(*changed)
        need(proc.returncode != 0, f"a changed --set was accepted: {tail(proc)}")
        need("max_steps" in out_text(proc), f"refusal does not name the key: {tail(proc)}")
        after = {p: p.stat().st_mtime_ns for p in sweep.rglob("results.json")}
        need(before == after, "cells were touched")
        return f"refused (exit {proc.returncode}), cells untouched: {tail(proc, 140)}"

    r.check("bench with changed --set refused", "workflow", bench_changed)

    zpath = base / "submit.zip"
    expected = sorted(n for t in tasks for n in BOARD[t])

    def submit() -> str:
        proc = r.clue("submit", sweep, "-o", zpath)
        expect_rc(proc, 0, "clue submit")
        with zipfile.ZipFile(zpath) as z:
            names = sorted(z.namelist())
        need(names == expected, f"zip holds {names}, expected {expected}")
        for name in names:  # the files are the best-dev run's own leaderboard files
            t = next(t for t in tasks if name in BOARD[t])
            runs = [read_json(sweep / t / f"seed{k}" / "results.json") for k in (1, 2)]
            best = max((1, 2), key=lambda k: (runs[k - 1]["metrics"]["dev"][MAIN_METRIC[t]], -k))
            with zipfile.ZipFile(zpath) as z:
                body = z.read(name)
            need(
                body == (sweep / t / f"seed{best}" / "submission" / name).read_bytes(),
                f"{name} is not seed{best}'s",
            )
        again = base / "submit-again.zip"
        proc = r.clue("submit", sweep, "-o", again)
        expect_rc(proc, 0, "second clue submit")
        need(again.read_bytes() == zpath.read_bytes(), "the same files gave a different zip")
        return f"flat zip, best-dev files, reproducible bytes: {', '.join(names)}"

    sub_ok = r.check("submit -> flat zip", "workflow", submit)

    def validate() -> str:
        need(sub_ok, "no zip")
        proc = r.clue("validate", zpath, "--data-root", root)
        expect_rc(proc, 0, "clue validate of the good zip")
        broken = base / "broken.zip"
        with zipfile.ZipFile(zpath) as src, zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                body = src.read(info)
                if info.filename == "afqmc_predict.json":
                    lines = body.decode("utf-8").splitlines(keepends=True)
                    body = "".join(lines[:5] + lines[6:]).encode("utf-8")  # record id 5 removed
                dst.writestr(info.filename, body)
        proc = r.clue("validate", broken, "--data-root", root)
        need(proc.returncode == 1, f"broken zip: exit {proc.returncode}, expected 1: {tail(proc)}")
        named = [line for line in out_text(proc).splitlines() if "afqmc_predict.json" in line]
        need(named, f"refusal does not name afqmc_predict.json: {tail(proc)}")
        problems = [line for line in out_text(proc).splitlines() if line.startswith("- ")]
        others = [line for line in problems if "afqmc_predict.json" not in line]
        need(problems and not others, f"problem lines {problems}: untouched files reported")
        return f"good zip accepted; copy refused: {named[0].strip()[-120:]}"

    r.check("validate good / record removed", "workflow", validate)

    def validate_layout() -> str:
        need(sub_ok, "no zip")
        nested, old = base / "nested.zip", base / "oldname.zip"
        with zipfile.ZipFile(zpath) as src:
            with zipfile.ZipFile(nested, "w") as dst:
                for info in src.infolist():
                    dst.writestr("submit/" + info.filename, src.read(info))
            with zipfile.ZipFile(old, "w") as dst:
                for info in src.infolist():
                    dst.writestr(info.filename.replace("tnews11_", "tnews_"), src.read(info))
        out = []
        for path, word in ((nested, "submit/"), (old, "tnews_predict.json")):
            proc = r.clue("validate", path, "--data-root", root)
            need(proc.returncode == 1, f"{path.name}: exit {proc.returncode}, expected 1: {tail(proc)}")
            need(word in out_text(proc), f"{path.name}: refusal does not mention {word}: {tail(proc)}")
            out.append(f"{path.name} refused")
        return ", ".join(out)

    r.check("validate: nested folder / old name", "workflow", validate_layout)


def numbers(r: Runner, model: Path) -> None:
    """Issue 10's done-when: recipes, a grid sweep's groups, scoring a checkpoint, per-example predictions,
    official scoring of an incomplete CMRC2018 file, a CLUENER file with U+2028 in its text."""
    base = r.work / "numbers"
    root = base / "data"
    for t in ("tnews", "cmrc2018", "cluener"):
        gen.make_task(t, root / t, SEED + 2)

    def values(proc: subprocess.CompletedProcess[str]) -> dict[str, str]:
        # `clue config` prints YAML with a comment per value; read "  key: value  # source" lines by hand.
        out = {}
        for line in proc.stdout.splitlines():
            m = re.match(r"^\s+(\w+): ([^#]+?)\s+#", line)
            if m:
                out.setdefault(m.group(1), m.group(2))
        return out

    def recipes() -> str:
        paddle = r.clue("config", "tnews", "--model", "roberta-wwm-ext")
        expect_rc(paddle, 0, "clue config")
        v = values(paddle)
        need(
            float(v["lr"]) == 3e-5 and v["batch_size"] == "64",
            f"paddlenlp: lr {v['lr']}, batch {v['batch_size']}",
        )
        bojone = r.clue("config", "tnews", "--model", "roberta-wwm-ext", "--recipe", "bojone")
        expect_rc(bojone, 0, "clue config --recipe bojone")
        b = values(bojone)
        got = (b["optimizer"], float(b["lr"]), b["batch_size"], b["epochs"])
        need(got == ("adafactor", 5e-4, "32", "10"), f"bojone: {got}")
        return f"paddlenlp lr {v['lr']} batch {v['batch_size']}; bojone {got}"

    r.check("config recipes paddlenlp / bojone", "numbers", recipes)

    def grid() -> str:
        sweep = base / "grid"
        proc = r.clue(
            "bench", "--tasks", "tnews", "--model", model, "--data-root", root, "--output-dir", sweep,
            "--seeds", "1,2", "--grid", "train.lr=1e-4,3e-3", "--set", "train.max_steps=4", "--quiet",
        )  # fmt: skip
        expect_rc(proc, 0, "clue bench --grid")
        rep = r.clue("report", sweep, "--format", "json")
        expect_rc(rep, 0, "clue report")
        summary = json.loads(rep.stdout)
        groups = [(g["overrides"], g["n"], g["seeds"]) for g in summary["groups"]]
        need(len(groups) == 2 and all(n == 2 and s == [1, 2] for _, n, s in groups), f"groups {groups}")
        best = max(summary["groups"], key=lambda g: g["mean"])
        need(summary["tasks"]["tnews"]["overrides"] == best["overrides"], "best group not named")
        return f"groups {groups}; best {best['overrides']} mean {best['mean']}"

    r.check("grid 2 lr x 2 seeds -> 2 groups", "numbers", grid)

    run = base / "run"

    def evaluate_model() -> str:
        proc = r.clue(
            "run", "tnews", "--model", model, "--data-dir", root / "tnews", "--output-dir", run,
            "--set", "train.max_steps=6", "--log-samples", "--quiet",
        )  # fmt: skip
        expect_rc(proc, 0, "clue run --log-samples")
        dev = read_json(run / "results.json")["metrics"]["dev"]["accuracy"]
        again = r.clue(
            "evaluate", "tnews", "--model", run / "best", "--data-dir", root / "tnews", "--json", "-q"
        )
        expect_rc(again, 0, "clue evaluate --model")
        score = json.loads(again.stdout)["accuracy"]
        need(abs(score - dev) < 1e-3, f"evaluate --model {score} vs run {dev}")
        return f"run dev {dev:.4f}, evaluate --model {score:.4f}"

    r.check("evaluate --model RUN/best", "numbers", evaluate_model)

    def samples() -> str:
        lines = read_jsonl(run / "predictions" / "dev.jsonl")
        dev = read_jsonl(root / "tnews" / "dev.json")
        need(len(lines) == len(dev), f"{len(lines)} lines for {len(dev)} dev records")
        need(
            all(x["gold"] == d["label"] for x, d in zip(lines, dev, strict=True)),
            "gold labels differ from dev.json",
        )
        acc = 100 * sum(x["prediction"] == x["gold"] for x in lines) / len(lines)
        score = read_json(run / "results.json")["metrics"]["dev"]["accuracy"]
        need(abs(acc - score) < 1e-6, f"accuracy from the lines {acc} vs {score}")
        return f"{len(lines)} lines, accuracy from them {acc:.4f} = run's"

    r.check("predictions/dev.jsonl agrees", "numbers", samples)

    def cmrc_unanswered() -> str:
        doc = read_json(root / "cmrc2018" / "dev.json")
        qas = [qa for a in doc["data"] for p in a["paragraphs"] for qa in p["qas"]]
        kept = qas[: len(qas) * 2 // 3]
        pred = base / "cmrc2018_predict.json"
        pred.write_text(json.dumps({qa["id"]: qa["answers"][0]["text"] for qa in kept}, ensure_ascii=False))
        proc = r.clue("evaluate", "cmrc2018", pred, "--data-dir", root / "cmrc2018", "--json")
        expect_rc(proc, 0, "clue evaluate (unanswered questions)")
        got = json.loads(proc.stdout)
        # cmrc2018_evaluate.py: an unanswered question stays in the total with 0 EM and 0 F1.
        want = round(100 * len(kept) / len(qas), 4)
        need(got["em"] == want and got["f1"] == want, f"em/f1 {got['em']}/{got['f1']}, official {want}")
        need(
            f"{len(qas) - len(kept)} of {len(qas)} questions have no answer" in " ".join(proc.stderr.split()),
            "no warning",
        )
        strict = r.clue("evaluate", "cmrc2018", pred, "--data-dir", root / "cmrc2018", "--strict")
        need(strict.returncode == 2, f"--strict: exit {strict.returncode}")
        return (
            f"{len(qas) - len(kept)} of {len(qas)} unanswered: EM = F1 = {want} (official); --strict refuses"
        )

    r.check("cmrc2018 file with unanswered", "numbers", cmrc_unanswered)

    def cluener_u2028() -> str:
        data = base / "cluener-u2028"
        shutil.copytree(root / "cluener", data)
        records = read_jsonl(data / "test.json")
        records[0]["text"] = records[0]["text"][:2] + "\u2028" + records[0]["text"][2:]
        (data / "test.json").write_text(
            "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in records), encoding="utf-8"
        )
        # bojone's layout: the whole test record plus "label", so the line holds the raw U+2028 too.
        lines = [{**x, "label": {}} for x in records]
        sub = base / "u2028" / "cluener_predict.json"
        sub.parent.mkdir(parents=True, exist_ok=True)
        sub.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
        need("\u2028" in sub.read_text(encoding="utf-8"), "no U+2028 in the file")
        (base / "u2028-root").mkdir(exist_ok=True)
        target = base / "u2028-root" / "cluener"
        if not target.exists():
            target.symlink_to(data)
        proc = r.clue("validate", sub, "--data-root", base / "u2028-root")
        expect_rc(proc, 0, "clue validate (U+2028 in a text)")
        return f"{len(lines)} lines with a raw U+2028 in line 1: validate ok"

    r.check("cluener U+2028 passes validate", "numbers", cluener_u2028)


def _cells(bench: Any) -> list[dict[str, Any]]:
    if isinstance(bench, dict):
        for key in ("cells", "runs"):
            if isinstance(bench.get(key), list):
                return bench[key]
        return [v for v in bench.values() if isinstance(v, dict) and "status" in v]
    return list(bench)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    requests: ClassVar[list[str]] = []  # paths asked for, in order (shared by every handler instance)

    def do_GET(self) -> None:
        _QuietHandler.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        pass


def downloads(r: Runner, model: Path) -> None:
    base = r.work / "download"
    src, served, root = base / "src", base / "served", base / "root"
    served.mkdir(parents=True, exist_ok=True)
    # (task, top-level folder inside the zip or "" for a flat one)
    plan = [("afqmc", ""), ("cmnli", "cmnli_public/"), ("chid", "chid_public/"), ("tnews", ""), ("csl", "")]
    table: dict[str, Any] = {}
    for task, folder in plan:
        gen.make_task(task, src / task, SEED + 2)
        zp = served / f"{task}_public.zip"
        with zipfile.ZipFile(zp, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted((src / task).iterdir()):
                z.write(f, folder + f.name)
            if folder:  # what a zip made on macOS also holds: resource forks and hidden files, to be skipped
                z.writestr(f"__MACOSX/{folder}._train.json", b"\x00\x05\x16\x07 not json")
                z.writestr(f"{folder}.DS_Store", b"\x00\x00\x00\x01Bud1")
        body = zp.read_bytes()
        table[task] = {
            "archive": task,
            "zip": {
                "md5": hashlib.md5(body).hexdigest(),
                "sha256": hashlib.sha256(body).hexdigest(),
                "size": len(body),
            },
            "files": {f.name: {"md5": md5(f)} for f in sorted((src / task).iterdir())},
        }
    good = base / "checksums.json"
    good.write_text(json.dumps({t: table[t] for t in ("afqmc", "cmnli", "chid")}, indent=2), encoding="utf-8")
    bad = json.loads(json.dumps(table))
    bad["tnews"]["zip"]["md5"] = "0" * 32  # the zip's digest is wrong
    bad["csl"]["files"]["dev.json"]["md5"] = "f" * 32  # the zip is right, one extracted file is not
    bad_path = base / "checksums-bad.json"
    bad_path.write_text(json.dumps({t: bad[t] for t in ("tnews", "csl")}, indent=2), encoding="utf-8")

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(served))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        for task, folder in plan[:3]:

            def fn(task: str = task, folder: str = folder) -> str:
                proc = r.clue(
                    "download", task, "--base-url", url, "--data-root", root, "--checksums", good, "--quiet"
                )
                expect_rc(proc, 0, "clue download")
                dest = root / task
                files = sorted(p.name for p in dest.iterdir() if not p.name.startswith("."))
                want = sorted(p.name for p in (src / task).iterdir())
                need(files == want, f"{dest} holds {files}, expected {want}")
                diff = [f for f in want if md5(dest / f) != md5(src / task / f)]
                need(not diff, f"files differ from the served ones: {diff}")
                out = base / "runs" / task
                proc = r.clue(
                    "run",
                    task,
                    "--model",
                    model,
                    "--output-dir",
                    out,
                    "--set",
                    "train.max_steps=3",
                    "--quiet",
                    env={"CLUE_DATA_DIR": str(root)},
                )
                expect_rc(proc, 0, "clue run on the downloaded folder (via CLUE_DATA_DIR)")
                res = read_json(out / "results.json")
                need(res["status"] == "completed", f"run status {res['status']}")
                layout = f"zip with {folder.rstrip('/')}/, __MACOSX/, .DS_Store" if folder else "flat zip"
                return f"{layout}: {len(files)} files laid out flat, identical; clue run completed"

            r.check("download (local http) + run", task, fn)

        def again() -> str:
            manifest = root / "afqmc" / ".clue-download.json"
            before, asked = manifest.read_bytes(), len(_QuietHandler.requests)
            proc = r.clue(
                "download", "afqmc", "--base-url", url, "--data-root", root, "--checksums", good, "--quiet"
            )
            expect_rc(proc, 0, "second clue download")
            need(len(_QuietHandler.requests) == asked, f"fetched again: {_QuietHandler.requests[asked:]}")
            need(manifest.read_bytes() == before, ".clue-download.json rewritten")
            return "verified folder kept, no request to the server"

        r.check("download again: not refetched", "afqmc", again)

        def truncated() -> str:
            body = (served / "csl_public.zip").read_bytes()
            (served / "cluener_public.zip").write_bytes(
                body[: len(body) // 2]
            )  # no published checksums: only the zip's own CRCs can catch it
            proc = r.clue("download", "cluener", "--base-url", url, "--data-root", root, "--quiet")
            need(proc.returncode != 0, f"a truncated zip was accepted: {tail(proc)}")
            need(not (root / "cluener").exists(), "task folder created")
            left = [str(p.relative_to(root)) for p in root.rglob("*") if "cluener" in p.name]
            need(not left, f"left behind: {left}")
            return f"refused (exit {proc.returncode}), nothing left: {tail(proc, 140)}"

        r.check("download: truncated zip refused", "cluener", truncated)

        for task, what in (("tnews", "zip md5"), ("csl", "dev.json md5")):

            def refuse(task: str = task, what: str = what) -> str:
                proc = r.clue(
                    "download",
                    task,
                    "--base-url",
                    url,
                    "--data-root",
                    root,
                    "--checksums",
                    bad_path,
                    "--quiet",
                )
                need(proc.returncode != 0, f"a wrong {what} was accepted: {tail(proc)}")
                need(
                    "mismatch" in out_text(proc).lower() or "checksum" in out_text(proc).lower(),
                    f"no checksum message: {tail(proc)}",
                )
                need(not (root / task).exists(), f"{root / task} exists after the refusal")
                left = [str(p.relative_to(root)) for p in root.rglob("*") if task in p.name]
                need(not left, f"left behind: {left}")
                return f"refused (exit {proc.returncode}), nothing left: {tail(proc, 140)}"

            r.check(f"download: wrong {what} refused", task, refuse)
    finally:
        server.shutdown()


# ------------------------------------------------------------------------------------------------ main


def print_table(results: list[dict[str, Any]], total: float) -> None:
    try:
        from rich.console import Console
        from rich.table import Table

        table = Table(
            title=f"clue-runner acceptance ({sum(r['ok'] for r in results)}/{len(results)} passed, {total:.0f}s)"
        )
        for col in ("#", "task", "check", "result", "s", "detail"):
            table.add_column(col, overflow="fold")
        for i, r in enumerate(results, 1):
            table.add_row(
                str(i),
                r["task"],
                r["check"],
                "PASS" if r["ok"] else "[red]FAIL[/red]",
                f"{r['seconds']:.1f}",
                r["detail"][:200],
            )
        Console(width=200).print(table)
    except ImportError:
        for i, r in enumerate(results, 1):
            print(
                f"{i:>3} {r['task']:<11} {r['check']:<34} {'PASS' if r['ok'] else 'FAIL'} {r['seconds']:>6.1f}s {r['detail'][:200]}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab", required=True, type=Path, help="bert-base-chinese vocab.txt")
    parser.add_argument("--work", type=Path, help="work folder (default: a new temp folder)")
    parser.add_argument("--tasks", default="all", help="all, or task names separated by commas")
    parser.add_argument("--skip-workflow", action="store_true", help="only the per-task checks")
    args = parser.parse_args(argv)
    tasks = list(ALL) if args.tasks == "all" else [t.strip() for t in args.tasks.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in ALL]
    if unknown:
        parser.error(f"unknown task(s): {', '.join(unknown)}")
    if not args.vocab.is_file():
        parser.error(f"--vocab {args.vocab}: no such file")
    work = args.work or Path(tempfile.mkdtemp(prefix="clue-acceptance-"))
    if work.exists() and any(work.iterdir()):
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"work folder: {work}", flush=True)
    r = Runner(work, args.vocab.resolve())
    t0 = time.perf_counter()
    model = work / "tiny-model"

    def tiny() -> str:
        proc = r.clue("tiny-model", model, "--vocab", r.vocab)
        expect_rc(proc, 0, "clue tiny-model")
        return proc.stdout.strip().splitlines()[0] if proc.stdout.strip() else ""

    if r.check("tiny-model with the real vocab", "-", tiny):
        for task in tasks:
            task_checks(r, task, model)
        if not args.skip_workflow:
            bad_input(r, model)
            check_data_pinpoints(r)
            workflow(r, model)
            numbers(r, model)
            downloads(r, model)
    total = time.perf_counter() - t0
    (work / "acceptance.json").write_text(
        json.dumps({"total_s": round(total, 1), "checks": r.results}, ensure_ascii=False, indent=2),
        encoding="utf-8",
    )
    print()
    print_table(r.results, total)
    failed = [x for x in r.results if not x["ok"]]
    print(
        f"\n{len(r.results) - len(failed)}/{len(r.results)} checks passed in {total:.0f}s; log: {work / 'acceptance.log'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
