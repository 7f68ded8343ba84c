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
    rich_markup_mode="rich",
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
    None, "--config", "-c", help="YAML file of config overrides (repeatable; later wins)."
)
SET_OPT = typer.Option(None, "--set", "-s", help="Override one key, e.g. --set train.lr=3e-5 (repeatable).")


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


def main() -> None:
    """Entry point: run the app, turning ClueError (and file-system errors) into one clear line, exit status 2;
    anything else is one line too, with the traceback in a file (exit status 3)."""
    try:
        app()
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
