"""The feature cache's file format: numpy .npz read with allow_pickle=False, so a cache file cannot run code.

Anyone who can write to the cache folder could otherwise plant a pickle that every later run executes. Here a
file holds only numbers and text:

- `header`: JSON {format, version, key}; a file whose header differs is foreign and not used;
- per row field whose values are all token-id sequences (or, for choice rows, sequences of them): one flat
  int64 array plus lengths, so big splits load fast;
- `json`: everything else (labels, example_index, meta, other row fields) as JSON, with tuples, numpy arrays,
  dicts with non-string keys and the task modules' own NamedTuples / dataclasses tagged. Tagged classes are
  rebuilt only from `clue_runner` modules and only when they are NamedTuples or dataclasses: data, not code.

Anything unreadable raises FeatureFileError, which the cache treats as a miss.
"""

from __future__ import annotations

import dataclasses
import importlib
import io
import itertools
import json
import zipfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from clue_runner.tasks.base import Features

FORMAT = "clue-runner-features"
VERSION = 2  # 1 was a pickle


class FeatureFileError(Exception):
    """A cache file that is damaged, foreign, from another version or for another key."""


# --------------------------------------------------------------------------------------------------- tagged JSON


def _encode(obj: Any) -> Any:
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj)
    if isinstance(obj, list):
        return [_encode(x) for x in obj]
    if isinstance(obj, np.ndarray):
        return {"$n": obj.dtype.str, "s": list(obj.shape), "v": obj.ravel().tolist()}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):
        return {"$nt": _class_name(type(obj)), "v": [_encode(x) for x in obj]}
    if isinstance(obj, tuple):
        return {"$t": [_encode(x) for x in obj]}
    if isinstance(obj, dict):
        return {"$d": [[_encode(k), _encode(v)] for k, v in obj.items()]}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        values = {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
        return {"$dc": _class_name(type(obj)), "v": values}
    raise TypeError(f"cannot store {type(obj).__name__} in the feature cache")


def _class_name(cls: type) -> str:
    if not cls.__module__.startswith("clue_runner."):
        raise TypeError(f"cannot store {cls.__module__}.{cls.__qualname__} in the feature cache")
    return f"{cls.__module__}:{cls.__qualname__}"


def _own_class(name: Any, kind: str) -> type:
    """A NamedTuple (kind "nt") or dataclass ("dc") of a clue_runner module, looked up by name."""
    module, _, qualname = str(name).partition(":")
    if not module.startswith("clue_runner.") or not qualname.isidentifier():
        raise FeatureFileError(f"class {name!r} is not one of clue_runner's")
    try:
        cls = getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError) as exc:
        raise FeatureFileError(f"class {name!r} not found: {exc}") from None
    if kind == "nt":
        ok = isinstance(cls, type) and issubclass(cls, tuple) and hasattr(cls, "_fields")
    else:
        ok = isinstance(cls, type) and dataclasses.is_dataclass(cls)
    if not ok:
        raise FeatureFileError(f"{name!r} is not a {'NamedTuple' if kind == 'nt' else 'dataclass'}")
    return cls


def _decode(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_decode(x) for x in obj]
    if not isinstance(obj, dict):
        return obj
    if "$t" in obj:
        return tuple(_decode(x) for x in obj["$t"])
    if "$d" in obj:
        return {_freeze(_decode(k)): _decode(v) for k, v in obj["$d"]}
    if "$n" in obj:
        return np.asarray(obj["v"], dtype=np.dtype(obj["$n"])).reshape(obj["s"])
    if "$nt" in obj:
        return _own_class(obj["$nt"], "nt")(*(_decode(x) for x in obj["v"]))
    if "$dc" in obj:
        return _own_class(obj["$dc"], "dc")(**{k: _decode(v) for k, v in obj["v"].items()})
    raise FeatureFileError(f"unknown tag in {sorted(obj)}")


def _freeze(key: Any) -> Any:
    return tuple(_freeze(k) for k in key) if isinstance(key, list) else key


# --------------------------------------------------------------------------------------------------- columns


def _is_ids(value: Any) -> bool:
    """A flat sequence of token ids: a list of ints or a 1-D integer array."""
    if isinstance(value, np.ndarray):
        return value.ndim == 1 and value.dtype.kind in "iu"
    return isinstance(value, list) and all(type(x) is int for x in value)


def _column_kind(values: Sequence[Any]) -> str | None:
    """ "flat" (each value is ids), "nested" (each is a list of ids: one per choice), or None."""
    if values and all(_is_ids(v) for v in values):
        return "flat"
    if values and all(isinstance(v, list) and v and all(_is_ids(c) for c in v) for v in values):
        return "nested"
    return None


def _packed(seqs: Sequence[Any]) -> np.ndarray:
    """All sequences end to end, as int32 when the ids fit (they always do for real vocabularies)."""
    data = np.fromiter(itertools.chain.from_iterable(seqs), dtype=np.int64)
    if data.size and (data.min() < np.iinfo(np.int32).min or data.max() > np.iinfo(np.int32).max):
        return data
    return data.astype(np.int32)


