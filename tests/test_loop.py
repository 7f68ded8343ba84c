"""The loop on CPU: batching, order restoration, seeded repeatability, non-finite loss, best-state choice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clue_runner.loop import LengthGroupedBatches, sorted_batches
from clue_runner.runner import run_task


def test_length_grouped_batches_cover_every_index_once_per_epoch() -> None:
    lengths = [(i * 37) % 50 + 1 for i in range(203)]
    sampler = LengthGroupedBatches(lengths, batch_size=8, seed=3)
    first = list(sampler)
    assert sorted(i for b in first for i in b) == list(range(203))
    assert len(first) == len(sampler) == 26
    sampler.set_epoch(1)
    assert list(sampler) != first  # a new order each epoch
    sampler.set_epoch(0)
    assert list(sampler) == first  # ... and the same order for the same (seed, epoch)


def test_length_grouping_reduces_padding() -> None:
    lengths = [(i * 37) % 120 + 1 for i in range(800)]

    def padding(batches: list[list[int]]) -> int:
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)

    grouped = padding(list(LengthGroupedBatches(lengths, 16, seed=0)))
    plain = padding(list(LengthGroupedBatches(lengths, 16, seed=0, group=False)))
    assert grouped < plain / 5


def test_sorted_batches_are_descending_and_complete() -> None:
    lengths = [5, 9, 1, 7, 3]
    batches = sorted_batches(lengths, 2)
    assert batches == [[1, 3], [0, 4], [2]]


def _run(tmp: Path, data: Path, model: Path, name: str, *sets: str) -> dict:
    outcome = run_task(
        "tnews",
        model=str(model),
        data_dir=data,
        output_dir=tmp / name,
        sets=["train.max_steps=4", *sets],
        progress=False,
        argv=["test"],
    )
    return outcome.results


def test_seeded_runs_repeat_exactly(tmp_path: Path, tiny_model: Path, task_data) -> None:
    data = task_data("tnews")
    first = _run(tmp_path, data, tiny_model, "a")
    second = _run(tmp_path, data, tiny_model, "b")
    assert first["metrics"]["history"] == second["metrics"]["history"]
    for name in first["submission_files"]:
        assert (tmp_path / "a/submission" / name).read_text() == (
            tmp_path / "b/submission" / name
        ).read_text()
    losses = [
        [json.loads(line).get("loss") for line in (tmp_path / run / "metrics.jsonl").read_text().splitlines()]
        for run in ("a", "b")
    ]
    assert losses[0] == losses[1]


def test_non_finite_loss_fails_the_run(tmp_path: Path, tiny_model: Path, task_data) -> None:
    data = task_data("tnews")
    outcome = run_task(
        "tnews",
        model=str(tiny_model),
        data_dir=data,
        output_dir=tmp_path / "nan",
        sets=["train.max_steps=6", "train.lr=1e30", "train.max_grad_norm=0", "train.warmup_ratio=0"],
        progress=False,
    )
    assert outcome.status == "failed"
    saved = json.loads((tmp_path / "nan/results.json").read_text())
    assert saved["status"] == "failed" and "non-finite" in saved["error"]
    assert "metrics" not in saved
    assert not (tmp_path / "nan/submission").exists()


def test_eval_every_steps_and_best_state(tmp_path: Path, tiny_model: Path, task_data) -> None:
    data = task_data("tnews")
    res = _run(tmp_path, data, tiny_model, "ev", "train.eval_every=2", "train.max_steps=6")
    steps = [h["step"] for h in res["metrics"]["history"]]
    assert steps == [2, 4, 6]
    best = max(res["metrics"]["history"], key=lambda h: h["accuracy"])
    assert res["best_step"] == best["step"]
    assert res["metrics"]["dev"]["accuracy"] == best["accuracy"]


@pytest.mark.parametrize("accum", [2])
def test_gradient_accumulation_counts_optimizer_steps(
    tmp_path: Path, tiny_model: Path, task_data, accum: int
) -> None:
    data = task_data("tnews")
    res = _run(tmp_path, data, tiny_model, "acc", f"train.grad_accum={accum}", "train.batch_size=2")
    assert res["steps"] == 4
    assert res["batch"]["global"] == 2 * accum


def test_two_processes_predict_exactly_like_one(tmp_path: Path, tiny_model: Path, task_data) -> None:
    """torchrun with 2 CPU processes (gloo): sharded, length-sorted inference gives the same files."""
    import os
    import subprocess
    import sys

    data = task_data("tnews")
    run = run_task(
        "tnews",
        model=str(tiny_model),
        data_dir=data,
        output_dir=tmp_path / "one",
        sets=["train.max_steps=2"],
        progress=False,
    ).run_dir
    import socket

    with socket.socket() as probe:  # a free port: torchrun's default 29500 collides with a concurrent run
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_port",
        str(port),
        "-m",
        "clue_runner",
        "predict",
        "tnews",
        "-r",
        str(run),
        "-d",
        str(data),
        "-o",
        str(tmp_path / "two"),
        "-q",
    ]  # torchrun would take "--run" as its own
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("tnews11_predict.json", "tnews10_predict.json"):
        assert (tmp_path / "two" / name).read_text() == (run / "submission" / name).read_text()


def _demo_generator():  # type: ignore[no-untyped-def]
    import importlib.util

    path = Path(__file__).parent.parent / "scripts" / "make_demo_data.py"
    spec = importlib.util.spec_from_file_location("make_demo_data", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_model_learns_synthetic_tnews(tmp_path: Path, tiny_model: Path) -> None:
    """A learnable TNEWS-format set (class-specific words in shared filler): clearly above chance (1/15)."""
    data = _demo_generator().make_task("tnews", tmp_path / "data", n_train=600, n_dev=150, n_test=20, seed=1)
    outcome = run_task(
        "tnews", model=str(tiny_model), data_dir=data, output_dir=tmp_path / "run", progress=False,
        sets=["train.epochs=6", "train.batch_size=16", "train.lr=2e-3", "train.eval_every=null",
              "train.warmup_ratio=0.06"],
    )  # fmt: skip
    history = outcome.results["metrics"]["history"]
    assert outcome.results["metrics"]["dev"]["accuracy"] > 40.0, history  # chance is 6.7
    losses = [
        json.loads(x)["loss"]
        for x in (outcome.run_dir / "metrics.jsonl").read_text().splitlines()
        if '"loss"' in x
    ]
    assert losses[-1] < losses[0] * 0.7
