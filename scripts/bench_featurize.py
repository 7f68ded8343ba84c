"""Featurisation time and peak memory per task on full-size official-format data, with the real vocab.

    python scripts/bench_featurize.py [--vocab VOCAB.txt] [--scales 0.25,0.5,1] [--tasks all] [--data DIR]

For every task and scale, scripts/make_full_data.py writes the data (into a temporary folder, or reuses --data
DIR/scale-<s>/), then a fresh process reads the train split and featurises it as `clue run` does (`task.read`,
then `task.encode` with the GC paused, the task's default config and a tokenizer built from the vocab; no feature
cache) and reports
wall seconds and its peak resident memory. Three scales show whether time and memory grow linearly: the
per-1,000-row figures should stay flat. Goal: every full train split in <= 3 minutes and <= 6 GB.

Tokenisation is batched through the fast (Rust) tokenizer, which spreads a batch over every core; the Python
around it is one process. The vocab: --vocab or $CLUE_BENCH_VOCAB (bert-base-chinese vocab.txt; `make bench`
fetches it), else the generated vocab of `clue tiny-model` (the output says so).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

import make_full_data as mfd  # noqa: E402

GOAL_S, GOAL_GB = 180.0, 6.0


def worker(task_name: str, data: Path, tokenizer_dir: Path) -> None:
    from clue_runner import config
    from clue_runner.modeling import load_tokenizer
    from clue_runner.registry import get_task
    from clue_runner.runner import gc_paused

    task = get_task(task_name)
    cfg = config.load(task.name)
    tokenizer = load_tokenizer(str(tokenizer_dir))
    base_gb = _rss_gb()
    t0 = time.perf_counter()
    examples = task.read(data, "train")
    t1 = time.perf_counter()
    with gc_paused():  # as runner.featurize does
        features = task.encode(examples, tokenizer, cfg)
    t2 = time.perf_counter()
    out = {"examples": len(examples), "features": len(features), "read_s": t1 - t0, "encode_s": t2 - t1,
           "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "base_gb": base_gb}  # fmt: skip
    print("RESULT " + json.dumps(out), flush=True)


def _rss_gb() -> float:
    """Current resident set size (the libraries imported so far), from /proc."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**30


def measure(task: str, data: Path, tokenizer_dir: Path) -> dict[str, Any]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}
    env.pop("TOKENIZERS_PARALLELISM", None)  # let the fast tokenizer use every core
    cmd = [sys.executable, __file__, "--worker", task, str(data), str(tokenizer_dir)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            out = json.loads(line[len("RESULT ") :])
            return {**out, "process_s": wall, "seconds": out["read_s"] + out["encode_s"]}
    raise SystemExit(f"{task}: featurisation failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vocab", type=Path, default=os.environ.get("CLUE_BENCH_VOCAB") or None)
    parser.add_argument(
        "--scales", default="0.25,0.5,1", help="fractions of the full sizes (default %(default)s)"
    )
    parser.add_argument("--tasks", default="all")
    parser.add_argument(
        "--data", type=Path, default=None, help="keep generated data here (default: a temp dir)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    tasks = list(mfd.FULL) if args.tasks == "all" else args.tasks.split(",")
    scales = [float(s) for s in args.scales.split(",")]
    from clue_runner.tiny import write_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        data_root = args.data or Path(tmp)
        tokenizer_dir = Path(tmp) / "tokenizer"
        if args.vocab is None:
            print(
                "no --vocab / $CLUE_BENCH_VOCAB: the generated vocab, not bert-base-chinese's",
                file=sys.stderr,
            )
        write_tiny_model(tokenizer_dir, layers=1, hidden=32, heads=1, vocab_file=args.vocab)
        rows: dict[str, list[dict[str, Any]]] = {}
        for task in tasks:
            for scale in scales:
                folder = data_root / f"scale-{scale:g}" / task
                if not folder.is_dir():
                    mfd.main(["--out", str(folder.parent), "--scale", str(scale), "--tasks", task])
                result = measure(task, folder, tokenizer_dir)
                rows.setdefault(task, []).append({"scale": scale, **result})
                print(f"  {task} x{scale:g}: {result['features']:,} features in {result['seconds']:.1f} s, "
                      f"peak {result['peak_gb']:.2f} GB (process {result['process_s']:.1f} s)", file=sys.stderr, flush=True)  # fmt: skip
    print(f"\nFeaturisation of the train split: seconds to read + encode, peak resident memory of the process "
          f"(including ~{rows[tasks[0]][0]['base_gb']:.2f} GB of imported libraries); {os.cpu_count()} cores; "
          "scales are fractions of the real size; per-1k-row figures use the time and the memory above the "
          "libraries")  # fmt: skip
    head = " | ".join(f"x{s:g}: s / GB" for s in scales)
    print(
        f"| task | train rows (largest) | features (largest) | {head} | ms per 1k rows | MB per 1k rows | goal met |"
    )
    print("|---|---|---|" + "---|" * len(scales) + "---|---|---|")
    for task, runs in rows.items():
        full = runs[-1]
        cells = " | ".join(f"{r['seconds']:.1f} / {r['peak_gb']:.2f}" for r in runs)
        per_time = " / ".join(f"{1e6 * r['seconds'] / r['examples']:.1f}" for r in runs)
        per_mem = " / ".join(f"{1024e3 * (r['peak_gb'] - r['base_gb']) / r['examples']:.2f}" for r in runs)
        met = full["scale"] == 1 and full["seconds"] <= GOAL_S and full["peak_gb"] <= GOAL_GB
        print(f"| {task} | {full['examples']:,} | {full['features']:,} | {cells} | {per_time} | {per_mem} | "
              f"{'yes' if met else 'no' if full['scale'] == 1 else 'n/a'} |")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
