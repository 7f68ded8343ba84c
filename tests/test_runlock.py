"""One run per folder: the folder lock, its fallback where flock fails, and how a dead run's status reads."""

from __future__ import annotations

import errno
import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clue_runner import runlock
from clue_runner.report import find_runs


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_held_folder_is_refused_naming_the_holder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code = (
        "import sys, time; from clue_runner import runlock; runlock.acquire(sys.argv[1]); "
        "print('held', flush=True); time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(runlock.RunBusy, match=rf"pid {holder.pid}"):
            runlock.acquire(run)
        assert runlock.holder(run) == runlock.Holder(
            runlock.hostname(), holder.pid, runlock.holder(run).since
        )  # type: ignore[union-attr]
        assert runlock.live_status(run, {"status": "running"}) == "running"
    finally:
        holder.kill()
        holder.wait()
    # The kernel dropped the lock with the process: free at once, and a `running` left behind is read as dead.
    assert runlock.holder(run) is None
    assert runlock.live_status(run, {"status": "running"}) == "interrupted"
    with runlock.acquire(run) as lock, runlock.acquire(run) as again:  # re-entrant within a process
        assert lock is again
        assert runlock.holder(run) is None  # this process is not "another live run"
    assert not runlock._HELD


def test_runs_from_before_the_lock_fall_back_on_the_pid(tmp_path: Path) -> None:
    me = {"status": "running", "host": runlock.hostname(), "pid": os.getpid()}
    assert runlock.live_status(tmp_path, me) == "running"
    assert runlock.live_status(tmp_path, {**me, "pid": _dead_pid()}) == "interrupted"
    assert runlock.live_status(tmp_path, {**me, "host": "elsewhere", "pid": _dead_pid()}) == "running"
    assert runlock.live_status(tmp_path, {"status": "completed"}) == "completed"


def test_fallback_lock_file_where_flock_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_flock(fd: int, op: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    run = tmp_path / "run"
    with runlock.acquire(run):
        held = json.loads((run / runlock.FALLBACK_FILE).read_text())
        assert held["pid"] == os.getpid()
    assert not (run / runlock.FALLBACK_FILE).exists()
    # A lock file left by a dead process on this host is taken over ...
    (run / runlock.FALLBACK_FILE).write_text(json.dumps({"host": runlock.hostname(), "pid": _dead_pid()}))
    runlock.acquire(run).release()
    # ... one from another host counts while its heartbeat is fresh, and is taken over once it is stale.
    (run / runlock.FALLBACK_FILE).write_text(json.dumps({"host": "node9", "pid": 1, "since": "x"}))
    with pytest.raises(runlock.RunBusy, match="host node9, pid 1"):
        runlock.acquire(run)
    old = time.time() - runlock.STALE_S - 1
    os.utime(run / runlock.FALLBACK_FILE, (old, old))
    runlock.acquire(run).release()


def test_report_reads_a_dead_running_run_as_interrupted(tmp_path: Path) -> None:
    run = tmp_path / "run"
    runlock.acquire(run).release()  # a run that held its lock, then died
    (run / "results.json").write_text(json.dumps({"task": "tnews", "status": "running", "seed": 1}))
    assert find_runs([run])[0][1]["status"] == "interrupted"
