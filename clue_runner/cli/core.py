"""Core commands: tasks, models, config, tiny-model, run, predict, evaluate."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from clue_runner.cli.app import (
    CONFIG_OPT,
    LOG_EVERY_OPT,
    QUIET_OPT,
    REPORT_TO_OPT,
    SET_OPT,
    app,
    console,
    err_console,
    fail,
    quiet_logging,
)
from clue_runner.metrics import shown

if TYPE_CHECKING:
    from clue_runner.runner import RunOutcome

DATA_DIR_OPT = typer.Option(
    None,
    "--data-dir",
    "-d",
    help="Folder with the task's files [default: $CLUE_DATA_DIR/<task>, else ~/.cache/clue_runner/data/<task>; "
    "for a task file, its own folder].",
)
TASK_HELP = "Task name (see `clue tasks`) or a task file (*.yaml, see tasks/custom.md)."


AS_JSON_OPT = typer.Option(False, "--json", help="Print one JSON object instead of a table.")


def _task_info(task: Any) -> dict[str, Any]:
    from clue_runner.registry import LEADERBOARD_TASKS

    name = task.name
    return {
        "task": name,
        "task_file": str(task.source) if task.source else None,
        "version": task.version,
        "head": task.head,
        "description": task.description,
        "main_metric": task.main_metric,
        "leaderboard_metric": task.board_metric,
        "metrics": list(task.metrics),
        "splits": {split: list(files) for split, files in task.splits.items()},
        "leaderboard_files": dict(task.submissions),
        "in_clue_score": name in LEADERBOARD_TASKS,
    }


def _metric_note(infos: list[dict[str, Any]]) -> str:
    """Why a task can have two metrics, naming the tasks where they differ."""
    differ = [f"{i['task']} ({i['main_metric']} vs {i['leaderboard_metric']})" for i in infos
              if i["main_metric"] != i["leaderboard_metric"]]  # fmt: skip
    note = (
        "main metric: picks the best dev checkpoint during training (the metric the published recipes select "
        "by). leaderboard metric: what the CLUE leaderboard ranks the task by, and what `clue report` shows."
    )
    if differ:
        note += f" They differ for {', '.join(differ)}; the task cards (tasks/<task>.md) say why."
    return note


@app.command("tasks")
def tasks_cmd(
    include: list[Path] = typer.Option(
        None, "--include", "-i", help="Also list the task files (*.yaml) in this folder (repeatable)."
    ),
    as_json: bool = AS_JSON_OPT,
) -> None:
    """List the registered CLUE tasks (and user task files): head, main and leaderboard metric, data files and
    leaderboard files."""
    from clue_runner.registry import get_task, task_files, task_names

    tasks = [get_task(name) for name in task_names()]
    for folder in include or []:
        tasks += task_files(folder)
    infos = [_task_info(task) for task in tasks]
    if as_json:
        doc = {"tasks": infos, "note": _metric_note(infos)}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title="CLUE tasks" + (" and task files" if include else ""), show_lines=False)
    for col in (
        "task",
        "head",
        "main metric",
        "leaderboard metric",
        "data files",
        "leaderboard files",
        "CLUE 1.1",
    ):
        table.add_column(col)
    for info in infos:
        files = sorted({f for names in info["splits"].values() for f in names})
        table.add_row(
            str(info["task"]) + (f" ({info['task_file']})" if info["task_file"] else ""),
            str(info["head"]),
            str(info["main_metric"]),
            str(info["leaderboard_metric"]),
            ", ".join(files),
            ", ".join(f"{f} ({s})" for s, f in info["leaderboard_files"].items()),
            "yes" if info["in_clue_score"] else "no",
        )
    console.print(table)
    console.print(_metric_note(infos), highlight=False, markup=False)


@app.command("models")
def models_cmd(as_json: bool = AS_JSON_OPT) -> None:
    """List the model short names and the Hugging Face hub ids they stand for."""
    from clue_runner.registry import MODELS

    if as_json:
        sys.stdout.write(json.dumps({"models": dict(MODELS)}, indent=2) + "\n")
        return
    table = Table(title="Model short names (any hub id or local folder works too)")
    table.add_column("short name")
    table.add_column("hub id")
    for short, hub in MODELS.items():
        table.add_row(short, hub)
    console.print(table)


LOG_SAMPLES_OPT = typer.Option(
    False,
    "--log-samples",
    help="Also write <out>/predictions/<split>.jsonl: one line per example with its inputs, gold (labelled "
    "splits), prediction and the head's probabilities or scores.",
)


RECIPE_OPT = typer.Option(
    "paddlenlp",
    "--recipe",
    help="Published recipe for the task and model: paddlenlp | bojone | clue (see `clue recipes`), or the "
    "path of your own recipe file (a copy of one in configs/recipes/).",
)


@app.command("config")
def config_cmd(
    task: str = typer.Argument(..., help=TASK_HELP),
    model: str | None = typer.Option(
        None, "--model", "-m", help="The model whose recipe row applies [default: config `model`]."
    ),
    recipe: str = RECIPE_OPT,
    config: list[Path] = CONFIG_OPT,
    set_: list[str] = SET_OPT,
    plain: bool = typer.Option(False, "--plain", help="YAML only, without the comments naming each source."),
) -> None:
    """Print the configuration a run of TASK would use, as YAML, each value commented with the layer that set it.

    Layers: base < task < recipe < --config < --set < --model.
    """
    from clue_runner import config as cfg_mod
    from clue_runner.registry import resolve_task

    spec = resolve_task(task, infer=False)[0]
    tree, sources, layer = cfg_mod.merged_with_sources(
        spec.name, list(config or []), list(set_ or []), {"model": model}, recipe
    )
    cfg_mod.build(tree)  # value checks
    if layer is not None and layer.note:
        err_console.print(f"note: {layer.note}", soft_wrap=True)
    sys.stdout.write(cfg_mod.to_yaml(tree) if plain else cfg_mod.to_commented_yaml(tree, sources))


@app.command("recipes")
def recipes_cmd(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON list instead of a table."),
) -> None:
    """List the published recipes `--recipe` accepts (files in configs/recipes/, copy one to start your own)."""
    from clue_runner.recipes import describe_recipes

    recipes = describe_recipes()
    if as_json:
        sys.stdout.write(json.dumps(recipes, ensure_ascii=False, indent=2) + "\n")
        return
    table = Table(title="Recipes: configs/recipes/<recipe>.yaml")
    for col in ("recipe", "what", "models with their own row"):
        table.add_column(col, overflow="fold")
    for r in recipes:
        models = ", ".join(r["models"]) or "all models alike"
        if r["fallback_model"]:
            models += f" (others: the {r['fallback_model']} row)"
        table.add_row(r["name"] + (" (default)" if r["default"] else ""), r["title"], models)
    console.print(table)
    console.print("the values for one task and model: clue config TASK --model M --recipe R")


@app.command("tiny-model")
def tiny_model_cmd(
    out_dir: Path = typer.Argument(..., help="Folder to write the model and tokenizer into."),
    vocab: Path | None = typer.Option(
        None,
        "--vocab",
        help="A BERT vocab.txt (e.g. bert-base-chinese's) [default: a generated vocab laid out like bert-base-chinese's].",
    ),
    layers: int = typer.Option(2, "--layers", min=1, help="Transformer layers."),
    hidden: int = typer.Option(64, "--hidden", min=8, help="Hidden size."),
    heads: int = typer.Option(2, "--heads", min=1, help="Attention heads (must divide --hidden)."),
    seed: int = typer.Option(0, "--seed", min=0, max=2**32 - 1, help="Initialisation seed."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Write into a non-empty OUT_DIR."),
) -> None:
    """Write a randomly initialised small BERT + tokenizer (for smoke tests, CI and the demo).

    Without --vocab the vocab is generated and laid out like bert-base-chinese. Load it with --model OUT_DIR.
    """
    from clue_runner.tiny import write_tiny_model

    if vocab is not None and not vocab.is_file():
        raise fail(f"vocab file not found: {vocab}")
    if out_dir.exists() and not out_dir.is_dir():
        raise fail(f"{out_dir} exists and is not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise fail(f"{out_dir} exists and is not empty; pass --overwrite to write the model into it")
    path = write_tiny_model(out_dir, vocab, layers=layers, hidden=hidden, heads=heads, seed=seed)
    console.print(f"wrote a {layers}-layer, {hidden}-hidden random BERT to {path}")


@app.command("run")
def run_cmd(
    task: str = typer.Argument(..., help=TASK_HELP),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Short name (`clue models`), hub id or local folder [default: config key `model`, bert-base-chinese].",
    ),
    data_dir: Path | None = DATA_DIR_OPT,
    output_dir: Path | None = typer.Option(
        None, "--output-dir", "-o", help="Run folder [default: runs/<task>/<model>/<UTC time>-<id>]."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --output-dir."),
    recipe: str = RECIPE_OPT,
    config: list[Path] = CONFIG_OPT,
    set_: list[str] = SET_OPT,
    seed: int | None = typer.Option(None, "--seed", help="Random seed [default: config key `seed`, 42]."),
    offline: bool = typer.Option(
        False, "--offline", help="Never touch the network (local folders / HF cache only)."
    ),
    download: bool = typer.Option(
        False, "--download", help="Download the task's data first when it is missing."
    ),
    quiet: bool = QUIET_OPT,
    log_samples: bool = LOG_SAMPLES_OPT,
    log_every_s: float = LOG_EVERY_OPT,
    report_to: str | None = REPORT_TO_OPT,
) -> None:
    """Fine-tune on TASK, score dev, predict the test set(s) and write leaderboard files + results.json.

    Progress goes to stderr: live bars in a terminal; elsewhere (a log file) timestamped lines, one per phase,
    dev evaluation and event, and the current status every --log-every-s seconds. The dev table, the files
    written and the run folder go to stdout.
    """
    from clue_runner.runner import run_task

    quiet_logging(quiet)
    outcome = run_task(
        task,
        model=model,
        data_dir=data_dir,
        output_dir=output_dir,
        config_files=list(config or []),
        sets=list(set_ or []),
        seed=seed,
        recipe=recipe,
        overwrite=overwrite,
        offline=offline,
        download=download,
        progress=not quiet,
        log_samples=log_samples,
        log_every_s=log_every_s,
        report_to=report_to,
    )
    _report_outcome(outcome)


def _report_outcome(outcome: RunOutcome) -> None:
    """The end of `run` and `resume`: the dev table and files, or how the run stopped (with its exit status)."""
    if not outcome.main_process:
        if outcome.status == "interrupted":
            raise typer.Exit(outcome.exit_code)
        return
    if outcome.status == "interrupted":
        print(f"interrupted at step {outcome.step}; resume with: clue resume {outcome.run_dir}", flush=True)
        raise typer.Exit(outcome.exit_code)
    if outcome.status != "completed":
        raise fail(
            f"run failed: {outcome.results.get('error')} (see {outcome.run_dir / 'results.json'})", code=1
        )
    res = outcome.results
    table = Table(title=f"{res['task']} dev", caption=f"best step {res['best_step']} of {res['steps']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in res["metrics"]["dev"].items():
        table.add_row(key + (" *" if key == res["main_metric"] else ""), shown(key, value))
    console.print(table)
    for name, count in res["submission_files"].items():
        console.print(f"leaderboard file: {outcome.run_dir / 'submission' / name} ({count} records)")
    console.print(f"run folder: {outcome.run_dir}")


@app.command("resume")
def resume_cmd(
    run_dir: Path = typer.Argument(..., help="The run folder of an interrupted or killed `clue run`."),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        "-d",
        help="The run's data folder, if it moved [default: the one results.json names].",
    ),
    offline: bool = typer.Option(
        False, "--offline", help="Never touch the network (local folders / HF cache only)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Continue an interrupted run from its last checkpoint, with its own config.yaml, to the same end.

    It finishes as the uninterrupted run would have (same seed: same dev metrics, best step and leaderboard
    files). A completed run is left as it is (exit 0); a run whose data files changed since it started, or
    that a live process still holds, is refused (exit 2).
    """
    from clue_runner.runner import resume_run

    outcome = resume_run(run_dir, data_dir, offline=offline, progress=not quiet)
    if outcome.already_completed:
        console.print(f"{run_dir}: the run already completed; nothing to resume")
        return
    _report_outcome(outcome)


