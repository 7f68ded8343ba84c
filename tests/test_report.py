"""`clue report` on hand-written results.json fixtures: statistics, CLUE score, comparisons, formats, plots.

The JSON / Markdown / CSV outputs on the fixed sweep below are golden files in tests/golden/report/. To refresh one
after an intended format change, delete it and run with CLUE_WRITE_GOLDEN=1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from clue_runner import report
from clue_runner.cli import app
from clue_runner.errors import ClueError
from clue_runner.registry import LEADERBOARD_TASKS

GOLDEN = Path(__file__).parent / "golden" / "report"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def write_run(
    folder: Path,
    task: str,
    seed: int,
    dev: dict[str, float] | None,
    *,
    status: str = "completed",
    main: str = "accuracy",
    model: str = "bert-base-chinese",
    steps: int = 300,
    train_s: float = 60.0,
    tokens_per_s: float = 5000.0,
    config: dict[str, Any] | None = None,
) -> Path:
    """A results.json as the runner writes it (only the keys the report reads, plus a few it must ignore)."""
    run = folder / task / f"seed{seed}"
    run.mkdir(parents=True)
    results: dict[str, Any] = {
        "schema": 1,
        "task": task,
        "task_version": 1,
        "model": {"name": model, "resolved": f"hub/{model}"},
        "status": status,
        "error": None if status != "failed" else "NonFiniteLoss: loss is nan at step 7",
        "seed": seed,
        "main_metric": main,
        "started_at": "2026-01-01T00:00:00+00:00",
    }
    if config is not None:
        results["config"] = {"seed": seed, "model": model, **config}
    if status == "completed":
        assert dev is not None
        results.update(
            metrics={"dev": dev, "dev_final": dev, "history": [{"step": steps, "epoch": 3.0, **dev}]},
            best_step=steps,
            steps=steps,
            epochs=3.0,
            timings={
                "tokenize_s": 1.0,
                "train_s": train_s,
                "eval_s": 2.0,
                "predict_s": 1.0,
                "total_s": train_s + 5,
            },
            throughput={"train_tokens_per_s": tokens_per_s, "train_sequences_per_s": tokens_per_s / 50},
        )
    (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return run


@pytest.fixture()
def sweep(tmp_path: Path) -> Path:
    """tnews x2, afqmc x2 (+1 failed), cmrc2018 x2 (EM counts), cmnli x1 (not in the 1.1 score), ocnli unfinished."""
    root = tmp_path / "sweep"
    write_run(root, "tnews", 1, {"accuracy": 56.0}, steps=900, train_s=100.0)
    write_run(root, "tnews", 2, {"accuracy": 57.5}, steps=900, train_s=110.0)
    write_run(root, "afqmc", 1, {"accuracy": 73.0})
    write_run(root, "afqmc", 2, {"accuracy": 74.0})
    write_run(root, "afqmc", 3, None, status="failed")
    write_run(root, "cmrc2018", 1, {"average": 78.0, "em": 68.0, "f1": 88.0}, main="average")
    write_run(root, "cmrc2018", 2, {"average": 79.0, "em": 70.0, "f1": 88.0}, main="average")
    write_run(root, "cmnli", 1, {"accuracy": 80.0})
    write_run(root, "ocnli", 1, None, status="running")
    return root


def test_statistics_and_clue_score(sweep: Path) -> None:
    summary = report.summarize(report.find_runs([sweep]))
    tnews = summary["tasks"]["tnews"]
    assert (tnews["mean"], tnews["n"], tnews["min"], tnews["max"]) == (56.75, 2, 56.0, 57.5)
    assert tnews["std"] == pytest.approx(1.0607, abs=1e-4)  # sample std of (56, 57.5)
    assert tnews["steps"] == 900 and tnews["train_s"] == 105.0 and tnews["seeds"] == [1, 2]
    afqmc = summary["tasks"]["afqmc"]
    assert afqmc["n"] == 2 and afqmc["failed"] == 1 and afqmc["mean"] == 73.5
    # CMRC2018's leaderboard figure is EM, not the main (checkpoint-selection) metric.
    cmrc = summary["tasks"]["cmrc2018"]
    assert cmrc["metric"] == "em" and cmrc["mean"] == 69.0
    assert cmrc["metrics"]["f1"]["mean"] == 88.0 and cmrc["metrics"]["f1"]["std"] == 0.0
    cmnli = summary["tasks"]["cmnli"]
    assert cmnli["in_clue_score"] is False and cmnli["n"] == 1 and cmnli["std"] is None
    ocnli = summary["tasks"]["ocnli"]
    assert ocnli["n"] == 0 and ocnli["unfinished"] == 1 and ocnli["mean"] is None
    # Scored tasks: tnews, afqmc, cmrc2018 (EM) only: CMNLI is off the 1.1 board, OCNLI has no completed run.
    # A partial set gets no CLUE score: the report names the missing tasks instead.
    assert summary["clue_tasks"] == ["afqmc", "tnews", "cmrc2018"]
    assert summary["clue_score"] is None
    assert summary["complete"] is False
    assert "ocnli" in summary["missing"] and "cmnli" not in summary["missing"]


def _lr(lr: float, batch: int = 32) -> dict[str, Any]:
    return {"train": {"lr": lr, "batch_size": batch, "log_every": 10}, "data": {"max_len": 128}}


def test_runs_with_different_configs_are_never_pooled(tmp_path: Path) -> None:
    """The report that pooled lr 1e-4 and 5e-5 runs into one row 'n=3, seeds [1, 1, 2]' must keep them apart."""
    write_run(tmp_path / "a", "tnews", 1, {"accuracy": 50.0}, config=_lr(1e-4))
    write_run(tmp_path / "a", "tnews", 2, {"accuracy": 52.0}, config=_lr(1e-4))
    write_run(tmp_path / "b", "tnews", 1, {"accuracy": 56.0}, config=_lr(5e-5))
    # log_every cannot change a score: a run differing only there joins its group.
    write_run(
        tmp_path / "c",
        "tnews",
        3,
        {"accuracy": 51.0},
        config={**_lr(1e-4), "train": {**_lr(1e-4)["train"], "log_every": 1}},
    )
    summary = report.summarize(report.find_runs([tmp_path]))
    groups = {g["overrides"]["train.lr"]: g for g in summary["groups"]}
    assert set(groups) == {1e-4, 5e-5} and all(set(g["overrides"]) == {"train.lr"} for g in groups.values())
    assert (groups[1e-4]["n"], groups[1e-4]["seeds"], groups[1e-4]["mean"]) == (3, [1, 2, 3], 51.0)
    assert (groups[5e-5]["n"], groups[5e-5]["seeds"]) == (1, [1])
    best = summary["tasks"]["tnews"]
    assert best["overrides"] == {"train.lr": 5e-5} and best["mean"] == 56.0 and best["groups"] == 2
    header, body = report.rows(summary)
    assert [r[:2] for r in body[:-1]] == [["tnews", "best of 2: lr=5e-05"]]
    header, body = report.rows(summary, every_group=True)
    assert [(r[1], r[header.index("n")]) for r in body[:-1]] == [("lr=5e-05", "1"), ("lr=0.0001", "3")]


def test_runs_launched_differently_are_never_pooled(tmp_path: Path) -> None:
    """The same config.yaml on 1 and on 4 processes (4x the global batch), or resolved to bf16 on a GPU and fp32
    on a CPU (`train.precision: auto`), is not the same training: separate groups, labelled by what differs."""

    def launched(run: Path, processes: int, precision: str) -> None:
        results = json.loads((run / "results.json").read_text(encoding="utf-8"))
        results["batch"] = {
            "per_device": 32,
            "grad_accum": 1,
            "world_size": processes,
            "global": 32 * processes,
        }
        results["environment"] = {"precision": precision}
        (run / "results.json").write_text(json.dumps(results), encoding="utf-8")

    for folder, seed, score, processes, precision in (
        ("a", 1, 50.0, 1, "bf16"),
        ("a", 2, 52.0, 1, "bf16"),
        ("b", 1, 56.0, 4, "bf16"),
        ("c", 1, 40.0, 1, "no"),
    ):
        run = write_run(tmp_path / folder, "tnews", seed, {"accuracy": score}, config=_lr(1e-4))
        launched(run, processes, precision)
    summary = report.summarize(report.find_runs([tmp_path]))
    groups = {
        (g["overrides"]["launch.processes"], g["overrides"]["launch.precision"]): g for g in summary["groups"]
    }
    assert {k: (g["n"], g["mean"]) for k, g in groups.items()} == {
        (1, "bf16"): (2, 51.0),
        (4, "bf16"): (1, 56.0),
        (1, "no"): (1, 40.0),
    }
    _, body = report.rows(summary, every_group=True)
    assert "precision=bf16 processes=4" in [r[1] for r in body]


def test_complete_when_every_leaderboard_task_is_present(tmp_path: Path) -> None:
    for i, task in enumerate(LEADERBOARD_TASKS):
        write_run(tmp_path, task, 1, {"accuracy": 50.0 + i})
    summary = report.summarize(report.find_runs([tmp_path]))
    assert summary["complete"] is True and summary["missing"] == []
    assert summary["clue_score"] == pytest.approx(50.0 + (len(LEADERBOARD_TASKS) - 1) / 2)


def test_every_task_figure_is_its_board_metric(tmp_path: Path) -> None:
    """CLUENER's figure (and so the CLUE score) is the leaderboard macro F1, not the micro-F1 main metric; every
    other task's figure is `Task.board_metric` too; a run without that metric falls back to its main metric."""
    from clue_runner.registry import get_task

    ner = {"f1": 80.0, "precision": 81.0, "recall": 79.0, "macro_f1": 70.0, "f1_address": 60.0}
    write_run(tmp_path, "cluener", 1, ner, main="f1")
    write_run(tmp_path, "cluener", 2, {**ner, "f1": 82.0, "macro_f1": 72.0}, main="f1")
    write_run(tmp_path, "tnews", 1, {"accuracy": 56.0})
    summary = report.summarize(report.find_runs([tmp_path]))
    cluener = summary["tasks"]["cluener"]
    assert cluener["metric"] == "macro_f1" and cluener["mean"] == 71.0
    assert cluener["metrics"]["f1"]["mean"] == 81.0 and cluener["metrics"]["f1_address"]["mean"] == 60.0
    assert summary["clue_score"] is None  # partial: no CLUE score
    assert summary["tasks"]["tnews"]["mean"] == 56.0
    header, body = report.rows(summary)
    row = dict(zip(header, next(r for r in body if r[0] == "cluener"), strict=True))
    assert row["metric"] == "macro_f1" and row["mean"] == "71.00"
    assert "f1 81.00±1.41" in row["other metrics"] and "f1_address 60.00" in row["other metrics"]
    assert "macro_f1" not in row["other metrics"]
    for task in LEADERBOARD_TASKS:
        spec = get_task(task)
        dev = {m: 50.0 for m in spec.metrics}
        results = {
            "task": task,
            "status": "completed",
            "main_metric": spec.main_metric,
            "metrics": {"dev": dev},
        }
        assert report.figure_metric(task, results) == spec.board_metric
    old = {"task": "cluener", "status": "completed", "main_metric": "f1", "metrics": {"dev": {"f1": 80.0}}}
    assert report.figure_metric("cluener", old) == "f1" and report.figure(old) == 80.0
    other = {"task": "mytask", "status": "completed", "main_metric": "acc", "metrics": {"dev": {"acc": 1.0}}}
    assert report.figure_metric("mytask", other) == "acc"


