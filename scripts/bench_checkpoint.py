"""Benchmark checkpoints: seconds and megabytes to write one, seconds to load one (what a resume costs).

    python scripts/bench_checkpoint.py [--repeats 3] [--threads 1] [--json OUT]

Builds two random BERTs with the generated bert-base-chinese-like vocab (21,128 tokens) and a TNEWS head: the
tiny test model (2 layers, hidden 64) and a bert-base-sized one (12 layers, hidden 768, 12 heads), takes one
training step so that AdamW has its moment buffers, then writes and loads a full checkpoint (the code a run uses:
`checkpoint.save` / `checkpoint.load`, i.e. Accelerate's save_state + the loop state) --repeats times, the two
models interleaved, and the best-state file (`checkpoint.save_best`) likewise. Reports medians with min-max.
Numbers depend on the machine and its disk; docs/benchmarks.md records ours.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SIZES = {"tiny (2x64)": (2, 64, 2), "bert-base-sized (12x768)": (12, 768, 12)}


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def prepared(model_dir: Path, run_dir: Path) -> dict[str, Any]:
    """A model, optimizer and scheduler after one optimizer step, as the loop holds them mid-run."""
    import torch

    from clue_runner import config, loop
    from clue_runner.modeling import build_model
    from clue_runner.registry import get_task
    from clue_runner.runner import make_accelerator

    task = get_task("tnews")
    cfg = config.load("tnews", overrides={"model": str(model_dir)})
    accelerator = make_accelerator(cfg)
    model = build_model(task, str(model_dir), cfg)
    optimizer = loop._optimizer(model, cfg)
    model, optimizer = accelerator.prepare(model, optimizer)
    scheduler = loop._linear_schedule(optimizer, 10, 100)
    accelerator.register_for_checkpointing(scheduler)
    batch = {
        "input_ids": torch.randint(100, 20000, (8, 64)),
        "token_type_ids": torch.zeros(8, 64, dtype=torch.long),
        "attention_mask": torch.ones(8, 64, dtype=torch.long),
        "labels": torch.randint(0, len(task.labels), (8,)),
    }
    loss = loop.loss_fn(task.head, model(batch), batch)
    accelerator.backward(loss)
    optimizer.step()
    scheduler.step()
    state = {
        k: v.detach().to("cpu", copy=True) for k, v in accelerator.unwrap_model(model).state_dict().items()
    }
    return {"accelerator": accelerator, "run_dir": run_dir, "best": state}


def measure(setup: dict[str, Any], step: int) -> dict[str, float]:
    from clue_runner import checkpoint

    accelerator, run_dir = setup["accelerator"], setup["run_dir"]
    t0 = time.perf_counter()
    path = checkpoint.save(accelerator, run_dir, step, {"step": step}, keep=1)
    saved = time.perf_counter() - t0
    t0 = time.perf_counter()
    checkpoint.load(accelerator, path)
    loaded = time.perf_counter() - t0
    t0 = time.perf_counter()
    checkpoint.save_best(run_dir, step, setup["best"], {"accuracy": 0.0})
    best = time.perf_counter() - t0
    best_dir = checkpoint.folder(run_dir) / f"best-{step:08d}"
    return {
        "save_s": saved,
        "load_s": loaded,
        "save_best_s": best,
        "checkpoint_mb": folder_mb(path),
        "best_mb": folder_mb(best_dir),
    }


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="torch / OpenMP threads (pinned for fairness)")
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    import torch

    from clue_runner.tiny import write_tiny_model

    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="clue-bench-ckpt-"))
    try:
        setups = {}
        for name, (layers, hidden, heads) in SIZES.items():
            model_dir = write_tiny_model(
                work / f"model-{layers}", layers=layers, hidden=hidden, heads=heads, seed=0
            )
            setups[name] = prepared(model_dir, work / f"run-{layers}")
        raw: dict[str, list[dict[str, float]]] = {name: [] for name in SIZES}
        for repeat in range(args.repeats):  # the two models interleaved: A B A B ...
            for name, setup in setups.items():
                raw[name].append(measure(setup, repeat + 1))
        print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
              f"{args.threads} thread(s), {args.repeats} repeats; median (min-max)")  # fmt: skip
        print("| model | checkpoint MB | write s | load (resume) s | best state MB | best write s |")
        print("|---|---|---|---|---|---|")
        for name, rows in raw.items():
            print(
                f"| {name} | {statistics.median(r['checkpoint_mb'] for r in rows):.1f} "
                f"| {summary([r['save_s'] for r in rows])} | {summary([r['load_s'] for r in rows])} "
                f"| {statistics.median(r['best_mb'] for r in rows):.1f} | {summary([r['save_best_s'] for r in rows])} |"
            )
        if args.json:
            args.json.write_text(json.dumps(raw, indent=2) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
