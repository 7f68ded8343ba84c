"""The feature cache cannot run code: planted pickles, object arrays, damaged and foreign files are cache misses."""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from harness import FIXTURES

from clue_runner import config, featurestore
from clue_runner.data import cached_features
from clue_runner.registry import get_task, task_names
from clue_runner.tasks.base import Features


class _Planted:
    """Unpickling this creates a marker file: proof that a cache file ran code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (Path.touch, (self.marker,))


def _features() -> Features:
    rows = [
        {"input_ids": [101, 7, 102], "attention_mask": [1, 1, 1]},
        {"input_ids": [101, 102], "attention_mask": [1, 1]},
    ]
    return Features(rows=rows, labels=[0, 1], example_index=[0, 1])


def _npz(**arrays: Any) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _planted_files(marker: Path) -> dict[str, bytes]:
    good = featurestore.dumps(_features(), "k")
    header = np.frombuffer(b'{"format": "clue-runner-features", "version": 2, "key": "k"}', dtype=np.uint8)
    return {
        "a pickle": pickle.dumps(_Planted(marker)),
        "an object array": _npz(header=header, json=np.array([_Planted(marker)], dtype=object)),
        "truncated": good[: len(good) // 2],
        "random bytes": bytes(range(256)) * 40,
        "another key": featurestore.dumps(_features(), "other"),
        "empty": b"",
    }


@pytest.mark.parametrize(
    "case", ["a pickle", "an object array", "truncated", "random bytes", "another key", "empty"]
)
def test_bad_cache_file_is_a_miss_and_never_runs_code(tmp_path: Path, case: str) -> None:
    marker = tmp_path / "code-ran"
    path = tmp_path / "cache" / "k.npz"
    path.parent.mkdir()
    path.write_bytes(_planted_files(marker)[case])
    built = _features()
    features, cached = cached_features("k", lambda: built, tmp_path / "cache")
    assert not cached and features is built
    assert not marker.exists()
    again, cached = cached_features(
        "k", lambda: pytest.fail("the rebuilt file was not used"), tmp_path / "cache"
    )
    assert cached and again.rows == built.rows and again.labels == built.labels


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


@pytest.mark.parametrize("task_name", task_names())
def test_every_task_round_trips_exactly(tmp_path: Path, tokenizer: Any, task_name: str) -> None:
    task = get_task(task_name)
    cfg = config.load(task_name)
    features = task.encode(task.read(FIXTURES / task_name, "dev"), tokenizer, cfg)
    path = tmp_path / "f.npz"
    path.write_bytes(featurestore.dumps(features, "key"))
    back = featurestore.load(path, "key")
    for name in ("rows", "labels", "example_index", "meta"):
        assert _same(getattr(features, name), getattr(back, name)), name


def test_tagged_classes_come_only_from_clue_runner(tmp_path: Path) -> None:
    with pytest.raises(featurestore.FeatureFileError, match="not one of clue_runner's"):
        featurestore._decode({"$nt": "os:system", "v": ["true"]})
    with pytest.raises(featurestore.FeatureFileError, match="is not a NamedTuple"):
        featurestore._decode({"$nt": "clue_runner.results:write_json", "v": ["x", 1]})


def test_constant_lists_come_back_shared_and_arrays_as_views(tmp_path: Path) -> None:
    """CHID's attention masks are one shared list per length in memory; the cache keeps it that way."""
    mask = [1] * 5
    rows = [
        {"input_ids": [np.arange(5, dtype=np.int32)] * 2, "attention_mask": [mask, mask]} for _ in range(3)
    ]
    path = tmp_path / "f.npz"
    path.write_bytes(featurestore.dumps(Features(rows=rows, labels=[0, 1, 0], example_index=[0, 1, 2]), "k"))
    back = featurestore.load(path, "k")
    masks = [m for row in back.rows for m in row["attention_mask"]]
    assert all(m is masks[0] for m in masks) and masks[0] == mask
    ids = back.rows[2]["input_ids"][1]
    assert ids.dtype == np.int32 and ids.tolist() == list(range(5)) and ids.base is not None
    empty = Features(rows=[], labels=[], example_index=[])
    path.write_bytes(featurestore.dumps(empty, "k"))
    assert len(featurestore.load(path, "k")) == 0
