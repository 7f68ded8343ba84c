"""Checksums of the official CLUE archives and their files: the data types, and the JSON form of a table.

Each task module declares its archive's published digests (`Task.checksums`). Sources: PaddleNLP `paddlenlp/datasets/clue.py` (md5 of every zip and of every file its loader reads) and the
Hugging Face `clue` dataset_infos.json (sha256 and size of a zip). Only values published in full are used:
truncated ones (`2469c420…6ce0`) cannot be checked. Tasks without published values (CLUENER, C3, the CMRC2018 and
CHID files) download with a warning that there is nothing to verify against.

CHID's HF sha256 (`4cdf93c0…c19d`, 133,322,133 B) is deliberately left out: the same HF script reads a CHID
`test.json`, which the current zip (test1.0.json + test1.1.json, CLUE 1.1) no longer has, so that value belongs to
the pre-1.1 archive and enforcing it would refuse every correct download.

A mirror that serves other versions can be checked against a table of its own: `load_checksums(FILE.json)` reads
the JSON form written by `to_json` (`clue download --checksums FILE.json`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clue_runner.errors import ClueError, DataError

DIGEST_KEYS = ("md5", "sha256", "size")


@dataclass(frozen=True)
class Digest:
    """Expected digests of one file; None means "not published". Every value given must match."""

    md5: str | None = None
    sha256: str | None = None
    size: int | None = None

    def empty(self) -> bool:
        return self.md5 is None and self.sha256 is None and self.size is None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in DIGEST_KEYS if getattr(self, k) is not None}


@dataclass(frozen=True)
class TaskChecksums:
    """What one task's archive and its files must hash to.

    Attributes:
        archive: the archive's stem on the servers (`<archive>_public.zip`).
        zip: digests of the zip itself.
        files: file name (wherever the archive puts it) -> digests of the extracted file.
    """

    archive: str
    zip: Digest = field(default_factory=Digest)
    files: Mapping[str, Digest] = field(default_factory=dict)

    def has_any(self) -> bool:
        return not self.zip.empty() or any(not d.empty() for d in self.files.values())


def published_checksums() -> dict[str, TaskChecksums]:
    """Every registered task's published table (`Task.checksums`; a task without one gets an empty entry)."""
    from clue_runner.registry import get_task, task_names

    return {name: get_task(name).checksums or TaskChecksums(name) for name in task_names()}


def paddle_mirrored(task: str) -> bool:
    """Whether PaddleNLP's mirror serves the task's archive too (the 7 classification zips; not MRC/NER)."""
    from clue_runner.registry import TASKS, get_task

    return task in TASKS and get_task(task).paddle_mirror


def _digest(obj: Any, where: str) -> Digest:
    if not isinstance(obj, dict):
        raise ClueError(f"{where}: expected an object with md5 / sha256 / size, got {obj!r}")
    unknown = set(obj) - set(DIGEST_KEYS)
    if unknown:
        raise ClueError(f"{where}: unknown key(s) {sorted(unknown)} (allowed: {', '.join(DIGEST_KEYS)})")
    for key in ("md5", "sha256"):
        value = obj.get(key)
        width = 32 if key == "md5" else 64
        if value is not None and (
            not isinstance(value, str)
            or len(value) != width
            or any(c not in "0123456789abcdef" for c in value.lower())
        ):
            raise ClueError(f"{where}: {key} must be {width} hex digits, got {value!r}")
    size = obj.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise ClueError(f"{where}: size must be a non-negative integer, got {size!r}")
    md5, sha = obj.get("md5"), obj.get("sha256")
    return Digest(md5=md5.lower() if md5 else None, sha256=sha.lower() if sha else None, size=size)


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def _plain_name(value: Any, where: str) -> str:
    """A file name from outside (an archive stem, a file in it): letters, digits, '.', '_', '-', no folders, so it
    cannot point anywhere but where it is put (no '/', no '..', not absolute)."""
    if not isinstance(value, str) or not _NAME.fullmatch(value) or ".." in value:
        shown = repr(value)[:80]
        raise ClueError(
            f"{where}: {shown} is not a plain file name (letters, digits, '.', '_', '-'; no folders or '..')"
        )
    return value


def parse_checksums(data: Any, where: str = "checksums") -> dict[str, TaskChecksums]:
    """Build a table from its JSON form: {task: {"archive": str?, "zip": digest?, "files": {name: digest}?}}.

    Tasks not named keep no checksums (they download with the "nothing to verify" warning), so a mirror's file
    never silently falls back to the published values it was written to replace.
    """
    if not isinstance(data, dict):
        raise ClueError(f"{where}: expected a JSON object mapping task names to checksums")
    table: dict[str, TaskChecksums] = {}
    for task, entry in data.items():
        at = f"{where}: {task}"
        if not isinstance(entry, dict):
            raise ClueError(f"{at}: expected an object")
        unknown = set(entry) - {"archive", "zip", "files"}
        if unknown:
            raise ClueError(f"{at}: unknown key(s) {sorted(unknown)} (allowed: archive, zip, files)")
        archive = _plain_name(entry.get("archive", task), f"{at}: archive")
        files = entry.get("files", {})
        if not isinstance(files, dict):
            raise ClueError(f"{at}: files must be an object mapping file names to digests")
        table[task] = TaskChecksums(
            archive,
            _digest(entry.get("zip", {}), f"{at}: zip"),
            {
                _plain_name(name, f"{at}: files"): _digest(d, f"{at}: files: {name}")
                for name, d in files.items()
            },
        )
    return table


def load_checksums(path: str | Path) -> dict[str, TaskChecksums]:
    """Read a checksum table from a JSON file (the `--checksums FILE.json` option)."""
    path = Path(path).expanduser()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ClueError(f"cannot read checksum file {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, f"malformed JSON: {exc.msg} at column {exc.colno}", exc.lineno) from None
    return parse_checksums(data, str(path))


def to_json(table: Mapping[str, TaskChecksums]) -> str:
    """The JSON form `load_checksums` reads (also how to start a table for a mirror)."""
    out = {
        task: {
            "archive": entry.archive,
            "zip": entry.zip.to_dict(),
            "files": {name: d.to_dict() for name, d in entry.files.items()},
        }
        for task, entry in table.items()
    }
    return json.dumps(out, indent=2) + "\n"
