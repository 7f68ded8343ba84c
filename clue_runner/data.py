"""Finding task data, reading official JSON / JSON-lines files with file:line errors, and the feature cache."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from clue_runner.errors import ClueError, DataError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from clue_runner.config import RunConfig
    from clue_runner.tasks.base import Features, Task

log = logging.getLogger("clue_runner")

DEFAULT_DATA_ROOT = Path("~/.cache/clue_runner/data")
FEATURE_CACHE_VERSION = 2  # 2: numpy .npz instead of pickle


def data_root(explicit: str | Path | None = None) -> Path:
    """`explicit`, else $CLUE_DATA_DIR, else ~/.cache/clue_runner/data."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get("CLUE_DATA_DIR")
    return Path(env).expanduser() if env else DEFAULT_DATA_ROOT.expanduser()


def task_data_dir(task: Task, data_dir: str | Path | None) -> Path:
    """The folder holding `task`'s official files: `data_dir` as given, else <data root>/<task>."""
    if data_dir:
        path = Path(data_dir).expanduser()
        if not path.is_dir():
            raise ClueError(f"data folder not found: {path}")
        return path
    path = data_root() / task.name
    if not path.is_dir():
        raise ClueError(
            f"no data for {task.name}: looked in {path} (set --data-dir, or $CLUE_DATA_DIR to the folder holding "
            f"<task>/ folders); fetch it with: clue download {task.name}"
        )
    return path


def require_split(task: Task, data_dir: Path, split: str) -> list[Path]:
    """The split's files, or an error that names the file that is missing."""
    paths = task.split_paths(data_dir, split)
    for path in paths:
        if not path.is_file():
            raise ClueError(
                f"{task.name}: {split} file missing: {path} (expected {', '.join(task.splits[split])} in {data_dir})"
            )
    return paths


BOM = "\ufeff"


@dataclass(frozen=True)
class Line:
    """One non-blank line of a JSON-lines file: its text as in the file (line ending included, BOM removed),
    its 1-based number, and the object it holds."""

    raw: str
    number: int
    record: dict[str, Any]


def text_lines(text: str) -> Iterator[str]:
    """The lines of `text` with their endings, split where a file read line by line splits them: at "\n",
    "\r\n" or "\r" only. `str.splitlines` also splits at U+2028, U+0085, form feeds and more, which are data
    inside a JSON string."""
    return iter(io.StringIO(text, newline=""))


def _decoded_lines(handle: BinaryIO, path: Path) -> Iterator[str]:
    """The text lines of a binary file, as `text_lines` splits them, each decoded on its own: bytes that are not
    UTF-8 (or a character cut at the end of the file) raise a DataError naming the exact line and byte. (A
    text-mode file decodes ahead in blocks, so its error would name whatever line was being read.)"""
    number = 0
    for chunk in handle:  # chunks end at b"\n"; a lone "\r" inside one still ends a line (text_lines)
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = number + 1 + chunk.count(b"\r", 0, exc.start) - chunk.count(b"\r\n", 0, exc.start)
            cut = (
                " (a character cut at the end of the file)" if exc.reason == "unexpected end of data" else ""
            )
            raise DataError(
                path,
                f"not UTF-8 text: byte 0x{chunk[exc.start]:02x} at byte {exc.start + 1} of the line{cut}",
                line,
            ) from None
        for piece in text_lines(text):
            number += 1
            yield piece


def decoded_lines(path: Path) -> Generator[str, None, None]:
    """The text lines of a UTF-8 file with their endings (a leading BOM dropped), each decoded on its own, so that
    bytes that are not UTF-8 raise a DataError naming their own line (see `_decoded_lines`)."""
    with path.open("rb") as handle:
        for number, line in enumerate(_decoded_lines(handle, path), start=1):
            yield line[1:] if number == 1 and line.startswith(BOM) else line


def _parsed(lines: Iterator[str], path: Path) -> Iterator[Line]:
    count = 0
    for number, raw in enumerate(lines, start=1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[1:]
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DataError(path, f"malformed JSON: {exc.msg} at column {exc.colno}", number) from None
        if not isinstance(obj, dict):
            raise DataError(path, f"expected a JSON object, got {type(obj).__name__}", number)
        count += 1
        yield Line(raw, number, obj)
    if count == 0:
        raise DataError(path, "file is empty: no records")


def jsonl_lines(path: str | Path, text: str | None = None) -> Iterator[Line]:
    """The one JSON-lines reader: each non-blank line of the file (or of `text`, read from `path`) as a `Line`.

    Lines end at "\n", "\r\n" or "\r" only (see `text_lines`); a leading BOM is skipped. A malformed line, a
    line that is not a JSON object, bytes that are not UTF-8, or a file with no record raise DataError naming the
    file and line.
    """
    path = Path(path)
    if text is not None:
        yield from _parsed(text_lines(text), path)
        return
    with path.open("rb") as handle:
        yield from _parsed(_decoded_lines(handle, path), path)


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (1-based line number, object) for each non-blank line; see `jsonl_lines`."""
    for line in jsonl_lines(path):
        yield line.number, line.record


def has_bom(path: str | Path) -> bool:
    with Path(path).open("rb") as handle:
        return handle.read(3) == BOM.encode("utf-8")


def count_lines(path: str | Path) -> int:
    """Non-blank lines of a text file (records of a JSON-lines file), without parsing them."""
    with Path(path).open("rb") as handle:
        return sum(1 for line in handle if line.strip())


def read_json(path: str | Path, unique_keys: bool = True) -> Any:
    """Read a single-document JSON file (CMRC2018, C3, CHID answers); errors name the line. A key given twice in
    one object is refused unless `unique_keys` is False (leaderboard files: `clue validate` lists every duplicate
    itself)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            path, f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})"
        ) from None
    if not text.strip():
        raise DataError(path, "file is empty: no records")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys(path, text) if unique_keys else None)
    except json.JSONDecodeError as exc:
        raise DataError(path, f"malformed JSON: {exc.msg} at column {exc.colno}", exc.lineno) from None


