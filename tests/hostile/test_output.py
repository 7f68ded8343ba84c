"""Output no input can rewrite (no markup, no emoji codes) and the last-resort handler: never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from harness import FIXTURES, Sandbox, assert_clean_error


def test_paths_print_literally(sandbox: Sandbox) -> None:
    odd = sandbox.root / "d:100:[bold]x[/]:smile:"
    done = sandbox.clue("check-data", "tnews", "--data-dir", odd)
    assert_clean_error(done, 2, f"data folder not found: {odd}")


def test_error_at_line_100_keeps_its_colons(sandbox: Sandbox, tiny_model: Path) -> None:
    data = sandbox.root / "data" / "tnews"
    shutil.copytree(FIXTURES / "tnews", data)
    good = (data / "train.json").read_text(encoding="utf-8").splitlines()
    lines = [*(good * 20)[:99], '{"label": "103", "sentence": ']
    (data / "train.json").write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = sandbox.clue("run", "tnews", "--model", tiny_model, "--data-dir", data, "-o", sandbox.root / "out")
    assert_clean_error(done, 2, f"{data / 'train.json'}:100: malformed JSON")
    assert not (sandbox.root / "out").exists()


def test_unexpected_exception_is_one_line_and_a_trace_file(sandbox: Sandbox) -> None:
    # A command that fails in a way no check foresaw (here: a patched one), run through the real entry point.
    code = (
        "import sys\n"
        "import clue_runner.registry as registry\n"
        "def broken(name):\n"
        "    raise RuntimeError('disk gremlin :100: [bold]\\nsecond line')\n"
        "registry.get_task = broken\n"
        "from clue_runner.cli import main\n"
        "sys.argv = ['clue', 'config', 'tnews']\n"
        "main()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=sandbox.cwd, env=sandbox.env(), capture_output=True, text=True
    )
    assert "Traceback" not in done.stderr + done.stdout
    assert done.returncode == 3
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert "internal error: RuntimeError: disk gremlin :100: [bold]" in line and "second line" not in line
    trace = Path(line.split("full traceback in ")[1].split(";")[0])
    assert trace.parent == sandbox.root / "tmp"
    text = trace.read_text(encoding="utf-8")
    assert "Traceback" in text and "second line" in text and "argv:" in text
