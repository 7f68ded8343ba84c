"""Checkpoints and `clue resume`: a run stopped anywhere and resumed ends exactly like the uninterrupted run.

In-process runs stand in for kills at chosen optimizer steps (the loop's stop hook raises, as a SIGKILL would end
the process there); the tests at the end send real signals to real `clue run` processes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from clue_runner import checkpoint, runlock
from clue_runner.errors import ClueError
from clue_runner.runner import prepare_output_dir, resume_run, run_task
from clue_runner.stopping import StopSignals

FIXTURES = Path(__file__).parent / "fixtures"
# 8 TNEWS training examples in batches of 2: 4 steps per epoch, 3 epochs; dev after each epoch (steps 4, 8, 12).
TNEWS_SETS = (
    "train.batch_size=2",
    "train.epochs=3",
    "train.eval_every=null",
    "train.log_every=1",
    "train.lr=1e-3",
)


class Killed(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing on the way out handles it like an error."""


@pytest.fixture()
def kill_at(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """kill_at(step): the next run dies right after optimizer step `step` (before its eval and checkpoint)."""
    from clue_runner import stopping

    target: dict[str, int | None] = {"step": None}
    seen = {"n": 0}

    def requested(self: stopping.StopSignals) -> bool:
        seen["n"] += 1
        if target["step"] is not None and seen["n"] == target["step"]:
            target["step"] = None
            raise Killed
        return self.signum is not None

    def arm(step: int, already: int = 0) -> None:
        target["step"], seen["n"] = step - already, 0

    monkeypatch.setattr(stopping.StopSignals, "requested", requested)
    yield arm


def _run(task: str, model: Path, data: Path, out: Path, sets: tuple[str, ...]) -> Any:
    return run_task(task, model=str(model), data_dir=data, output_dir=out, sets=sets, seed=3, progress=False)


def _fingerprint(run: Path) -> dict[str, Any]:
    """What must be identical between an uninterrupted and a resumed run."""
    results = json.loads((run / "results.json").read_text())
    metrics = (run / "metrics.jsonl").read_text().splitlines()
    losses = [(r["step"], r["loss"]) for r in map(json.loads, metrics) if "loss" in r]
    return {
        "status": results["status"],
        "dev": results["metrics"]["dev"],
        "history": results["metrics"]["history"],
        "best_step": results["best_step"],
        "steps": results["steps"],
        "losses": losses,
        "dev_lines": [(r["step"], r["dev"]) for r in map(json.loads, metrics) if "dev" in r],
        "files": {p.name: p.read_bytes() for p in sorted((run / "submission").iterdir())},
        "weights": (run / "best" / "model.safetensors").read_bytes(),
    }


@pytest.fixture(scope="module")
def tnews_reference(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("ref") / "run"
    assert _run("tnews", tiny_model, FIXTURES / "tnews", out, TNEWS_SETS).status == "completed"
    return _fingerprint(out)


@pytest.mark.parametrize(
    ("sets", "kill"),
    [
        ((), 6),  # mid-epoch, between the step-4 checkpoint and the step-8 evaluation
        (
            ("train.save_every=3",),
            7,
        ),  # mid-epoch checkpoint (step 6 of 4-step epochs): resume skips 2 batches
        (("train.save_every=3",), 4),  # before the epoch-end evaluation at step 4
        # The step-4 checkpoint is saved before that step's epoch-end evaluation: the resumed run evaluates step 4
        # again, and metrics.jsonl must not hold its dev line twice.
        (("train.save_every=4",), 6),
        (
            ("train.save_every=5", "train.keep_checkpoints=2"),
            12,
        ),  # the last step, before the final evaluation
    ],
)
def test_killed_and_resumed_run_equals_the_uninterrupted_one(
    tmp_path: Path, tiny_model: Path, task_data: Any, kill_at: Any, tnews_reference: dict[str, Any],
    sets: tuple[str, ...], kill: int,
) -> None:  # fmt: skip
    data = task_data("tnews")
    out = tmp_path / "run"
    kill_at(kill)
    with pytest.raises(Killed):
        _run("tnews", tiny_model, data, out, TNEWS_SETS + sets)
    assert checkpoint.latest(out) is not None
    outcome = resume_run(out, progress=False)
    assert outcome.status == "completed"
    got = _fingerprint(out)
    want = dict(tnews_reference)
    assert got == want
    results = json.loads((out / "results.json").read_text())
    assert results["resumed"][0]["from_step"] == checkpoint_step_before(kill, sets)
    assert not (out / "checkpoints").exists()  # a completed run keeps no checkpoints


def test_chid_killed_mid_epoch_and_resumed_equals_the_uninterrupted_run(
    tmp_path: Path, tiny_model: Path, task_data: Any, kill_at: Any
) -> None:
    """A second head (multiple choice over the idiom candidates, Hungarian assignment in decode)."""
    data = task_data("chid")
    sets = ("train.batch_size=2", "train.epochs=2", "train.eval_every=3", "train.log_every=1")
    assert _run("chid", tiny_model, data, tmp_path / "ref", sets).status == "completed"
    kill_at(5)  # after the step-3 checkpoint, before the step-6 evaluation; 5 steps per epoch
    with pytest.raises(Killed):
        _run("chid", tiny_model, data, tmp_path / "run", sets)
    assert resume_run(tmp_path / "run", progress=False).status == "completed"
    assert _fingerprint(tmp_path / "run") == _fingerprint(tmp_path / "ref")


def checkpoint_step_before(kill: int, sets: tuple[str, ...]) -> int:
    every = next((int(s.split("=")[1]) for s in sets if s.startswith("train.save_every=")), None)
    steps = range(1, kill)
    if every is None:
        return max((s for s in steps if s % 4 == 0), default=0)
    return max((s for s in steps if s % every == 0), default=0)


def test_a_stop_during_the_final_evaluation_is_honoured_and_resumes_to_the_same_end(
    tmp_path: Path, tiny_model: Path, task_data: Any, monkeypatch: pytest.MonkeyPatch,
    tnews_reference: dict[str, Any],
) -> None:  # fmt: skip
    """SIGTERM while the last step's evaluation runs: the run stops before predicting (status interrupted, a
    checkpoint with that evaluation), and the resumed run only predicts, ending as the uninterrupted one."""
    from clue_runner import stopping

    calls = {"n": 0}

    def requested(self: stopping.StopSignals) -> bool:
        calls["n"] += 1
        return calls["n"] == 13  # 12 optimizer steps ask once each; the 13th ask follows the final evaluation

    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(stopping.StopSignals, "requested", requested)
        outcome = _run("tnews", tiny_model, task_data("tnews"), out, TNEWS_SETS)
    assert outcome.status == "interrupted" and calls["n"] == 13
    assert not (out / "submission").exists()
    assert checkpoint.latest(out) is not None and checkpoint.latest(out).name.endswith("12")  # type: ignore[union-attr]
    assert resume_run(out, progress=False).status == "completed"
    assert _fingerprint(out) == tnews_reference


def test_a_run_written_before_cpu_speedups_existed_resumes_as_it_started(
    tmp_path: Path, tiny_model: Path, task_data: Any, kill_at: Any
) -> None:
    """Its config.yaml has no train.cpu_speedups: it trained with torch's own dropout, and resumes with it."""
    data = task_data("tnews")
    sets = (*TNEWS_SETS, "train.cpu_speedups=false")
    assert _run("tnews", tiny_model, data, tmp_path / "ref", sets).status == "completed"
    out = tmp_path / "run"
    kill_at(6)
    with pytest.raises(Killed):
        _run("tnews", tiny_model, data, out, sets)
    saved = out / "config.yaml"
    saved.write_text("".join(x for x in saved.read_text().splitlines(True) if "cpu_speedups" not in x))
    assert resume_run(out, progress=False).status == "completed"
    assert _fingerprint(out) == _fingerprint(tmp_path / "ref")


def test_resume_of_a_completed_run_does_nothing(tmp_path: Path, tiny_model: Path, task_data: Any) -> None:
    out = tmp_path / "run"
    assert _run("tnews", tiny_model, task_data("tnews"), out, ("train.max_steps=2",)).status == "completed"
    before = (out / "results.json").read_bytes()
    outcome = resume_run(out, progress=False)
    assert outcome.already_completed and outcome.status == "completed"
    assert (out / "results.json").read_bytes() == before


# ---------------------------------------------------------------------------------- real processes, real signals

# 4 steps per epoch, 40 steps, dev every 10: the process is frozen (SIGSTOP) or killed mid-training.
LONG = ("train.batch_size=2", "train.max_steps=40", "train.eval_every=10", "train.log_every=1")


def clue(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = same_threads_env()
    return subprocess.run([sys.executable, "-m", "clue_runner", *args], capture_output=True, text=True,
                          env=env, timeout=timeout)  # fmt: skip


def start_run(model: Path, data: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    sets = [arg for s in LONG + extra for arg in ("--set", s)]
    args = [
        "run",
        "tnews",
        "--model",
        str(model),
        "--data-dir",
        str(data),
        "-o",
        str(out),
        "--seed",
        "3",
        "-q",
    ]
    return subprocess.Popen([sys.executable, "-m", "clue_runner", *args, *sets], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=same_threads_env())  # fmt: skip


def same_threads_env() -> dict[str, str]:
    """The environment for a run whose numbers are compared with an in-process run: as many CPU threads as this
    process uses, since a matrix multiply split over another thread count may round differently."""
    import torch

    return {**os.environ, "COLUMNS": "200", "OMP_NUM_THREADS": str(torch.get_num_threads())}


def same_run(got: dict[str, Any], want: dict[str, Any]) -> None:
    """Metrics, history, best step, every logged loss and the leaderboard bytes. The weight bytes are compared
    by the in-process tests above; here the reference ran in another process, whose CPU kernels may sum in
    another order."""
    assert {k: v for k, v in got.items() if k != "weights"} == {
        k: v for k, v in want.items() if k != "weights"
    }


def wait_for(condition: Any, proc: subprocess.Popen[str], what: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"the run ended before {what}: {proc.communicate()[1][-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def logged_step(out: Path) -> int:
    try:
        lines = (out / "metrics.jsonl").read_text().splitlines()
    except OSError:
        return 0
    return max((json.loads(line).get("step", 0) for line in lines[:-1]), default=0)


@pytest.fixture(scope="module")
def long_reference(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("long") / "run"
    assert _run("tnews", tiny_model, FIXTURES / "tnews", out, LONG).status == "completed"
    return _fingerprint(out)


def test_sigterm_stops_with_a_checkpoint_and_a_live_folder_is_refused(
    tmp_path: Path, tiny_model: Path, task_data: Any, long_reference: dict[str, Any]
) -> None:
    data = task_data("tnews")
    out = tmp_path / "run"
    proc = start_run(tiny_model, data, out)
    wait_for(lambda: logged_step(out) >= 3, proc, "training started")
    os.kill(proc.pid, signal.SIGSTOP)  # frozen mid-training, holding its folder
    try:
        for args, fragment in (
            (("run", "tnews", "--model", str(tiny_model), "--data-dir", str(data), "-o", str(out), "--overwrite"),
             "in use by a live run"),
            (("resume", str(out)), "in use by a live run"),
            (("predict", "tnews", "--run", str(out), "--data-dir", str(data)), "being written by a live run"),
        ):  # fmt: skip
            done = clue(*args)
            assert done.returncode == 2, (args, done.stderr)
            assert fragment in done.stderr and f"pid {proc.pid}" in done.stderr, done.stderr
        report = clue("report", str(out), "--format", "json")
        assert json.loads(report.stdout)["tasks"]["tnews"]["unfinished"] == 1
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        os.kill(proc.pid, signal.SIGCONT)
    stdout, stderr = proc.communicate(timeout=240)
    assert proc.returncode == 143, stderr
    results = json.loads((out / "results.json").read_text())
    step = results["interrupted"]["step"]
    assert results["status"] == "interrupted" and results["interrupted"]["signal"] == "SIGTERM"
    assert stdout.strip() == f"interrupted at step {step}; resume with: clue resume {out}"
    assert results["interrupted"]["checkpoint"] == f"checkpoints/step-{step:08d}"
    assert checkpoint.latest(out) == out / results["interrupted"]["checkpoint"]

    done = clue("resume", str(out), "--quiet")
    assert done.returncode == 0, done.stderr
    same_run(_fingerprint(out), long_reference)
    assert json.loads((out / "results.json").read_text())["resumed"][0]["from_step"] == step
    again = clue("resume", str(out))
    assert again.returncode == 0 and "already completed" in again.stdout


def test_sigkill_after_a_checkpoint_reads_as_interrupted_and_resumes(
    tmp_path: Path, tiny_model: Path, task_data: Any, long_reference: dict[str, Any]
) -> None:
    data = task_data("tnews")
    out = tmp_path / "run"
    proc = start_run(tiny_model, data, out, "train.save_every=7")
    wait_for(lambda: checkpoint.latest(out) is not None and logged_step(out) >= 9, proc, "a checkpoint")
    proc.kill()
    proc.wait()
    assert json.loads((out / "results.json").read_text())["status"] == "running"  # as the kill left it
    report = json.loads(clue("report", str(out), "--format", "json").stdout)
    assert report["tasks"]["tnews"]["unfinished"] == 1
    assert runlock.live_status(out, json.loads((out / "results.json").read_text())) == "interrupted"
    done = clue("resume", str(out), "-q")
    assert done.returncode == 0, done.stderr
    same_run(_fingerprint(out), long_reference)


def test_resume_refuses_changed_data(tmp_path: Path, tiny_model: Path, task_data: Any, kill_at: Any) -> None:
    data = task_data("tnews")
    out = tmp_path / "run"
    kill_at(5)
    with pytest.raises(Killed):
        _run("tnews", tiny_model, data, out, TNEWS_SETS)
    with (data / "dev.json").open("a", encoding="utf-8") as handle:
        handle.write("\n")
    with pytest.raises(ClueError, match=r"dev\.json changed since the run started"):
        resume_run(out, progress=False)


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("batch", "world_size", 2, r"trained on 2 process\(es\) and this launch has 1"),
        ("environment", "precision", "bf16", r"trained in precision 'bf16' and would continue in 'no'"),
    ],
)
def test_resume_refuses_another_process_count_or_precision(
    tmp_path: Path, tiny_model: Path, task_data: Any, kill_at: Any, section: str, key: str, value: Any,
    message: str,
) -> None:  # fmt: skip
    """The checkpoint's place in the epoch and its RNG states are per process, its optimizer moments per
    precision: a run written by 2 processes (or in bf16 on a GPU) cannot go on as 1 process in fp32 here."""
    out = tmp_path / "run"
    kill_at(5)
    with pytest.raises(Killed):
        _run("tnews", tiny_model, task_data("tnews"), out, TNEWS_SETS)
    results = json.loads((out / "results.json").read_text())
    results[section][key] = value  # what the run's first launch recorded
    (out / "results.json").write_text(json.dumps(results))
    with pytest.raises(ClueError, match=message):
        resume_run(out, progress=False)
    assert checkpoint.latest(out) is not None  # nothing was touched


def test_overwrite_takes_a_folder_killed_at_its_start(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("seed: 1\n")
    (run / ".results.json.a1b2c3.tmp").write_text("{")
    assert prepare_output_dir(run, "tnews", "m", overwrite=True) == run
    (run / "notes.txt").write_text("mine")
    with pytest.raises(ClueError, match="not a clue run folder"):
        prepare_output_dir(run, "tnews", "m", overwrite=True)


def test_second_ctrl_c_does_not_wait() -> None:
    # What StopSignals must restore: the default handler, or SIG_IGN when the suite runs as a background job.
    before = signal.getsignal(signal.SIGINT)
    with StopSignals() as stop:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)
        assert stop.requested() and stop.exit_code == 130
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)
    assert signal.getsignal(signal.SIGINT) is before


def test_early_stop_and_no_saved_model(tmp_path: Path, tiny_model: Path, task_data: Any) -> None:
    from clue_runner.runner import predict_run

    data = task_data("tnews")
    out = tmp_path / "run"
    # A learning rate too small to move the dev score: the second evaluation brings no improvement.
    sets = ("train.lr=1e-12", "train.eval_every=1", "train.max_steps=10", "train.early_stop=1",
            "output.save_model=none")  # fmt: skip
    outcome = _run("tnews", tiny_model, data, out, sets)
    results = outcome.results
    assert outcome.status == "completed" and results["stopped_early"] is True
    assert results["steps"] == 2 and results["best_step"] == 1 and len(results["metrics"]["history"]) == 2
    assert results["saved_model"] == "none" and not (out / "best").exists()
    assert sorted(p.name for p in (out / "submission").iterdir()) == [
        "tnews10_predict.json",
        "tnews11_predict.json",
    ]
    with pytest.raises(ClueError, match="output.save_model=none"):
        predict_run("tnews", out, data)
