"""One run per folder: a lock a run holds for its whole life, and how other commands tell a live run from a dead one.

The lock is `fcntl.flock` on `<run>/.clue.lock`: the kernel drops it when the process dies, however it dies, so a
SIGKILLed run never leaves a stale lock. The file itself stays (removing a locked file races with a process that
has just opened it) and records who holds it (host, pid, start time) for the "busy" message.

On filesystems where `flock` does not work (some network mounts answer ENOLCK), the fallback is an exclusive lock
file `<run>/.clue.lock.held` created with O_EXCL, with the holder's host and pid, whose modification time is
refreshed every HEARTBEAT_S seconds: it counts as held while its pid lives (same host) or while its heartbeat is
fresh (another host).

Locks are re-entrant within a process (`clue bench` claims a cell, then the run it starts takes the same lock).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from clue_runner.errors import ClueError

LOCK_FILE = ".clue.lock"
FALLBACK_FILE = ".clue.lock.held"
HEARTBEAT_S = 30.0
STALE_S = 4 * HEARTBEAT_S
_NO_FLOCK = (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL)


class RunBusy(ClueError):
    """The folder is held by another live process."""


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    since: str = ""

    def describe(self) -> str:
        since = f", since {self.since}" if self.since else ""
        return f"host {self.host}, pid {self.pid}{since}"


def hostname() -> str:
    return socket.gethostname()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _me() -> dict[str, Any]:
    return {
        "host": hostname(),
        "pid": os.getpid(),
        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _read_holder(path: Path) -> Holder | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Holder(str(data["host"]), int(data["pid"]), str(data.get("since", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


class RunLock:
    """A held lock on one folder; `release()` (or leaving the `with` block) gives it up."""

    def __init__(self, folder: Path, key: str, fd: int | None, fallback: Path | None) -> None:
        self.folder = folder
        self._key = key
        self._fd = fd
        self._fallback = fallback
        self._refs = 1
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None
        if fallback is not None:
            self._beat = threading.Thread(target=self._heartbeat, name="clue-lock-heartbeat", daemon=True)
            self._beat.start()

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            with contextlib.suppress(OSError):
                os.utime(self._fallback)  # type: ignore[arg-type]

    def release(self) -> None:
        self._refs -= 1
        if self._refs > 0:
            return
        _HELD.pop(self._key, None)
        self._stop.set()
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None
        if self._fallback is not None:
            self._fallback.unlink(missing_ok=True)
            self._fallback = None

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


_HELD: dict[str, RunLock] = {}


def _busy(folder: Path, holder: Holder | None, what: str) -> RunBusy:
    who = holder.describe() if holder else "another process"
    return RunBusy(
        f"{folder} is in use by a live {what} ({who}); wait for it to end or choose another folder"
    )


def acquire(folder: str | Path, what: str = "run") -> RunLock:
    """Take the folder's lock (creating the folder), or raise RunBusy naming the live holder at once."""
    folder = Path(folder)
    key = str(folder.resolve())
    held = _HELD.get(key)
    if held is not None:
        held._refs += 1
        return held
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise _busy(folder, _read_holder(path), what) from None
    except OSError as exc:
        os.close(fd)
        if exc.errno not in _NO_FLOCK:
            raise
        lock = _acquire_fallback(folder, key, what)
    else:
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(_me()) + "\n").encode(), 0)
        lock = RunLock(folder, key, fd, None)
    _HELD[key] = lock
    return lock


def _fallback_live(path: Path) -> Holder | None:
    holder = _read_holder(path)
    if holder is None:
        return None if not path.exists() else Holder("?", 0)
    if holder.host == hostname():
        return holder if pid_alive(holder.pid) else None
    try:
        fresh = time.time() - path.stat().st_mtime < STALE_S
    except OSError:
        return None
    return holder if fresh else None


def _acquire_fallback(folder: Path, key: str, what: str) -> RunLock:
    path = folder / FALLBACK_FILE
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            holder = _fallback_live(path)
            if holder is not None:
                raise _busy(folder, holder, what) from None
            path.unlink(missing_ok=True)  # its holder is gone: take it over
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(_me()) + "\n")
        return RunLock(folder, key, None, path)
    raise _busy(folder, _read_holder(path), what)


def holder(folder: str | Path) -> Holder | None:
    """The live process holding `folder`, or None when nobody else does (never held, its holder died, or the
    holder is this process: `clue bench` claims a cell, then runs it)."""
    folder = Path(folder)
    if str(folder.resolve()) in _HELD:
        return None
    fallback = folder / FALLBACK_FILE
    if fallback.exists():
        live = _fallback_live(fallback)
        if live is not None:
            return live
    path = folder / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(path) or Holder("?", 0)
    except OSError:
        return None
    finally:
        os.close(fd)  # also drops the probe's shared lock
    return None


def live_status(folder: str | Path, results: dict[str, Any]) -> str:
    """The run's status as it really is: a `running` run whose process is gone reads as `interrupted`.

    A run holds its folder's lock while it lives, so `running` with the lock free means it died. Folders from
    before the lock existed fall back on the recorded pid when the run was on this host.
    """
    status = str(results.get("status", "unknown"))
    if status != "running":
        return status
    folder = Path(folder)
    if (folder / LOCK_FILE).exists() or (folder / FALLBACK_FILE).exists():
        return "running" if holder(folder) is not None else "interrupted"
    pid = results.get("pid")
    if results.get("host") == hostname() and isinstance(pid, int) and not pid_alive(pid):
        return "interrupted"
    return status
