"""The benchmark scripts run end to end (on CPU, tiny, few steps): they are what `make bench` and the GPU
machine run, so a broken one must fail here rather than on the day a GPU is lent."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_gpu_runs_on_cpu_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    env = {**os.environ, "PYTHON": sys.executable, "CLUE_BENCH_VOCAB": str(tmp_path / "absent-vocab.txt")}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "bench_gpu.sh"), "--json", str(out)],
        env={**env, "CUDA_VISIBLE_DEVICES": ""},  # the CPU path even on a GPU machine
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("CPU run") and "NOT GPU figures" in lines[0]
    figures = json.loads(out.read_text())
    assert figures["device"] == "cpu" and (figures["layers"], figures["hidden"]) == (2, 128)
    assert figures["train_seq_per_s"] > 0 and figures["eval_seq_per_s"] > 0 and figures["clue_vs_tuned"] > 0
    assert figures["c3"]["train_seq_per_s"] > 0 and figures["c3"]["peak_memory_gb"] > 0
    assert figures["sweep_projected_min"] > 0
    assert any(line.startswith("full 11-task one-seed sweep") for line in lines)
