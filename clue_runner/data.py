"""Finding task data, reading official JSON / JSON-lines files with file:line errors, and the feature cache."""

from __future__ import annotations

import hashlib
import json
import os
import pickle
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clue_runner.errors import ClueError, DataError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from clue_runner.config import RunConfig
    from clue_runner.tasks.base import Features, Task

DEFAULT_DATA_ROOT = Path("~/.cache/clue_runner/data")
FEATURE_CACHE_VERSION = 1


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


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (1-based line number, object) for each non-blank line; malformed lines raise DataError."""
    path = Path(path)
    count = 0
    number = 0
    with path.open(encoding="utf-8-sig") as handle:
        lines = _decoded(handle, path, lambda: number + 1)
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DataError(path, f"malformed JSON: {exc.msg} at column {exc.colno}", number) from None
            if not isinstance(obj, dict):
                raise DataError(path, f"expected a JSON object, got {type(obj).__name__}", number)
            count += 1
            yield number, obj
    if count == 0:
        raise DataError(path, "file is empty: no records")


def _decoded(lines: Iterator[str], path: Path, line: Any) -> Iterator[str]:
    """Re-raise a decoding error as a DataError naming the file (and `line()`, the line being read)."""
    try:
        yield from lines
    except UnicodeDecodeError as exc:
        raise DataError(path, f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x})", line()) from None


def read_json(path: str | Path) -> Any:
    """Read a single-document JSON file (CMRC2018, C3, CHID answers); errors name the line."""
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
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(path, f"malformed JSON: {exc.msg} at column {exc.colno}", exc.lineno) from None


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

    A damaged cache file is rebuilt, never trusted.
    """
    if cache_dir is None:
        return build(), False
    path = cache_dir / f"{key}.pkl"
    if path.is_file():
        try:
            with path.open("rb") as handle:
                return pickle.load(handle), True
        except Exception:
            path.unlink(missing_ok=True)
    features = build()
    from clue_runner.results import atomic_write_bytes

    cache_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, pickle.dumps(features, protocol=pickle.HIGHEST_PROTOCOL))
    return features, False
