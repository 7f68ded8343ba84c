"""Benchmark the training loop: throughput with and without length-grouped batches, and padding waste.

    python scripts/bench_loop.py [--repeats 5] [--steps 40] [--layers 2] [--hidden 128] [--json OUT]

Builds a tiny random BERT and a synthetic TNEWS-format set whose sentence lengths vary like real titles and app
descriptions (8-120 characters), then times `clue run` (the real code path) with `train.group_by_length` on and
off. Reports the median over --repeats runs of real (non-pad) tokens per second, and the share of padded tokens
in the training batches. Numbers depend on the machine; docs/benchmarks.md records ours.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clue_runner.loop import LengthGroupedBatches
from clue_runner.runner import run_task
from clue_runner.tasks.tnews import LABELS
from clue_runner.tiny import write_tiny_model


def write_data(folder: Path, n_train: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    lengths = []
    for split, n in (("train", n_train), ("dev", 200)):
        with (folder / f"{split}.json").open("w", encoding="utf-8") as handle:
            for _ in range(n):
                length = int(min(120, max(8, rng.lognormvariate(3.3, 0.6))))
                text = "".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(length))
                handle.write(
                    json.dumps(
                        {"label": rng.choice(LABELS), "label_desc": "", "sentence": text, "keywords": ""},
                        ensure_ascii=False,
                    )
                    + "\n"
                )
                if split == "train":
                    lengths.append(length + 2)
    return lengths


def padding_share(lengths: list[int], batch: int, group: bool) -> float:
    batches = list(LengthGroupedBatches(lengths, batch, seed=0, group=group))
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    return 1 - sum(lengths) / padded


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model = write_tiny_model(
            root / "model", layers=args.layers, hidden=args.hidden, heads=max(1, args.hidden // 64)
        )
        lengths = write_data(root / "data", n_train=args.steps * args.batch, seed=0)
        figures: dict[str, dict[str, float]] = {}
        for group in (True, False):
            rates = []
            for repeat in range(args.repeats):
                outcome = run_task(
                    "tnews",
                    model=str(model),
                    data_dir=root / "data",
                    output_dir=root / f"run-{group}-{repeat}",
                    sets=[
                        f"train.max_steps={args.steps}",
                        f"train.batch_size={args.batch}",
                        f"train.group_by_length={str(group).lower()}",
                        "train.eval_every=null",
                    ],
                    progress=False,
                )
                rates.append(outcome.results["throughput"]["train_tokens_per_s"])
            key = "grouped" if group else "shuffled"
            figures[key] = {
                "median_tokens_per_s": statistics.median(rates),
                "runs": rates,
                "padding_share": round(padding_share(lengths, args.batch, group), 4),
            }
    report = {
        "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}, torch threads from the environment",
        "config": vars(args) | {"json": str(args.json) if args.json else None},
        "results": figures,
        "speedup": round(
            figures["grouped"]["median_tokens_per_s"] / figures["shuffled"]["median_tokens_per_s"], 3
        ),
    }
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
