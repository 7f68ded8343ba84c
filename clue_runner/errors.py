"""User-facing errors: the CLI prints these as one line, without a traceback."""

from __future__ import annotations

import contextlib
import difflib
import logging
from collections.abc import Iterable, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path


class ClueError(Exception):
    """A problem the user can fix (bad input, missing file, unknown name)."""


class DataError(ClueError):
    """A problem in a data or prediction file, located as `file:line`."""

    def __init__(self, path: str | Path, message: str, line: int | str | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.message = message
        where = f"{self.path}:{line}" if line is not None else self.path
        super().__init__(f"{where}: {message}")


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ' (did you mean X?)' suffix for an unknown name, or '' when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown(kind: str, word: str, choices: Iterable[str]) -> ClueError:
    """The error for an unknown task / model / config key, with a suggestion and the valid names."""
    names = sorted(choices)
    listing = ", ".join(names) if len(names) <= 20 else ", ".join(names[:20]) + ", ..."
    return ClueError(f"unknown {kind} {word!r}{did_you_mean(word, names)}; known: {listing}")


def missing_predictions(
    path: str | Path,
    missing: Sequence[str | int],
    total: int,
    counted: str = "records",
    *,
    lacking: str = "prediction",
    ids: str = "ids ",
) -> DataError:
    """The error for a prediction file that leaves some of the split unanswered: "N of M <counted> have no
    <lacking> (<ids>a, b, c, d, e ...)", the first five missing keys shown."""
    return DataError(path, f"{len(missing)} of {total} {counted} have no {lacking} ({ids}{listed(missing)})")


MAX_LISTED = 5  # items named in one message before "..."


def listed(items: Sequence[object]) -> str:
    """The first MAX_LISTED items, comma-separated, then " ..." when there are more."""
    shown = ", ".join(str(i) for i in items[:MAX_LISTED])
    return shown + (" ..." if len(items) > MAX_LISTED else "")


# `clue evaluate FILE` scores as the official scorers do: a record without a prediction counts as wrong. Everywhere
# else (validate, submit, round trips) and under --strict, a missing prediction is an error.
_LENIENT: ContextVar[bool] = ContextVar("clue_lenient_scoring", default=False)


@contextlib.contextmanager
def official_scoring(strict: bool = False) -> Iterator[None]:
    """Within this block, task parsers accept files that leave records unanswered (unless `strict`)."""
    token = _LENIENT.set(not strict)
    try:
        yield
    finally:
        _LENIENT.reset(token)


def lenient_scoring() -> bool:
    """True inside `official_scoring()` without --strict (task parsers may relax format checks the official
    scorer does not make, e.g. CLUENER spans)."""
    return _LENIENT.get()


def tolerate_missing(
    path: str | Path, missing: Sequence[str | int], total: int, counted: str = "records", **kwargs: str
) -> None:
    """Raise `missing_predictions`, or, while scoring like the official scorer, warn that they count as wrong."""
    if not missing:
        return
    error = missing_predictions(path, missing, total, counted, **kwargs)
    if not _LENIENT.get():
        raise error
    logging.getLogger("clue_runner").warning(
        "%s; they count as wrong, as the official scorer counts them (--strict refuses such a file)", error
    )
