"""Time from `clue run` starting to its first training step, with the features already cached.

    python scripts/bench_startup.py [--repeats 5]

Writes a tiny random BERT (`clue tiny-model`: 2 layers, hidden 128) and TNEWS-format data into a temporary
folder, fills the feature cache with one run, then runs `python -m clue_runner run tnews ... --set
train.max_steps=2 --set train.log_every=1` --repeats times. The first step's time is when its metrics.jsonl line
is written (file modification time) minus when the process was started; the rest of the run (a second step, the
dev evaluation, saving the model, interpreter exit) is reported separately as the total. Goal: first step <= 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))


def one_run(model: Path, data: Path, out: Path, env: dict[str, str]) -> tuple[float, float]:
    cmd = [sys.executable, "-m", "clue_runner", "run", "tnews", "--model", str(model), "--data-dir", str(data),
           "--output-dir", str(out), "--overwrite", "--offline", "--set", "train.max_steps=2",
           "--set", "train.log_every=1", "--set", "train.batch_size=16", "--set", "eval.batch_size=64"]  # fmt: skip
    start = time.time()
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, check=False)
    total = time.time() - start
    if proc.returncode != 0:
        raise SystemExit(f"clue run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    first = (out / "metrics.jsonl").stat().st_mtime_ns / 1e9 - start
    lines = (out / "metrics.jsonl").read_text().splitlines()
    if not lines or json.loads(lines[0]).get("step") != 1:
        raise SystemExit(f"{out}/metrics.jsonl: expected a step-1 line first")
    return first, total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    import bench_trainer as bt

    from clue_runner.tiny import generated_vocab, write_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        vocab = root / "vocab.txt"
        vocab.write_text("\n".join(generated_vocab()) + "\n", encoding="utf-8")
        model = write_tiny_model(root / "model", layers=2, hidden=128, heads=2, vocab_file=vocab)
        bt.write_tnews(root / "data", n_train=320, n_dev=64, vocab=vocab)
        env = {**os.environ, "CLUE_CACHE_DIR": str(root / "cache"), "HF_HUB_OFFLINE": "1"}
        one_run(model, root / "data", root / "warm", env)  # fills the feature cache
        runs = [one_run(model, root / "data", root / f"run{i}", env) for i in range(args.repeats)]
    firsts, totals = [r[0] for r in runs], [r[1] for r in runs]
    print(f"time to first training step (features cached, tiny model): median {statistics.median(firsts):.2f} s "
          f"(min {min(firsts):.2f}, max {max(firsts):.2f}; goal <= 2 s); whole 2-step run with dev eval and exit: "
          f"median {statistics.median(totals):.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
