"""Workflow commands over many runs: bench (sweeps), report (statistics), submit (zip), validate (checks).

Exit status: 0 on success; 1 when a sweep has failed cells, a submission has problems, or validation finds any;
2 for a usage error (bad option, missing folder), as for every command.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table
from rich.text import Text

from clue_runner.cli.app import (
    LOG_EVERY_OPT,
    QUIET_OPT,
    REPORT_TO_OPT,
    app,
    console,
    err_console,
    fail,
    quiet_logging,
    styled,
)

if TYPE_CHECKING:
    from clue_runner.bench import Cell
    from clue_runner.submission import Validation

CONFIG_OPT = typer.Option(
    None,
    "--config",
    "-c",
    metavar="FILE",
    help="YAML file of config overrides for every cell (repeatable) [default: none].",
)
SET_OPT = typer.Option(
    None,
    "--set",
    "-s",
    metavar="KEY=VALUE",
    help="Override one key in every cell, e.g. --set train.epochs=2 (repeatable) [default: none].",
)
DATA_ROOT_OPT = typer.Option(
    None,
    "--data-root",
    help="Folder holding one <task>/ folder per task [default: $CLUE_DATA_DIR, else "
    "~/.cache/clue_runner/data].",
)


def _score(cell: Cell) -> str:
    return f"{cell.score:.2f}" if cell.score is not None else "–"


def _name(cell: Cell) -> str:
    """The task, and the grid point where there is one: `tnews lr=2e-5 batch_size=32`."""
    from clue_runner.bench import grid_folder

    return f"{cell.task} {grid_folder(cell.grid).replace('_', ' ')}".strip()


@app.command("bench")
def bench_cmd(
    tasks: str = typer.Option(
        ...,
        "--tasks",
        "-t",
        help="`all` (the 11 tasks) or task names / task files (*.yaml) separated by commas.",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Short name, hub id or local folder [default: config key `model`, bert-base-chinese].",
    ),
    seeds: str | None = typer.Option(
        None, "--seeds", help="Seeds separated by commas, one cell each [default: config `seed`]."
    ),
    data_root: Path | None = DATA_ROOT_OPT,
    output_dir: Path = typer.Option(
        Path("runs/bench"), "--output-dir", "-o", help="Sweep folder; cells go to <out>/<task>/seed<k>/."
    ),
    recipe: str = typer.Option(
        "paddlenlp",
        "--recipe",
        help="Published recipe every cell starts from (see `clue recipes`), or a recipe file.",
    ),
    config: list[Path] = CONFIG_OPT,
    set_: list[str] = SET_OPT,
    grid: list[str] = typer.Option(
        None,
        "--grid",
        "-g",
        help="Search a config key over values, e.g. --grid train.lr=1e-5,2e-5 (repeatable: every combination; "
        "cells go to <out>/<task>/lr=1e-5_.../seed<k>/).",
    ),
    offline: bool = typer.Option(False, "--offline", help="Never touch the network."),
    quiet: bool = QUIET_OPT,
    log_every_s: float = LOG_EVERY_OPT,
    report_to: str | None = REPORT_TO_OPT,
    shard: str | None = typer.Option(
        None,
        "--shard",
        help="K/N: run only every N-th cell from the K-th (a fixed split for job arrays) [default: take any "
        "free cell].",
    ),
) -> None:
    """Run every (task, grid point, seed) cell as a `clue run`; re-running skips completed cells, resumes
    interrupted ones from their checkpoints and retries the rest.

    Several `clue bench` processes over one sweep folder share the cells (each cell is locked while it runs).
    Works under `accelerate launch -m clue_runner bench ...` too: cells run in this process.
    """
    from functools import partial

    from clue_runner.bench import (
        SweepInterrupted,
        is_main_process,
        parse_grid,
        parse_seeds,
        parse_shard,
        parse_tasks,
        run_bench,
    )
    from clue_runner.runner import run_task

    quiet_logging(quiet)
    main = is_main_process()
    if report_to is not None:  # part of each cell's config, like any --set
        set_ = [*(set_ or []), f"output.report_to={report_to}"]

    def on_cell(cell: Cell) -> None:
        if not main or quiet:
            return
        if cell.status == "running":
            err_console.print(
                Text.assemble(styled(_name(cell), "bold"), f" seed {cell.seed}: running -> {cell.dir}")
            )
        else:
            detail = f"{cell.metric} {_score(cell)}" if cell.status == "completed" else str(cell.error)
            err_console.print(
                Text.assemble(
                    styled(_name(cell), "bold"),
                    f" seed {cell.seed}: {cell.status} ({detail}, {cell.seconds:.0f} s)",
                )
            )

    try:
        cells = run_bench(
            parse_tasks(tasks),
            model,
            parse_seeds(seeds),
            output_dir,
            data_root,
            list(config or []),
            list(set_ or []),
            offline=offline,
            progress=not quiet,
            on_cell=on_cell,
            recipe=recipe,
            grid=parse_grid(list(grid or [])),
            run=partial(run_task, log_every_s=log_every_s),
            shard=parse_shard(shard),
        )
    except SweepInterrupted as stop:
        if main:
            print(
                f"interrupted at step {stop.step} of {stop.cell.task} seed {stop.cell.seed}; resume with the same "
                f"clue bench command (or: clue resume {stop.cell.dir})",
                flush=True,
            )
        raise typer.Exit(stop.exit_code) from None
    if not main:
        return
    table = Table(title=f"clue bench: {output_dir}")
    for name in ("task", "seed", "status", "metric", "score", "time s", "note"):
        table.add_column(name, justify="right" if name in ("seed", "score", "time s") else "left")
    style = {"completed": "green", "skipped": "cyan", "failed": "red", "elsewhere": "yellow"}
    for cell in cells:
        table.add_row(
            _name(cell),
            str(cell.seed),
            styled(cell.status, style.get(cell.status, "white")),
            cell.metric or "",
            _score(cell),
            f"{cell.seconds:.1f}" if cell.seconds is not None else "–",
            cell.error or "",
        )
    console.print(table)
    failed = [c for c in cells if c.status == "failed"]
    elsewhere = sum(c.status == "elsewhere" for c in cells)
    if elsewhere:
        console.print(f"{elsewhere} cell(s) were being run by other processes (see the note column)")
    console.print(f"report: clue report {output_dir}")
    if failed:
        raise fail(
            f"{len(failed)} of {len(cells)} cells failed (see the table; re-run the command to retry them)", 1
        )


@app.command("report")
def report_cmd(
    paths: list[Path] = typer.Argument(
        ..., help="Run folders and/or sweep folders (searched for results.json)."
    ),
    fmt: str = typer.Option("table", "--format", "-f", help="table | markdown | csv | json."),
    compare: str | None = typer.Option(
        None,
        "--compare",
        help="Add published figures and deltas: bojone (test) | paddlenlp (dev) | clue (dev) [default: none].",
    ),
    plot: Path | None = typer.Option(
        None,
        "--plot",
        help="Write a PNG: learning curves for one run, else per-task scores vs published ones "
        "[default: no plot].",
    ),
    every_group: bool = typer.Option(
        False, "--all", help="One row per configuration (e.g. each grid point), not only each task's best."
    ),
    errors: bool = typer.Option(
        False,
        "--errors",
        help="For one run made with --log-samples: the confusion matrix (classification, choice) or per-type "
        "errors (CLUENER) on dev, and the most confident wrong examples.",
    ),
) -> None:
    """Mean/std/min/max over seeds per (task, configuration), the best configuration per task, the CLUE score.

    Runs are pooled only when their configurations agree apart from the seed; configurations are labelled by
    the keys that differ. The CLUE score needs every CLUE 1.1 task; a partial set names the missing ones.
    """
    from clue_runner import report

    if fmt not in report.FORMATS:
        raise fail(f"unknown --format {fmt!r}; choose one of {', '.join(report.FORMATS)}")
    if errors:
        _print_errors(paths, fmt)
        return
    runs = report.find_runs(paths)
    summary = report.summarize(runs, compare)
    if fmt == "json":
        sys.stdout.write(report.render_json(summary))
    elif fmt == "markdown":
        sys.stdout.write(report.render_markdown(summary, every_group))
    elif fmt == "csv":
        sys.stdout.write(report.render_csv(summary, every_group))
    else:
        console.print(report.render_rich(summary, every_group))
    if plot is not None:
        if len(runs) == 1:
            report.plot_curves(runs[0][0], runs[0][1], plot)
            err_console.print(f"wrote learning curves to {plot}")
        else:
            report.plot_scores(summary, plot, compare or "bojone")
            err_console.print(f"wrote score plot to {plot}")


def _print_errors(paths: list[Path], fmt: str) -> None:
    import json

    from clue_runner.registry import resolve_task
    from clue_runner.results import read_results
    from clue_runner.samples import PREDICTIONS_DIR, error_report, read_samples

    if len(paths) != 1:
        raise fail("--errors reads one run folder")
    run = paths[0]
    results = read_results(run)
    samples = run / PREDICTIONS_DIR / "dev.jsonl"
    if results is None or not samples.is_file():
        raise fail(
            f"{run}: no {PREDICTIONS_DIR}/dev.jsonl; make it with `clue run ... --log-samples` or "
            f"`clue evaluate TASK --model {run}/best --log-samples`"
        )
    # A user task is read back from its task file (and data folder), a registered one by name.
    task = resolve_task(
        str(results.get("task_file") or results["task"]), (results.get("data") or {}).get("dir")
    )[0]
    found = error_report(task, read_samples(samples))
    if fmt == "json":
        sys.stdout.write(json.dumps(found, ensure_ascii=False, indent=2) + "\n")
        return
    console.print(f"{task.name} dev: {found['wrong']} of {found['examples']} examples wrong ({samples})")
    if "confusion" in found:
        matrix = found["confusion"]
        table = Table(title="confusion matrix (rows: gold, columns: predicted)")
        table.add_column("gold")
        for name in matrix["labels"]:
            table.add_column(name, justify="right")
        for gold, row in zip(matrix["labels"], matrix["rows"], strict=True):
            cells: list[str | Text] = []
            for predicted, count in zip(matrix["labels"], row, strict=True):
                text = str(count) if count else "·"
                cells.append(
                    styled(text, "bold") if predicted == gold else text
                )  # the diagonal: right answers
            table.add_row(gold, *cells)
        console.print(table)
    if "types" in found:
        table = Table(title="entity strings per type (official scorer view)")
        for col in ("type", "gold", "predicted", "missed", "spurious"):
            table.add_column(col, justify="left" if col == "type" else "right")
        for kind, c in found["types"].items():
            table.add_row(kind, *(str(c.get(k, 0)) for k in ("gold", "predicted", "missed", "spurious")))
        console.print(table)
    worst = Table(title="most confident wrong examples")
    for col in ("index", "input", "gold", "prediction"):
        worst.add_column(col, overflow="fold")
    for line in found["worst"]:
        shown = json.dumps(line["input"], ensure_ascii=False)
        gold, predicted = (json.dumps(line[k], ensure_ascii=False) for k in ("gold", "prediction"))
        worst.add_row(str(line["index"]), shown[:200], gold, predicted)
    console.print(worst)


def _print_validation(validation: Validation, title: str, show_source: bool = False) -> None:
    table = Table(title=title)
    columns = ["file", "task", "test set", "records", "verdict"] + (["from run"] if show_source else [])
    for name in columns:
        table.add_column(name, justify="right" if name == "records" else "left", overflow="fold")
    for f in validation.files:
        verdict = styled("ok", "green") if f.ok else styled("; ".join(f.problems), "red")
        if f.notes:
            verdict = Text.assemble(verdict, styled(" (note: " + "; ".join(f.notes) + ")", "yellow"))
        row: list[str | Text] = [
            f.name,
            f.task or "?",
            f.split or "?",
            str(f.records) if f.records is not None else "–",
            verdict,
        ]
        table.add_row(*row, *([f.source] if show_source else []))
    console.print(table)
    if validation.missing:
        console.print("not in this submission (CLUE 1.1 tasks): " + ", ".join(validation.missing))


@app.command("submit")
def submit_cmd(
    paths: list[Path] = typer.Argument(..., help="Run folders and/or sweep folders."),
    out: Path = typer.Option(..., "--output", "-o", help="The zip to write, e.g. submit.zip."),
    data_root: Path | None = typer.Option(
        None,
        "--data-root",
        help="Folder holding <task>/ data folders to validate against [default: each run's own data folder].",
    ),
) -> None:
    """Gather one leaderboard file per task and test version (best-dev run), validate them, write a flat zip."""
    from clue_runner.submission import check_chosen, gather, write_zip

    chosen = gather(paths, data_root)
    validation = check_chosen(chosen)
    _print_validation(validation, "clue submit", show_source=True)
    if not validation.ok:
        for line in validation.all_problems():
            err_console.print(Text.assemble(styled("-", "red"), f" {line}"))
        raise fail(f"not written: {len(validation.all_problems())} problem(s) in the leaderboard files", 1)
    write_zip({c.name: c.path for c in chosen}, out)
    several = [c for c in chosen if c.candidates > 1]
    if several:
        console.print(
            "picked the best-dev run for: "
            + ", ".join(
                f"{c.name} ({c.score:.2f} of {c.candidates} runs)" for c in several if c.score is not None
            )
        )
    console.print(f"wrote {out} ({len(chosen)} files, flat)")


@app.command("validate")
def validate_cmd(
    target: Path = typer.Argument(..., help="A submission zip, a folder of leaderboard files, or one file."),
    data_root: Path | None = DATA_ROOT_OPT,
) -> None:
    """Check leaderboard files against the test sets: names, JSON shape, one record per test record, ids, labels.

    Works on files made by any tool. Exits 1 when anything is wrong, naming the file and the problem.
    """
    from clue_runner.submission import validate

    validation = validate(target, data_root)
    _print_validation(validation, f"clue validate: {target}")
    if not validation.ok:
        for line in validation.all_problems():
            err_console.print(Text.assemble(styled("-", "red"), f" {line}"))
        raise fail(f"{target}: {len(validation.all_problems())} problem(s)", 1)
    console.print(f"{target}: {len(validation.files)} file(s) ok")