def test_compare_published_and_unknown_models(sweep: Path, tmp_path: Path) -> None:
    summary = report.summarize(report.find_runs([sweep]), compare="bojone")
    tnews = summary["tasks"]["tnews"]["published"]
    assert tnews["value"] == 56.29 and tnews["delta"] == pytest.approx(56.75 - 56.29, abs=1e-4)
    assert summary["tasks"]["cmrc2018"]["published"]["value"] == 72.10  # bojone's CMRC2018 figure (EM)
    paddle = report.summarize(report.find_runs([sweep]), compare="paddlenlp")
    assert paddle["tasks"]["cmrc2018"]["published"] == {
        "value": 65.30,
        "delta": 3.7,
        "note": None,
        "f1": 86.53,
    }
    # A hub id maps back to its short name.
    other = tmp_path / "hub"
    write_run(other, "tnews", 1, {"accuracy": 58.0}, model="hfl/chinese-roberta-wwm-ext")
    assert (
        report.summarize(report.find_runs([other]), "bojone")["tasks"]["tnews"]["published"]["value"] == 58.35
    )
    # A model no source knows: the column says so instead of inventing a number.
    unknown = tmp_path / "unknown"
    write_run(unknown, "tnews", 1, {"accuracy": 58.0}, model="/models/my-bert")
    entry = report.summarize(report.find_runs([unknown]), "clue")["tasks"]["tnews"]["published"]
    assert entry["value"] is None and entry["delta"] is None and "no clue figures for model" in entry["note"]
    with pytest.raises(ClueError, match="unknown --compare source"):
        report.summarize(report.find_runs([sweep]), compare="bert4keras")


