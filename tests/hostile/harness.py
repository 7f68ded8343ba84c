"""The harness of the hostile-input suite: run `python -m clue_runner` in a sandbox and check what a user sees.

Every command runs with its working directory, HOME, TMPDIR and caches inside one sandbox folder, so a test can
compare the sandbox before and after and prove that nothing was written outside the command's target.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

FIXTURES = Path(__file__).parent.parent / "fixtures"

# `python -m clue_runner ARGS` that, at exit, writes its peak resident memory (VmHWM, kB) to the file argv[1].
# (The rusage of a child counts the forked copy of the test process, so the child measures itself.)
_MEASURED = """
import atexit, runpy, sys
out = sys.argv.pop(1)
def peak():
    with open("/proc/self/status") as status, open(out, "w") as handle:
        handle.write(next(l.split()[1] for l in status if l.startswith("VmHWM:")))
atexit.register(peak)
sys.argv[0] = "clue"
runpy.run_module("clue_runner", run_name="__main__", alter_sys=True)
"""


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]


class Sandbox:
    """A folder holding the command's cwd, HOME, TMPDIR and caches, plus whatever inputs a test builds."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.cwd = root / "cwd"
        for sub in ("cwd", "home", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "COLUMNS": "200",
            "HOME": str(self.root / "home"),
            "TMPDIR": str(self.root / "tmp"),
            "CLUE_CACHE_DIR": str(self.root / "home" / "feature-cache"),
            "CLUE_DATA_DIR": str(self.root / "home" / "data"),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }

    def clue(self, *args: str | Path, timeout: float = 180) -> Done:
        """Run `python -m clue_runner ARGS` from the sandbox's cwd; also report the child's peak memory."""
        with tempfile.NamedTemporaryFile("r", suffix=".hwm") as peak:
            done = subprocess.run(
                [sys.executable, "-c", _MEASURED, peak.name, *map(str, args)],
                cwd=self.cwd,
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            text = peak.read().strip()
        return Done(done.returncode, done.stdout, done.stderr, int(text) / 1024 if text else float("nan"))

    def files(self) -> dict[str, tuple[int, int]]:
        """Every file under the sandbox: relative path -> (size, mtime_ns)."""
        out = {}
        for path in self.root.rglob("*"):
            if path.is_file() or path.is_symlink():
                stat = path.lstat()
                out[str(path.relative_to(self.root))] = (stat.st_size, stat.st_mtime_ns)
        return out

    def changed_since(self, before: dict[str, tuple[int, int]]) -> list[str]:
        after = self.files()
        return sorted({p for p in after if before.get(p) != after[p]} | {p for p in before if p not in after})


def assert_clean_error(done: Done, code: int, *needles: str) -> str:
    """The user saw exactly one `error:` line containing every needle, the given exit status, no traceback."""
    assert "Traceback" not in done.stderr + done.stdout, done.stderr
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.error_lines
    assert len(lines) == 1, done.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def assert_only_changed(sandbox: Sandbox, before: dict[str, tuple[int, int]], allowed: Iterable[str]) -> None:
    """Files created, changed or removed since `before` all lie under one of the `allowed` sandbox paths."""
    prefixes = tuple(allowed)
    stray = [p for p in sandbox.changed_since(before) if not p.startswith(prefixes)]
    assert not stray, f"written outside the target: {stray}"