@app.command("predict")
def predict_cmd(
    task: str = typer.Argument(..., help=TASK_HELP),
    run: Path | None = typer.Option(
        None, "--run", "-r", help="A `clue run` folder: its best/ model and its config are used."
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Or any fine-tuned checkpoint: a run's best/, a local folder or a hub id (needs --output-dir).",
    ),
    data_dir: Path | None = DATA_DIR_OPT,
    output_dir: Path | None = typer.Option(
        None, "--output-dir", "-o", help="Where to write [default: RUN/submission]."
    ),
    config: list[Path] = CONFIG_OPT,
    set_: list[str] = SET_OPT,
    log_samples: bool = LOG_SAMPLES_OPT,
    offline: bool = typer.Option(False, "--offline", help="Never touch the network."),
    quiet: bool = QUIET_OPT,
    overwrite: bool = typer.Option(
        False, "--overwrite", help="Replace leaderboard files already in the output folder."
    ),
) -> None:
    """Write the leaderboard file(s) for every test split present, from a saved run or any fine-tuned checkpoint.

    A checkpoint's labels must be the task's (matched by name through its config.json id2label).
    """
    from clue_runner.finetuned import predict_checkpoint
    from clue_runner.modeling import set_offline
    from clue_runner.runner import predict_run

    if (run is None) == (model is None):
        raise fail("give either --run RUN_FOLDER or --model CHECKPOINT")
    if offline:
        set_offline()
    quiet_logging(quiet)
    if run is not None:
        out = output_dir or run / "submission"
        if config or set_:
            raise fail("--config/--set apply to --model; a --run uses its own config.yaml")
        written = predict_run(
            task, run, data_dir, output_dir, progress=not quiet, log_samples=log_samples, overwrite=overwrite
        )
    else:
        assert model is not None
        if output_dir is None:
            raise fail("--model needs --output-dir: the folder to write the leaderboard files into")
        out = output_dir
        written = predict_checkpoint(
            task, model, out, data_dir, list(config or []), list(set_ or []),
            samples_dir=out if log_samples else None, progress=not quiet, overwrite=overwrite,
        )  # fmt: skip
    for name, count in written.items():
        console.print(f"leaderboard file: {out / name} ({count} records)")
    if log_samples:
        console.print(f"per-example predictions: {(run or out) / 'predictions'}")