def _unique_keys(path: Path, text: str) -> Any:
    """An object_pairs_hook refusing a key given twice in one object (json would keep the last silently: in a
    CHID answer file, a blank's answer would change without a word)."""

    def build(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = dict(pairs)
        if len(obj) == len(pairs):
            return obj
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                break
            seen.add(key)
        needle = json.dumps(key, ensure_ascii=False)
        first = text.find(needle)
        second = text.find(needle, first + 1) if first >= 0 else -1
        line = text.count("\n", 0, second) + 1 if second >= 0 else None
        raise DataError(path, f"duplicate key {needle[:80]} (JSON keeps only the last value)", line)

    return build


def field(
    record: dict[str, Any], name: str, kind: type | tuple[type, ...], path: Path, line: int | str
) -> Any:
    """record[name], checked for presence and type, or a DataError naming file:line and the field."""
    if name not in record:
        raise DataError(path, f"missing field {name!r}", line)
    value = record[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise DataError(path, f"field {name!r} must be {names}, got {value!r}", line)
    return value


def label_field(
    record: dict[str, Any], labels: Sequence[str], path: Path, line: int, name: str = "label"
) -> str:
    """The record's label string, which must belong to the task's label set."""
    value = field(record, name, (str, int), path, line)
    if isinstance(value, bool):
        raise DataError(path, f"field {name!r} must be a label string, got JSON {str(value).lower()}", line)
    value = str(value)
    if value not in labels:
        shown = ", ".join(labels) if len(labels) <= 20 else f"{labels[0]}..{labels[-1]}"
        raise DataError(path, f"unknown label {value!r} (expected one of {shown})", line)
    return value


# Digests by (path, size, mtime): a run hashes each data file for the feature-cache key and again for
# results.json; a changed file has a new size or mtime and is hashed afresh.
_DIGESTS: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    path = Path(path)
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _DIGESTS:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while block := handle.read(chunk):
                digest.update(block)
        _DIGESTS[key] = digest.hexdigest()
    return _DIGESTS[key]


def file_info(paths: Sequence[Path]) -> dict[str, dict[str, Any]]:
    """{name: {sha256, bytes}} for results.json."""
    return {p.name: {"sha256": sha256_file(p), "bytes": p.stat().st_size} for p in paths}


def _tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """Identify a tokenizer by its vocabulary and normalisation, not by where it was loaded from."""
    digest = hashlib.sha256()
    digest.update(type(tokenizer).__name__.encode())
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        digest.update(backend.to_str().encode())
    else:  # pragma: no cover - slow tokenizers only
        digest.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    return digest.hexdigest()


def cache_key(
    task: Task, split: str, paths: Sequence[Path], tokenizer: PreTrainedTokenizerBase, cfg: RunConfig
) -> str:
    parts = {
        "cache": FEATURE_CACHE_VERSION,
        "task": task.name,
        "task_version": task.version,
        "task_fingerprint": task.fingerprint,
        "split": split,
        "files": [sha256_file(p) for p in paths],
        "tokenizer": _tokenizer_fingerprint(tokenizer),
        "max_len": cfg.data.max_len,
        "task_cfg": cfg.task,
        "limit": cfg.data.max_train if split == "train" else cfg.data.max_eval if split == "dev" else None,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:24]


def default_cache_dir() -> Path:
    env = os.environ.get("CLUE_CACHE_DIR")
    return Path(env).expanduser() if env else Path("~/.cache/clue_runner/features").expanduser()


def cached_features(key: str, build: Any, cache_dir: Path | None) -> tuple[Features, bool]:
    """Load features for `key` from the cache, or build and store them. Returns (features, was_cached).

    The cache file is numpy .npz read without pickle (clue_runner.featurestore), so a planted file cannot run
    code; a damaged, foreign or outdated one is a miss: rebuilt and replaced, never trusted.
    """
    from clue_runner import featurestore

    if cache_dir is None:
        return build(), False
    path = cache_dir / f"{key}.npz"
    if path.is_file():
        try:
            return featurestore.load(path, key), True
        except featurestore.FeatureFileError as exc:
            log.info("feature cache %s not used (%s); rebuilding it", path, exc)
    features = build()
    from clue_runner.results import atomic_write_bytes

    try:
        data = featurestore.dumps(features, key)
    except TypeError as exc:  # content the format cannot hold: work without the cache
        log.debug("features for %s not cached: %s", key, exc)
        return features, False
    cache_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, data)
    return features, False
