"""Progress as a user sees it: timestamped lines in a log file (a real subprocess, stdout and stderr to a file),
the opening panel in a terminal, --quiet, Ctrl-C; and the reporter's two renderings on their own."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from clue_runner.progress import Reporter

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


def _plain(log_every_s: float = 30.0) -> tuple[Reporter, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    return Reporter(console=console, log_every_s=log_every_s, label="tnews"), out


def test_plain_lines_are_timestamped_and_grepable() -> None:
    reporter, out = _plain()
    with reporter:
        reporter.heading("runs/x")
        reporter.phase("tokenise train", "1,000 examples")
        reporter.opening({"device": "cpu, precision no, world size 1"})
        bar = reporter.start("train", total=4)
        for _ in range(4):
            reporter.advance(bar, loss=0.5, lr=1e-3, epoch=0.5)
        reporter.note("step 4: dev accuracy 50.00", kind="dev")
        reporter.stop(bar, keep=True)
        reporter.finish("completed in 3 s: runs/x")
    lines = out.getvalue().splitlines()
    assert all(re.match(rf"{STAMP} tnews [a-z]+: ", line) for line in lines), lines
    assert lines[0].endswith("tnews run: run folder runs/x")  # the run folder comes first
    kinds = [line.split()[2] for line in lines]
    assert kinds == ["run:", "phase:", "phase:", "plan:", "train:", "dev:", "train:", "done:"]
    assert "tokenise train (1,000 examples): done in" in lines[2]
    assert "step 4/4 (100%) | epoch 0.50 | loss 0.5000 | lr 1.00e-03" in lines[6]


def test_heartbeat_repeats_the_status_while_a_phase_is_silent() -> None:
    """A large split tokenising or a slow training step still puts a line in the log every log_every_s."""
    reporter, out = _plain(log_every_s=0.2)
    with reporter:
        reporter.phase("tokenise train", "391,783 examples")
        time.sleep(0.7)
        bar = reporter.start("train", total=100)
        reporter.advance(bar, loss=1.0)
        time.sleep(0.7)
    text = out.getvalue()
    assert len(re.findall(r"phase: tokenise train \(391,783 examples\): working \(0:00 so far\)", text)) >= 2
    assert len(re.findall(r"train: step 1/100 \(1%\) \| loss 1.0000", text)) >= 2


def test_terminal_shows_the_opening_panel() -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=140, color_system=None)
    reporter = Reporter(console=console, label="cmrc2018")
    reporter.plan({"run folder": "runs/cmrc2018/x", "config": "base.yaml < tasks/cmrc2018.yaml"})
    with reporter:
        reporter.heading("runs/cmrc2018/x")
        reporter.phase("load model", "bert-base-chinese")
        reporter.plan(
            {"train": "10,142 examples -> 10,560 windows", "device": "cuda, precision bf16, world size 8"}
        )
        reporter.opening({"training": "880 optimizer steps, 440 per epoch = 2.00 epochs; dev every epoch"})
        bar = reporter.start("train", total=2)
        reporter.advance(bar, loss=1.25, lr=3e-5, epoch=0.01)
        reporter.stop(bar, keep=True)
    text = out.getvalue()
    assert "clue run cmrc2018" in text  # the panel's title
    panel = text[text.index("clue run cmrc2018") :]
    order = ["run folder", "config", "train", "device", "training"]
    assert [panel.index(f"│ {key}") for key in order] == sorted(panel.index(f"│ {key}") for key in order)
    for value in ("10,142 examples -> 10,560 windows", "world size 8", "880 optimizer steps", "2.00 epochs"):
        assert value in text
    assert "loss 1.2500" in text and "lr 3.0e-05" in text and "ep 0.01" in text


def test_ctrl_c_inside_the_reporter_says_where_it_stopped() -> None:
    reporter, out = _plain()
    with pytest.raises(KeyboardInterrupt), reporter:
        bar = reporter.start("train", total=10)
        reporter.advance(bar, loss=2.0)
        raise KeyboardInterrupt
    assert re.search(r"interrupted: stopped by Ctrl-C during train step 1/10", out.getvalue())


def test_disabled_reporter_writes_nothing() -> None:
    out = io.StringIO()
    reporter = Reporter(enabled=False, console=Console(file=out))
    with reporter:
        reporter.heading("x")
        reporter.phase("load model")
        reporter.opening({"a": "b"})
        reporter.advance(reporter.start("train", 3))
        reporter.note("n")
        reporter.finish("done")
    assert out.getvalue() == ""


# ---------------------------------------------------------------------------------------------------- the CLI


def _run_to_file(
    tmp_path: Path, tiny_model: Path, data: Path, log: Path, *extra: str
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "COLUMNS": "200"}
    with log.open("wb") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "clue_runner", "run", "tnews", "--model", str(tiny_model), "--data-dir",
             str(data), "--output-dir", str(tmp_path / "run"), "--offline", *extra],
            stdout=handle, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip


def test_log_file_gets_progress_lines_before_the_first_eval(
    tmp_path: Path, tiny_model: Path, task_data
) -> None:
    """`clue run ... > log 2>&1`: the log shows the run folder first, the plan, and training lines before the
    first dev evaluation (which here only comes at the end)."""
    log = tmp_path / "log.txt"
    done = _run_to_file(
        tmp_path, tiny_model, task_data("tnews"), log,
        "--set", "train.max_steps=12", "--set", "train.batch_size=4", "--set", "train.eval_every=null",
        "--log-every-s", "0.2",
    )  # fmt: skip
    assert done.wait(timeout=300) == 0, log.read_text()
    lines = log.read_text(encoding="utf-8").splitlines()
    progress = [line for line in lines if re.match(rf"{STAMP} tnews ", line)]
    assert progress[0].endswith(f"run: run folder {tmp_path / 'run'}")
    first_dev = next(i for i, line in enumerate(progress) if re.search(r" dev: step \d+: dev accuracy", line))
    assert any(" train: step " in line for line in progress[:first_dev])
    for field in (
        "plan: config: base.yaml < tasks/tnews.yaml < recipe paddlenlp",
        "plan: train:",
        "plan: device: cpu",
        "plan: training: 12 optimizer steps",
    ):
        assert any(field in line for line in progress), field
    assert any("phase: load model" in line for line in progress)
    assert any(re.search(r"train: step \d+/12 .*\| loss [\d.]+ \| lr ", line) for line in progress)
    assert "run folder:" in lines[-1]  # the final result, on stdout


def test_quiet_keeps_only_the_result(tmp_path: Path, tiny_model: Path, task_data) -> None:
    log = tmp_path / "log.txt"
    data = task_data("tnews")
    (data / "test.json").unlink()  # a warning ("no test file ...") that --quiet must hold back
    (data / "test1.0.json").unlink()
    done = _run_to_file(tmp_path, tiny_model, data, log, "--set", "train.max_steps=2", "--quiet")
    assert done.wait(timeout=300) == 0, log.read_text()
    text = log.read_text(encoding="utf-8")
    assert not re.search(STAMP, text) and "no test file" not in text
    assert "accuracy" in text and "run folder:" in text


def test_ctrl_c_prints_where_the_run_stopped(tmp_path: Path, tiny_model: Path, task_data) -> None:
    log = tmp_path / "log.txt"
    proc = _run_to_file(
        tmp_path, tiny_model, task_data("tnews"), log,
        "--set", "train.max_steps=100000", "--set", "train.batch_size=2", "--log-every-s", "0.2",
    )  # fmt: skip
    deadline = time.monotonic() + 240
    while " train: step " not in log.read_text(encoding="utf-8"):
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=120)
    text = log.read_text(encoding="utf-8")
    assert code != 0, text
    assert re.search(r"interrupt", text, re.IGNORECASE), text