@app.command("evaluate")
def evaluate_cmd(
    task: str = typer.Argument(..., help=TASK_HELP),
    pred_file: Path | None = typer.Argument(
        None, help="Predictions in the task's leaderboard format (or use --model)."
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Score a fine-tuned checkpoint instead (a run's best/, a local folder, a hub id), without training.",
    ),
    data_dir: Path | None = DATA_DIR_OPT,
    split: str = typer.Option("dev", "--split", help="Labelled split to score against."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object {metric: percent}."),
    strict: bool = typer.Option(
        False, "--strict", help="Refuse a prediction file that misses records (default: they count as wrong)."
    ),
    config: list[Path] = CONFIG_OPT,
    set_: list[str] = SET_OPT,
    log_samples: bool = LOG_SAMPLES_OPT,
    output_dir: Path | None = typer.Option(
        None,
        "--output-dir",
        "-o",
        help="Where --log-samples writes predictions/ [default: the run folder of a run's best/].",
    ),
    offline: bool = typer.Option(False, "--offline", help="Never touch the network."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars."),
) -> None:
    """Score a prediction file, or a fine-tuned checkpoint, against a labelled split (percent, like the leaderboard).

    A prediction file is scored as the official scorers score it: records are matched by `id` (0-based line
    index, or the records' own ids), and missing or unanswered records count as wrong, with a warning.
    """
    from clue_runner.finetuned import evaluate_checkpoint, run_folder_of
    from clue_runner.runner import evaluate_file

    if (pred_file is None) == (model is None):
        raise fail("give either a prediction file or --model CHECKPOINT")
    if model is not None:
        if offline:
            from clue_runner.modeling import set_offline

            set_offline()
        samples_dir = None
        if log_samples:
            samples_dir = output_dir or run_folder_of(model)
            if samples_dir is None:
                raise fail("--log-samples needs --output-dir unless --model is a run's best/ folder")
        metrics = evaluate_checkpoint(
            task, model, data_dir, split, list(config or []), list(set_ or []),
            samples_dir=samples_dir, progress=not quiet and not as_json,
        )  # fmt: skip
        title = f"{task} {split}: {model}"
        if samples_dir is not None and not as_json:
            console.print(f"per-example predictions: {samples_dir / 'predictions' / (split + '.jsonl')}")
    else:
        assert pred_file is not None
        if log_samples or config or set_:
            raise fail("--log-samples, --config and --set apply to --model")
        metrics = evaluate_file(task, pred_file, data_dir, split, strict=strict)
        title = f"{task} {split}: {pred_file}"
    if as_json:
        sys.stdout.write(json.dumps({k: round(v, 4) for k, v in metrics.items()}) + "\n")
        return
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, shown(key, value, decimals=3))
    console.print(table)
