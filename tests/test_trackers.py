"""Experiment trackers through Accelerate: TensorBoard event files written by a run and read back; clear errors for
unknown or missing trackers."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from clue_runner.errors import ClueError
from clue_runner.trackers import parse_report_to, tracker_names


def test_names_are_checked() -> None:
    assert tracker_names("none") == [] and tracker_names(None) == [] and tracker_names("") == []
    assert tracker_names("TensorBoard, wandb,tensorboard") == ["tensorboard", "wandb"]
    with pytest.raises(ClueError, match=r"unknown tracker .* 'tensorbord' \(did you mean 'tensorboard'\?\)"):
        tracker_names("tensorbord")


@pytest.mark.skipif(importlib.util.find_spec("wandb") is not None, reason="wandb is installed here")
def test_a_missing_tracker_names_the_extra(tmp_path: Path, task_data) -> None:
    with pytest.raises(
        ClueError, match=r"--report-to wandb needs the wandb package: pip install 'clue-runner\[wandb\]'"
    ):
        parse_report_to("tensorboard,wandb")
    # Through the CLI: one line, exit 2, before any run folder exists.
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "clue_runner", "run", "tnews", "--data-dir", str(task_data("tnews")),
         "--output-dir", str(out), "--report-to", "wandb", "--offline"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "pip install 'clue-runner[wandb]'" in done.stderr and not out.exists()


def test_tensorboard_gets_config_losses_lr_throughput_and_dev_metrics(
    tmp_path: Path, tiny_model: Path, task_data
) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from clue_runner.runner import run_task

    out = tmp_path / "run"
    outcome = run_task(
        "tnews",
        model=str(tiny_model),
        data_dir=task_data("tnews"),
        output_dir=out,
        sets=["train.max_steps=6", "train.log_every=2", "train.eval_every=3", "train.batch_size=4"],
        offline=True,
        progress=False,
        report_to="tensorboard",
    )
    assert outcome.status == "completed"
    assert outcome.results["config"]["output"]["report_to"] == "tensorboard"
    logdir = out / "tensorboard"  # inside the run folder
    assert list(logdir.glob("events.out.tfevents.*"))
    events = EventAccumulator(str(logdir))
    events.Reload()
    scalars = set(events.Tags()["scalars"])
    assert {"train/loss", "train/lr", "train/steps_per_s", "dev/accuracy", "best/accuracy"} <= scalars
    assert "throughput/train_tokens_per_s" in scalars
    assert [e.step for e in events.Scalars("dev/accuracy")] == [3, 6]
    assert [e.step for e in events.Scalars("train/loss")] == [2, 4, 6]
    dev = outcome.results["metrics"]["history"]
    assert [round(e.value, 3) for e in events.Scalars("dev/accuracy")] == [
        round(h["accuracy"], 3) for h in dev
    ]
    # The resolved config, as hyperparameters (Accelerate also keeps a copy as hparams.yml).
    (hparams,) = logdir.glob("*/hparams.yml")
    assert (
        "train.max_steps: 6" in hparams.read_text() and "output.report_to: tensorboard" in hparams.read_text()
    )
