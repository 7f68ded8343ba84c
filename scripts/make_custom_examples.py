"""Write the two example user tasks of tasks/custom.md: small, learnable, invented data (deterministic).

    python scripts/make_custom_examples.py [OUT]      # default OUT: tasks/examples

- simreg (TSV, sentence pairs, regression): each sentence mixes "good" (好, 赞, ...), "bad" (坏, 差, ...) and
  neutral characters; the score is the share of good among the good and bad characters of both sentences, in
  [0, 1] (so the task file asks for the sigmoid). The test file has no score column.
- sentiment (JSON lines, classification): a review is `pos` when good characters outnumber bad ones, else `neg`;
  the task file lists no labels, so they are read from train.

A bag of characters decides both targets, so even the tiny random model of `clue tiny-model` learns them in a
few hundred steps.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

GOOD = "好赞美喜乐棒优爱佳妙"
BAD = "坏差丑厌悲烂劣恨糟惨"
NEUTRAL = (
    "的是在有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后"
)

SIMREG = """# A sentence-pair regression task in TSV, no header row (tasks/custom.md).
name: simreg
description: invented sentence pairs scored by their share of good characters (0..1)
head: regress
format: tsv
columns: [sentence1, sentence2, score]
text: [sentence1, sentence2]
label: score
sigmoid: true          # the score lies in [0, 1]
metric: pearson
files: {train: simreg/train.tsv, dev: simreg/dev.tsv, test: simreg/test.tsv}
"""

SENTIMENT = """# A single-text classification task in JSON lines (tasks/custom.md); labels come from train.
name: sentiment
description: invented reviews, pos or neg
head: classify
format: jsonl
text: review
label: polarity
metric: macro_f1
files: {train: sentiment/train.jsonl, dev: sentiment/dev.jsonl, test: sentiment/test.jsonl}
"""

TINY = """# Settings for trying the examples with the tiny random model of `clue tiny-model` (see tasks/custom.md):
# a random model needs a high learning rate and a few hundred steps.
train:
  lr: 1.0e-3
  max_steps: 300
  batch_size: 16
  eval_every: 100
data:
  max_len: 64
"""


def sentence(rng: random.Random, good: int, bad: int) -> str:
    chars = [rng.choice(GOOD) for _ in range(good)] + [rng.choice(BAD) for _ in range(bad)]
    chars += [rng.choice(NEUTRAL) for _ in range(rng.randint(4, 10))]
    rng.shuffle(chars)
    return "".join(chars)


def simreg_row(rng: random.Random) -> tuple[str, str, float]:
    goods = [rng.randint(0, 4) for _ in range(2)]
    bads = [rng.randint(0, 4) for _ in range(2)]
    if sum(goods) + sum(bads) == 0:
        goods[0] = 1
    score = sum(goods) / (sum(goods) + sum(bads))
    return sentence(rng, goods[0], bads[0]), sentence(rng, goods[1], bads[1]), round(score, 4)


def review(rng: random.Random) -> tuple[str, str]:
    good, bad = rng.randint(0, 5), rng.randint(0, 5)
    while good == bad:
        bad = rng.randint(0, 5)
    return sentence(rng, good, bad), "pos" if good > bad else "neg"


def write(out: Path) -> None:
    rng = random.Random(20240601)
    (out / "simreg").mkdir(parents=True, exist_ok=True)
    (out / "sentiment").mkdir(parents=True, exist_ok=True)
    for split, n in (("train", 600), ("dev", 120), ("test", 40)):
        rows = [simreg_row(rng) for _ in range(n)]
        lines = [f"{a}\t{b}" if split == "test" else f"{a}\t{b}\t{y}" for a, b, y in rows]
        (out / "simreg" / f"{split}.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
        reviews = [review(rng) for _ in range(n)]
        records = [
            {"id": i, "review": text} if split == "test" else {"review": text, "polarity": label}
            for i, (text, label) in enumerate(reviews)
        ]
        (out / "sentiment" / f"{split}.jsonl").write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
        )
    (out / "simreg.yaml").write_text(SIMREG, encoding="utf-8")
    (out / "sentiment.yaml").write_text(SENTIMENT, encoding="utf-8")
    (out / "configs").mkdir(exist_ok=True)  # not beside the task files: `clue tasks --include` reads those
    (out / "configs" / "tiny-model.yaml").write_text(TINY, encoding="utf-8")


if __name__ == "__main__":
    target = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "tasks" / "examples"
    )
    write(target)
    print(f"wrote {target}")
