"""Write official-format data for all 11 CLUE tasks at the real split sizes (invented text), for benchmarks.

    python scripts/make_full_data.py --out /tmp/clue-full [--scale 1.0] [--tasks cmnli,chid]

Sizes are the public releases' (CLUE README, the Hugging Face `clue` dataset infos): CMNLI 391,782 train pairs,
TNEWS 53,360 titles, CMRC2018 10,142 train questions, C3 11,869 train questions, CHID 577k train blanks, and so on
(`FULL` below; unscored second test versions get their own sizes). `--scale` multiplies every size (0.25 writes a
quarter), which is how scripts/bench_featurize.py checks that time and memory grow linearly.

The records come from scripts/make_acceptance_data.py's generators (the same formats and corner cases). Two
tasks are sized in that generator's units: C3 in documents (about 1.96 questions each) and CHID in records (about
2.49 blanks each), so their record counts are derived to hit the question and blank counts. Text lengths are the
generator's, which are shorter than the real CHID passages and C3 dialogues, so real data tokenises somewhat
slower than this; row counts, the expensive part for memory, match. Never commit the output: it is ~1 GB.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_acceptance_data as mad

C3_QUESTIONS_PER_DOC = 1.96
CHID_BLANKS_PER_RECORD = 2.49
# (train, dev, test, second test version) in the generator's units.
FULL: dict[str, tuple[int, int, int, int]] = {
    "afqmc": (34_334, 4_316, 3_861, 0),
    "tnews": (53_360, 10_000, 10_000, 10_000),
    "iflytek": (12_133, 2_599, 2_600, 0),
    "cmnli": (391_782, 12_241, 13_880, 0),
    "ocnli": (50_437, 2_950, 3_000, 0),
    "cluewsc2020": (1_244, 304, 290, 290),
    "csl": (20_000, 3_000, 3_000, 0),
    "cmrc2018": (10_142, 3_219, 2_000, 0),
    "c3": tuple(round(q / C3_QUESTIONS_PER_DOC) for q in (11_869, 3_816, 1_625, 3_892)),  # type: ignore[dict-item]
    "chid": tuple(round(b / CHID_BLANKS_PER_RECORD) for b in (577_157, 23_011, 27_197, 22_000)),  # type: ignore[dict-item]
    "cluener": (10_748, 1_343, 1_345, 0),
}


def scaled(task: str, scale: float) -> tuple[int, int, int, int]:
    train, dev, test, test2 = FULL[task]
    # Every split keeps at least 2 records so every file the task reads exists and is non-empty.
    return (max(2, round(train * scale)), max(2, round(dev * scale)), max(2, round(test * scale)),
            max(2, round(test2 * scale)) if test2 else 0)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, type=Path, help="folder that receives <task>/ subfolders")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every split size (default 1)")
    parser.add_argument("--tasks", default=",".join(mad.TASKS))
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args(argv)
    for task in args.tasks.split(","):
        if task not in FULL:
            parser.error(f"unknown task {task!r} (expected some of {', '.join(FULL)})")
        mad.make_task(task, args.out / task, seed=args.seed, sizes=scaled(task, args.scale))
        print(f"{task}: {scaled(task, args.scale)} -> {args.out / task}", flush=True)


if __name__ == "__main__":
    main()
