"""Data commands: download, data, subset, check-data."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from clue_runner.cli.app import app, console, err_console, fail, styled
from clue_runner.errors import ClueError

log = logging.getLogger("clue_runner")

DATA_ROOT_OPT = typer.Option(
    None,
    "--data-root",
    help="Folder holding <task>/ folders [default: $CLUE_DATA_DIR, else ~/.cache/clue_runner/data].",
)


@app.command("download")
def download_cmd(
    task: str = typer.Argument(..., help="Task name (see `clue tasks`) or `all`."),
    data_root: Path | None = DATA_ROOT_OPT,
    base_url: str | None = typer.Option(
        None,
        "--base-url",
        help="A mirror (URL or local folder) serving the official <name>_public.zip files "
        "[default: the CLUE storage bucket, then PaddleNLP's mirror where it has the file].",
    ),
    no_verify: bool = typer.Option(
        False, "--no-verify", help="Skip the checksum checks (a warning says so)."
    ),
    force: bool = typer.Option(False, "--force", help="Fetch again even if verified data is present."),
    checksums: Path | None = typer.Option(
        None,
        "--checksums",
        help="JSON checksum table to verify against (docs/data.md) [default: the published checksums].",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Download, verify and unpack the official data of TASK (or all tasks) into <data-root>/<task>/."""
    from clue_runner.checksums import load_checksums
    from clue_runner.download import download_task
    from clue_runner.registry import task_names

    table = load_checksums(checksums) if checksums is not None else None
    names = task_names() if task.lower() == "all" else [task]
    failed = []
    for name in names:
        try:
            path = download_task(
                name, data_root=data_root, base_url=base_url, verify=not no_verify, force=force,
                checksums=table, progress=not quiet,
            )  # fmt: skip
        except ClueError as exc:
            if len(names) == 1:
                raise
            fail(str(exc))  # report and go on with the next task
            failed.append(name)
            continue
        console.print(f"{name}: {path}")
    if failed:
        raise ClueError(f"{len(failed)} of {len(names)} downloads failed: {', '.join(failed)}")


def _count_records(task: Any, path: Path) -> int | None:
    """Records in one official file without the full reader (`Task.count`, else non-blank lines)."""
    from clue_runner.data import count_lines

    try:
        return task.count(path) if task.count is not None else count_lines(path)
    except (ClueError, OSError, ValueError, TypeError, AttributeError):
        return None


def _task_summary(name: str, folder: Path, verify: bool) -> dict[str, Any]:
    from clue_runner.checksums import published_checksums
    from clue_runner.download import folder_status, read_manifest
    from clue_runner.registry import get_task

    task = get_task(name)
    table = published_checksums().get(name)
    status = folder_status(task, folder, table if verify and table is not None else None)
    manifest = read_manifest(folder)
    split_of = {n: s for s, names in task.splits.items() for n in names}
    files = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        files.append(
            {
                "name": path.name,
                "split": split_of.get(path.name),
                "bytes": path.stat().st_size,
                "records": _count_records(task, path)
                if path.name in split_of or path.suffix == ".json"
                else None,
            }
        )
    if status.mismatches:
        bad = [m.split(": checksum mismatch")[0].rsplit("/", 1)[-1] for m in status.mismatches]
        checks = f"MISMATCH: {', '.join(bad)} differ from the published checksums"
    elif status.verified:
        checks = f"ok ({len(status.verified)} files match the published md5)"
    elif not verify:
        checks = "not checked"
    elif table is None or not table.files:
        checks = "no published checksums" + (f" (downloaded {manifest['downloaded_at']})" if manifest else "")
    else:
        checks = "no listed file present"
    return {
        "task": name,
        "path": str(folder),
        "complete": status.complete,
        "missing": status.missing,
        "test_versions": status.tests_present,
        "checksums": checks,
        "checksum_problems": status.mismatches,
        "download": {k: manifest.get(k) for k in ("url", "downloaded_at", "verification")}
        if manifest
        else None,
        "files": files,
    }


@app.command("data")
def data_cmd(
    data_root: Path | None = DATA_ROOT_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
    no_verify: bool = typer.Option(False, "--no-verify", help="Skip hashing the files (faster on big data)."),
) -> None:
    """List the data root: tasks present, their files, record counts, checksum status and test versions."""
    from clue_runner.data import data_root as resolve_root
    from clue_runner.registry import task_names

    root = resolve_root(data_root)
    tasks = [_task_summary(n, root / n, not no_verify) for n in task_names() if (root / n).is_dir()]
    absent = [n for n in task_names() if not (root / n).is_dir()]
    if as_json:
        sys.stdout.write(
            json.dumps(
                {"data_root": str(root), "tasks": tasks, "absent": absent}, ensure_ascii=False, indent=2
            )
            + "\n"
        )
        return
    if not tasks:
        console.print(f"no task data in {root}; fetch some with: clue download TASK (or `all`)")
        return
    table = Table(title=f"CLUE data in {root}")
    for col in ("task", "status", "test versions", "checksums"):
        table.add_column(col)
    for t in tasks:
        state = "complete" if t["complete"] else "incomplete (missing " + ", ".join(t["missing"]) + ")"
        table.add_row(t["task"], state, ", ".join(t["test_versions"]) or "-", t["checksums"])
    console.print(table)
    files = Table(title="files")
    for col in ("task", "file", "split", "records", "bytes"):
        files.add_column(col, justify="right" if col in ("records", "bytes") else "left")
    for t in tasks:
        for f in t["files"]:
            records = "?" if f["records"] is None and f["name"].endswith(".json") else f["records"] or ""
            files.add_row(t["task"], f["name"], f["split"] or "-", str(records), f"{f['bytes']:,}")
    console.print(files)
    if absent:
        console.print(f"not present: {', '.join(absent)}")


