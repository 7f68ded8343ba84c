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
from rich.text import Text

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
# Markup and emoji codes off: paths and messages are printed as they are (`train.json:100:` would otherwise lose
# `:100:` to an emoji, `[x]` to a style). Styled text is built with `styled`, never with markup in a string.
console = Console(stderr=False, highlight=False, markup=False, emoji=False)
err_console = Console(stderr=True, highlight=False, markup=False, emoji=False)

# Exit status of every command: 0 success; 1 problems found (check-data, validate, submit) or a run that failed;
# 2 bad input or usage; 3 an internal error (a bug: the full traceback is written to a file).
EXIT_BAD_INPUT = 2
EXIT_INTERNAL = 3

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


def styled(text: str, style: str) -> Text:
    """`text` in `style`, taken literally (no markup, no emoji codes)."""
    return Text(text, style=style)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> typer.Exit:
    """Print one red error line and return the Exit to raise."""
    err_console.print(Text.assemble(styled("error:", "bold red"), " ", message), soft_wrap=True)
    return typer.Exit(code)


def write_traceback(exc: BaseException) -> Path:
    """Write the full traceback (with the command line and versions) to a new file in the temp folder."""
    import tempfile
    import traceback

    fd, name = tempfile.mkstemp(prefix="clue-error-", suffix=".txt")
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
        handle.write(f"clue-runner {__version__}, python {sys.version.split()[0]}\n")
        handle.write(f"argv: {sys.argv!r}\n\n")
        handle.write("".join(traceback.format_exception(exc)))
    return Path(name)


def internal_error(exc: BaseException) -> str:
    """The one line for an exception no check foresaw; the traceback goes to a file, never to the terminal."""
    first = (str(exc).strip().splitlines() or [""])[0]
    summary = type(exc).__name__ + (f": {first[:200]}{'...' if len(first) > 200 else ''}" if first else "")
    try:
        where = f"full traceback in {write_traceback(exc)}"
    except OSError as write_exc:
        where = f"the traceback could not be written: {write_exc.strerror or write_exc}"
    return f"internal error: {summary} ({where}; please report it)"


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
    """Entry point: run the app, turning ClueError (and file-system errors) into one clear line, exit status 2;
    anything else is one line too, with the traceback in a file (exit status 3)."""
    try:
        command()(prog_name="clue")
    except ClueError as exc:
        sys.exit(fail(str(exc)).exit_code)
    except OSError as exc:  # a full disk, a permission problem: the user can act on the one line
        where = f": {exc.filename}" if exc.filename else ""
        sys.exit(fail(f"{exc.strerror or exc}{where}").exit_code)
    except KeyboardInterrupt:
        err_console.print(styled("interrupted", "yellow"))
        sys.exit(130)
    except Exception as exc:  # the last resort: no traceback reaches the user
        sys.exit(fail(internal_error(exc), EXIT_INTERNAL).exit_code)