def test_mixed_models_and_empty_folders_are_refused(tmp_path: Path) -> None:
    write_run(tmp_path / "a", "tnews", 1, {"accuracy": 50.0}, model="bert-base-chinese")
    write_run(tmp_path / "b", "tnews", 1, {"accuracy": 50.0}, model="rbt3")
    with pytest.raises(ClueError, match="several models"):
        report.summarize(report.find_runs([tmp_path / "a", tmp_path / "b"]))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ClueError, match="no results.json"):
        report.find_runs([tmp_path / "empty"])
    with pytest.raises(ClueError, match="not found"):
        report.find_runs([tmp_path / "nope"])


def test_golden_json_markdown_csv(sweep: Path, assert_golden: Any) -> None:
    runs = report.find_runs([sweep])
    assert_golden(GOLDEN / "sweep_bojone.json", report.render_json(report.summarize(runs, "bojone")))
    assert_golden(GOLDEN / "sweep_bojone.md", report.render_markdown(report.summarize(runs, "bojone")))
    assert_golden(GOLDEN / "sweep.csv", report.render_csv(report.summarize(runs)))


def test_cli_formats(sweep: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clue_runner.cli.app import console

    monkeypatch.setattr(console, "width", 80)
    runner = CliRunner()
    result = runner.invoke(app, ["report", str(sweep), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["complete"] is False and data["tasks"]["tnews"]["n"] == 2
    assert set(data["tasks"]["tnews"]) >= {"metric", "mean", "std", "min", "max", "n"}
    table = runner.invoke(
        app, ["report", str(sweep / "tnews"), str(sweep / "afqmc"), "--compare", "paddlenlp"]
    )
    assert table.exit_code == 0, table.output
    assert "CLUE 1.1 score" in table.stdout and "56.75" in table.stdout and "partial" in table.stdout
    assert (
        max(len(line) for line in table.stdout.splitlines()) <= 80
    )  # the default table fits a narrow terminal
    cmnli = runner.invoke(app, ["report", str(sweep / "cmnli")])
    assert "cmnli*" in cmnli.stdout and "* not part of the CLUE 1.1 score" in cmnli.stdout
    bad = runner.invoke(app, ["report", str(sweep), "--format", "yaml"])
    assert bad.exit_code == 2 and "unknown --format" in bad.output


def test_subprocess_markdown(sweep: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "clue_runner",
            "report",
            str(sweep),
            "--format",
            "markdown",
            "--compare",
            "bojone",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == report.render_markdown(report.summarize(report.find_runs([sweep]), "bojone"))
    missing = subprocess.run(
        [sys.executable, "-m", "clue_runner", "report", str(sweep / "nope")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert missing.returncode == 2 and "not found" in missing.stderr


def test_plot_scores_and_learning_curves(sweep: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    runner = CliRunner()
    scores = tmp_path / "scores.png"
    result = runner.invoke(app, ["report", str(sweep), "--compare", "bojone", "--plot", str(scores)])
    assert result.exit_code == 0, result.output
    assert scores.read_bytes().startswith(PNG_MAGIC) and scores.stat().st_size > 5000

    run = sweep / "tnews" / "seed1"
    lines: list[dict[str, Any]] = [
        {"step": s, "epoch": s / 300, "loss": 2.0 / s, "lr": 1e-5 * s, "elapsed_s": s} for s in (10, 20, 30)
    ]
    lines.insert(2, {"step": 20, "epoch": 0.07, "dev": {"accuracy": 51.0}})
    text = "".join(json.dumps(r) + "\n" for r in lines) + '{"step": 40, "lo'  # torn last line: a killed run
    (run / "metrics.jsonl").write_text(text, encoding="utf-8")
    train, evals = report.read_metrics_log(run / "metrics.jsonl")
    assert [r["step"] for r in train] == [10, 20, 30] and evals[0]["dev"] == {"accuracy": 51.0}
    curves = tmp_path / "curves.png"
    result = runner.invoke(app, ["report", str(run), "--plot", str(curves)])
    assert result.exit_code == 0, result.output
    assert curves.read_bytes().startswith(PNG_MAGIC) and curves.stat().st_size > 5000


def test_plot_without_matplotlib_says_how_to_install(
    sweep: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    with pytest.raises(ClueError, match=r"pip install 'clue-runner\[plot\]'"):
        report.plot_scores(report.summarize(report.find_runs([sweep])), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_learning_curves_need_a_metrics_log(sweep: Path, tmp_path: Path) -> None:
    run = sweep / "afqmc" / "seed1"
    with pytest.raises(ClueError, match="no metrics.jsonl"):
        report.plot_curves(run, {}, tmp_path / "c.png")


def _inside(inner: Any, outer: Any) -> bool:
    return (
        inner.x0 >= outer.x0 - 1
        and inner.x1 <= outer.x1 + 1
        and inner.y0 >= outer.y0 - 1
        and inner.y1 <= outer.y1 + 1
    )


def _overlaps(a: Any, b: Any) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_plots_keep_legends_off_the_data_and_labels_visible(tmp_path: Path) -> None:
    """CLUENER's ten per-type curves get their own panel; no legend covers an axes; every bar's value label lies
    inside its axes (not clipped at the top)."""
    pytest.importorskip("matplotlib")
    from clue_runner.tasks.cluener import LABELS

    per_type = {f"f1_{k}": 50.0 + i for i, k in enumerate(LABELS)}
    dev = {"f1": 80.0, "precision": 81.0, "recall": 79.0, "macro_f1": 70.0, **per_type}
    run = write_run(tmp_path, "cluener", 1, dev, main="f1")
    lines = [{"step": s, "loss": 1.0 / s, "lr": 1e-5} for s in (10, 20)] + [{"step": 20, "dev": dev}]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines), encoding="utf-8")
    fig = report.curves_figure(run, {"task": "cluener", "best_step": 20})
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["training loss", "learning rate", "dev metrics", "dev F1 per type"]
    headline, types = fig.axes[2].get_legend(), fig.axes[3].get_legend()
    assert [t.get_text() for t in headline.get_texts()] == [
        "f1",
        "macro_f1",
        "precision",
        "recall",
        "best step",
    ]
    assert [t.get_text() for t in types.get_texts()][:-1] == sorted(LABELS)
    for legend in (headline, types):
        box = legend.get_window_extent(renderer)
        assert not any(_overlaps(box, ax.get_window_extent(renderer)) for ax in fig.axes)
    for i, task in enumerate(("tnews", "afqmc", "csl")):
        write_run(tmp_path / "sweep", task, 1, {"accuracy": 95.0 - i})
        write_run(tmp_path / "sweep", task, 2, {"accuracy": 99.0 - i})
    fig = report.scores_figure(report.summarize(report.find_runs([tmp_path / "sweep"]), "bojone"), "bojone")
    fig.canvas.draw()
    (ax,) = fig.axes
    frame = ax.get_window_extent(renderer)
    labels = [t for t in ax.texts if t.get_text().replace(".", "").isdigit()]
    assert len(labels) == 6  # ours and bojone's, for each task
    assert all(_inside(t.get_window_extent(renderer), frame) for t in labels)
    assert not _overlaps(ax.get_legend().get_window_extent(renderer), frame)
    assert "no CLUE 1.1 score" in ax.get_title()