@app.command("subset")
def subset_cmd(
    task: str = typer.Argument(..., help="Task name (see `clue tasks`) or a task file (*.yaml)."),
    data_dir: Path = typer.Option(..., "--data-dir", "-d", help="The task folder to take records from."),
    out: Path = typer.Option(..., "--out", "-o", help="The new task folder."),
    train: int = typer.Option(
        200, "--train", min=1, help="Training records (questions for CMRC2018, documents for C3)."
    ),
    dev: int = typer.Option(
        100, "--dev", min=1, help="Dev records (also used for other splits such as CMRC2018 trial)."
    ),
    test: int = typer.Option(100, "--test", min=1, help="Records per test version."),
    seed: int = typer.Option(0, "--seed", help="Random seed (the same seed gives the same subset)."),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Replace a non-empty --out folder that holds only task files (e.g. an earlier subset).",
    ),
) -> None:
    """Write a smaller copy of a task folder in the official layout (stratified by label where there is one)."""
    from clue_runner.registry import resolve_task
    from clue_runner.subset import subset_task

    spec = resolve_task(task, data_dir)[0]
    kept = subset_task(
        spec,
        data_dir,
        out,
        {"train": train, "dev": dev, "test": test, "other": dev},
        seed=seed,
        overwrite=overwrite,
    )
    console.print(f"{spec.name}: wrote {', '.join(f'{s} {n}' for s, n in kept.items())} to {out}")


def _print_report(report: Any) -> None:
    table = Table(title=f"{report.task}: {report.data_dir}")
    columns = ["split", "files", "examples", "labels"]
    with_tokens = report.max_len is not None
    if with_tokens:
        columns += ["tokens p50/p95/max", f"at max_len {report.max_len}", "gold round trip"]
    columns.append("problems")
    for col in columns:
        table.add_column(col)
    for split, s in report.splits.items():
        if not s.present:
            table.add_row(split, ", ".join(s.files), "absent", *[""] * (len(columns) - 3))
            continue
        labels = ""
        if s.labels:
            shown = list(s.labels.items())
            labels = ", ".join(f"{k} {v}" for k, v in shown[:6]) + (
                f", +{len(shown) - 6} more" if len(shown) > 6 else ""
            )
        row = [split, ", ".join(s.files), "-" if s.examples is None else str(s.examples), labels]
        if with_tokens:
            lengths = s.lengths or {}
            row.append("/".join(str(lengths.get(k, "-")) for k in ("p50", "p95", "max")) if lengths else "")
            windowed = f" ({s.windowed} windowed)" if s.windowed else ""
            row.append("" if s.truncated is None else f"{s.truncated}{windowed}")
            rt = s.roundtrip
            row.append(f"{rt['exact']}/{rt['gold']} {rt['unit']} exact" if rt else "")
        row.append(str(s.problems) if s.problems else "")
        table.add_row(*row)
    console.print(table)
    if report.extra_files:
        console.print(f"other files: {', '.join(report.extra_files)}")
    for note in report.notes:
        err_console.print(
            Text.assemble(styled("note:", "yellow"), f" {note} (tolerated, as the official loaders do)"),
            soft_wrap=True,
        )
    for problem in report.problems:
        err_console.print(Text.assemble(styled("problem:", "red"), f" {problem}"), soft_wrap=True)
    if report.ok:
        notes = f" ({len(report.notes)} note(s) on quirks of the data)" if report.notes else ""
        console.print(Text.assemble(styled("no problems found", "green"), notes))
    else:
        err_console.print(styled(f"{len(report.problems)} problem(s) found", "bold red"))


@app.command("check-data")
def check_data_cmd(
    task: str = typer.Argument(..., help="Task name (see `clue tasks`) or a task file (*.yaml)."),
    data_dir: Path | None = typer.Option(
        None,
        "--data-dir",
        "-d",
        help="The task folder [default: $CLUE_DATA_DIR/<task>, else ~/.cache/clue_runner/data/<task>; for a "
        "task file, its own folder].",
    ),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help="Tokenizer to measure token lengths and gold round trips with (short name, hub id, folder) "
        "[default: none: no token statistics].",
    ),
    set_: list[str] = typer.Option(
        None,
        "--set",
        "-s",
        metavar="KEY=VALUE",
        help="Config override, e.g. --set data.max_len=256 (repeatable) [default: none].",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as one JSON object."),
    offline: bool = typer.Option(
        False, "--offline", help="Load the tokenizer from local files / the HF cache only."
    ),
) -> None:
    """Validate a task folder (every file, record, label and offset) and describe it; non-zero exit on problems."""
    from clue_runner.checkdata import check_task
    from clue_runner.data import task_data_dir
    from clue_runner.registry import resolve_task

    spec, given = resolve_task(task, data_dir)
    folder = task_data_dir(spec, given)
    tokenizer = cfg = None
    if model is not None:
        from clue_runner import config as cfg_mod
        from clue_runner.modeling import load_tokenizer

        cfg = cfg_mod.load(spec.name, sets=list(set_ or []))  # a task file's task has no packaged config
        tokenizer = load_tokenizer(model, offline=offline)
    report = check_task(spec, folder, tokenizer, cfg, model=model)
    if as_json:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2) + "\n")
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)
