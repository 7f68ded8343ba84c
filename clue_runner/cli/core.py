"""Core commands: tasks, models, config, tiny-model, run, predict, evaluate."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.table import Table

from clue_runner.cli.app import CONFIG_OPT, SET_OPT, app, console, fail

DATA_DIR_OPT = typer.Option(
    None,
    "--data-dir",
    "-d",
    help="Folder with the task's official files [default: $CLUE_DATA_DIR/<task>, else "
    "~/.cache/clue_runner/data/<task>].",
)


@app.command("tasks")
def tasks_cmd() -> None:
    """List the registered CLUE tasks: head, main metric, data files and leaderboard files."""
    from clue_runner.registry import LEADERBOARD_TASKS, get_task, task_names

    table = Table(title="CLUE tasks", show_lines=False)
    for col in ("task", "head", "main metric", "data files", "leaderboard files", "CLUE 1.1"):
        table.add_column(col)
    for name in task_names():
        task = get_task(name)
        files = sorted({f for names in task.splits.values() for f in names})
        table.add_row(
            name,
            task.head,
            task.main_metric,
            ", ".join(files),
            ", ".join(f"{f} ({s})" for s, f in task.submissions.items()),
            "yes" if name in LEADERBOARD_TASKS else "no",
        )
    console.print(table)


@app.command("models")
def models_cmd() -> None:
    """List the model short names and the Hugging Face hub ids they stand for."""
    from clue_runner.registry import MODELS

    table = Table(title="Model short names (any hub id or local folder works too)")
    table.add_column("short name")
    table.add_column("hub id")
    for short, hub in MODELS.items():
        table.add_row(short, hub)
    console.print(table)


@app.command("config")
def config_cmd(
    task: str = typer.Argument(..., help="Task name (see `clue tasks`)."),
    config: list[Path] = CONFIG_OPT,
    set_: list[str] = SET_OPT,
) -> None:
    """Print the merged configuration for TASK as YAML (base < task < --config < --set)."""
    from clue_runner import config as cfg_mod
    from clue_runner.registry import get_task

    spec = get_task(task)
    tree = cfg_mod.merged_dict(spec.name, list(config or []), list(set_ or []))
    cfg_mod.build(tree)  # value checks
    sys.stdout.write(cfg_mod.to_yaml(tree))


@app.command("tiny-model")
def tiny_model_cmd(
    out_dir: Path = typer.Argument(..., help="Folder to write the model and tokenizer into."),
    vocab: Path | None = typer.Option(None, "--vocab", help="A BERT vocab.txt (e.g. bert-base-chinese's)."),
    layers: int = typer.Option(2, "--layers", min=1, help="Transformer layers."),
    hidden: int = typer.Option(64, "--hidden", min=8, help="Hidden size."),
    heads: int = typer.Option(2, "--heads", min=1, help="Attention heads (must divide --hidden)."),
    seed: int = typer.Option(0, "--seed", help="Initialisation seed."),
) -> None:
    """Write a randomly initialised small BERT + tokenizer (for smoke tests, CI and the demo).

    Without --vocab the vocab is generated and laid out like bert-base-chinese. Load it with --model OUT_DIR.
    """
    from clue_runner.tiny import write_tiny_model

    if vocab is not None and not vocab.is_file():
        raise fail(f"vocab file not found: {vocab}")
    path = write_tiny_model(out_dir, vocab, layers=layers, hidden=hidden, heads=heads, seed=seed)
    console.print(f"wrote a {layers}-layer, {hidden}-hidden random BERT to {path}")


@app.command("run")
def run_cmd(
    task: str = typer.Argument(..., help="Task name (see `clue tasks`)."),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Short name (`clue models`), hub id or local folder [default: config `model`].",
    ),
    data_dir: Path | None = DATA_DIR_OPT,
    output_dir: Path | None = typer.Option(
        None, "--output-dir", "-o", help="Run folder [default: runs/<task>/<model>/<UTC time>-<id>]."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --output-dir."),
    config: list[Path] = CONFIG_OPT,
    set_: list[str] = SET_OPT,
    seed: int | None = typer.Option(None, "--seed", help="Random seed [default: config `seed`]."),
    offline: bool = typer.Option(
        False, "--offline", help="Never touch the network (local folders / HF cache only)."
    ),
    download: bool = typer.Option(
        False, "--download", help="Download the task's data first when it is missing."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Fine-tune on TASK, score dev, predict the test set(s) and write leaderboard files + results.json."""
    from clue_runner.runner import run_task

    outcome = run_task(
        task,
        model=model,
        data_dir=data_dir,
        output_dir=output_dir,
        config_files=list(config or []),
        sets=list(set_ or []),
        seed=seed,
        overwrite=overwrite,
        offline=offline,
        download=download,
        progress=not quiet,
    )
    if not outcome.main_process:
        return
    if outcome.status != "completed":
        raise fail(
            f"run failed: {outcome.results.get('error')} (see {outcome.run_dir / 'results.json'})", code=1
        )
    res = outcome.results
    table = Table(title=f"{res['task']} dev", caption=f"best step {res['best_step']} of {res['steps']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in res["metrics"]["dev"].items():
        table.add_row(key + (" *" if key == res["main_metric"] else ""), f"{value:.2f}")
    console.print(table)
    for name, count in res["submission_files"].items():
        console.print(f"leaderboard file: {outcome.run_dir / 'submission' / name} ({count} records)")
    console.print(f"run folder: {outcome.run_dir}")


@app.command("predict")
def predict_cmd(
    task: str = typer.Argument(..., help="Task name."),
    run: Path = typer.Option(..., "--run", "-r", help="A `clue run` folder (its best/ model is used)."),
    data_dir: Path | None = DATA_DIR_OPT,
    output_dir: Path | None = typer.Option(
        None, "--output-dir", "-o", help="Where to write [default: RUN/submission]."
    ),
    offline: bool = typer.Option(False, "--offline", help="Never touch the network."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Write the leaderboard file(s) for every test split present, from a saved run's best model."""
    from clue_runner.modeling import set_offline
    from clue_runner.runner import predict_run

    if offline:
        set_offline()
    written = predict_run(task, run, data_dir, output_dir, progress=not quiet)
    out = output_dir or run / "submission"
    for name, count in written.items():
        console.print(f"leaderboard file: {out / name} ({count} records)")


@app.command("evaluate")
def evaluate_cmd(
    task: str = typer.Argument(..., help="Task name."),
    pred_file: Path = typer.Argument(..., help="Predictions in the task's leaderboard format."),
    data_dir: Path | None = DATA_DIR_OPT,
    split: str = typer.Option("dev", "--split", help="Labelled split to score against."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object {metric: percent}."),
) -> None:
    """Score a leaderboard-format prediction file against a labelled split (percent, like the leaderboard).

    Records are matched by `id` = 0-based line index (or the records' own ids where the file uses them).
    """
    from clue_runner.runner import evaluate_file

    metrics = evaluate_file(task, pred_file, data_dir, split)
    if as_json:
        sys.stdout.write(json.dumps({k: round(v, 4) for k, v in metrics.items()}) + "\n")
        return
    table = Table(title=f"{task} {split}: {pred_file}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.3f}")
    console.print(table)