def _kinds(seqs: Sequence[Any]) -> list[str]:
    # Each sequence comes back as what it was: a list, or an array of its dtype.
    return [s.dtype.str if isinstance(s, np.ndarray) else "list" for s in seqs]


def _split(data: np.ndarray, lengths: np.ndarray, kinds: Sequence[str]) -> list[Any]:
    """The sequences back, each as it was: a Python list, or an array (a view into `data` when the dtype is the
    stored one). Lists whose ids are all equal (token types, attention masks) come back as one shared list per
    (value, length), as the encoders build them: CHID's ten choices per blank would otherwise take gigabytes."""
    if len(lengths) != len(kinds) or int(lengths.sum()) != len(data) or (lengths < 0).any():
        raise FeatureFileError("column lengths do not add up")
    if not len(lengths):
        return []
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    low, high = np.zeros(len(lengths), dtype=np.int64), np.ones(len(lengths), dtype=np.int64)
    filled = lengths > 0
    if filled.any():
        low[filled] = np.minimum.reduceat(data, starts[filled])
        high[filled] = np.maximum.reduceat(data, starts[filled])
    constant = (low == high).tolist()
    shared: dict[tuple[int, int], list[int]] = {}
    out: list[Any] = []
    for i, (start, length, kind) in enumerate(zip(starts.tolist(), lengths.tolist(), kinds, strict=True)):
        if kind != "list":
            piece = data[start : start + length]
            out.append(piece if piece.dtype == np.dtype(kind) else piece.astype(np.dtype(kind)))
        elif constant[i]:
            key = (int(low[i]), length)
            if key not in shared:
                shared[key] = [key[0]] * length
            out.append(shared[key])
        else:
            out.append(data[start : start + length].tolist())
    return out


# --------------------------------------------------------------------------------------------------- files


def dumps(features: Features, key: str) -> bytes:
    """The .npz bytes for `features` (TypeError for content the format cannot hold)."""
    arrays: dict[str, np.ndarray] = {}
    columns: dict[str, Any] = {}
    other: dict[str, list[Any]] = {}
    for name in features.rows[0] if features.rows else ():
        values = [row[name] for row in features.rows]
        kind = _column_kind(values)
        if kind is not None:
            seqs = values if kind == "flat" else [c for v in values for c in v]
            arrays[f"{name}.data"] = _packed(seqs)
            arrays[f"{name}.len"] = np.asarray([len(c) for c in seqs], dtype=np.int64)
            if kind == "nested":
                arrays[f"{name}.outer"] = np.asarray([len(v) for v in values], dtype=np.int64)
            columns[name] = {"kind": kind, "seq": _kinds(seqs)}
        else:
            other[name] = [_encode(v) for v in values]
    if any(set(row) != set(features.rows[0]) for row in features.rows):
        raise TypeError("rows with different fields")
    doc = {
        "n": len(features.rows),
        "columns": columns,
        "other": other,
        "labels": _encode(features.labels),
        "example_index": _encode(features.example_index),
        "meta": _encode(features.meta),
    }
    header = {"format": FORMAT, "version": VERSION, "key": key}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    arrays["json"] = np.frombuffer(json.dumps(doc, ensure_ascii=False).encode(), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]
    return buffer.getvalue()


def load(path: Any, key: str) -> Features:
    """Read a file written by `dumps` for `key`; FeatureFileError for anything else."""
    from clue_runner.tasks.base import Features

    try:
        with np.load(path, allow_pickle=False) as npz:
            header = json.loads(npz["header"].tobytes())
            if header != {"format": FORMAT, "version": VERSION, "key": key}:
                raise FeatureFileError(f"foreign or outdated file: {str(header)[:200]}")
            doc = json.loads(npz["json"].tobytes())
            rows: list[dict[str, Any]] = [{} for _ in range(int(doc["n"]))]
            for name, column in doc["columns"].items():
                data, lengths = npz[f"{name}.data"], npz[f"{name}.len"]
                values = _split(data, lengths, column["seq"])
                if column["kind"] == "nested":
                    values = _split_outer(values, npz[f"{name}.outer"])
                if len(values) != len(rows):
                    raise FeatureFileError(f"column {name} has {len(values)} rows, not {len(rows)}")
                for row, value in zip(rows, values, strict=True):
                    row[name] = value
            for name, encoded in doc["other"].items():
                for row, value in zip(rows, encoded, strict=True):
                    row[name] = _decode(value)
            return Features(
                rows=rows,
                labels=_decode(doc["labels"]),
                example_index=_decode(doc["example_index"]),
                meta=_decode(doc["meta"]),
            )
    except FeatureFileError:
        raise
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile) as exc:
        raise FeatureFileError(f"{type(exc).__name__}: {exc}") from None


def _split_outer(inner: list[Any], outer: np.ndarray) -> list[Any]:
    if int(outer.sum()) != len(inner) or (outer < 0).any():
        raise FeatureFileError("nested column lengths do not add up")
    out, start = [], 0
    for count in outer.tolist():
        out.append(inner[start : start + count])
        start += count
    return out
