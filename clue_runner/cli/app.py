"""The Typer app object, the shared option helpers and the error boundary every command goes through."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from clue_runner import __version__
from clue_runner.errors import ClueError

app = typer.Typer(
    name="clue",
    help="Fine-tune, evaluate and submit on the 11 CLUE tasks (Chinese Language Understanding Evaluation).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help: rich markup would eat every literal "[default: ...]" in option help, and the rich panels give
    # every option a type column (flags showed as `--overwrite <bool>`). Click's layout shows flags as flags.
    rich_markup_mode=None,
)
console = Console(stderr=False, highlight=False)
err_console = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])


def _version(value: bool) -> None:
    if value:
        print(f"clue-runner {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show debug logging and library warnings."),
) -> None:
    """clue-runner: one command-line runner for the CLUE benchmark."""
    setup_logging(verbose)


class OncePerCommand(logging.Filter):
    """Show each distinct message once: a file read by several steps of one command warns once, not per read."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[tuple[int, str]] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.levelno, record.getMessage())
        if key in self.seen:
            return False
        self.seen.add(key)
        return True


def setup_logging(verbose: bool = False) -> None:
    from rich.logging import RichHandler

    log = logging.getLogger("clue_runner")
    if not log.handlers:
        handler = RichHandler(console=err_console, show_path=False, show_time=False, markup=False)
        handler.addFilter(OncePerCommand())
        log.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        # Library chatter (newly initialised head weights, tokenizer notes) buries the progress output.
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


CONFIG_OPT = typer.Option(
    None,
    "--config",
    "-c",
    metavar="FILE",
    help="YAML file of config overrides (repeatable; later wins) [default: none].",
)
SET_OPT = typer.Option(
    None,
    "--set",
    "-s",
    metavar="KEY=VALUE",
    help="Override one key, e.g. --set train.lr=3e-5 (repeatable) [default: none].",
)


QUIET_OPT = typer.Option(
    False, "--quiet", "-q", help="Print only errors and the final result (no progress, no warnings)."
)
LOG_EVERY_OPT = typer.Option(
    30.0,
    "--log-every-s",
    min=0.1,
    metavar="SECONDS",
    help="When stderr is not a terminal (nohup, SLURM, CI): seconds between progress lines; phase changes, dev "
    "evaluations and other events always get a line at once.",
)
REPORT_TO_OPT = typer.Option(
    None,
    "--report-to",
    metavar="TRACKERS",
    help="Experiment trackers, separated by commas: tensorboard, wandb, mlflow, comet_ml, aim, clearml, dvclive, "
    "swanlab, trackio (each an optional install, e.g. pip install 'clue-runner[tensorboard]'); TensorBoard "
    "writes into the run folder [default: config key `output.report_to`, none].",
)


def quiet_logging(quiet: bool) -> None:
    """--quiet: only errors from here on (the final result is printed by the command itself)."""
    if quiet:
        logging.getLogger("clue_runner").setLevel(logging.ERROR)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one red error line and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


# Value placeholders in --help, by annotation: `--data-dir PATH`, `--seed INTEGER` (typer would print `<path>`,
# `<list[Path]>`); flags get none, so they read as flags.
_METAVARS = {Path: "PATH", int: "INTEGER", float: "NUMBER", str: "TEXT"}


def command() -> Any:
    """The click command behind `app`, with upper-case placeholders for arguments and option values."""
    import typer.main

    group = typer.main.get_command(app)
    for sub in [group, *getattr(group, "commands", {}).values()]:
        for param in sub.params:
            if param.metavar is not None or getattr(param, "is_flag", False):
                continue
            desc = getattr(param, "type_descriptor", None)
            annotation = getattr(desc, "annotation", None)
            element = (getattr(annotation, "__args__", None) or (annotation,))[0]
            if param.param_type_name == "argument":
                param.metavar = (param.name or "").upper() + ("..." if param.nargs != 1 else "")
            elif element in _METAVARS:
                param.metavar = _METAVARS[element]
    return group


def main() -> None:
    """Entry point: run the app, turning ClueError (and file-system errors) into one clear line, exit status 2."""
    try:
        command()(prog_name="clue")
    except ClueError as exc:
        sys.exit(fail(str(exc)).exit_code)
    except OSError as exc:  # a full disk, a permission problem: the user can act on the one line
        where = f": {exc.filename}" if exc.filename else ""
        sys.exit(fail(f"{exc.strerror or exc}{where}").exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)
