"""Published CLUE scores (clue_spec §13.3) as data, for `clue report --compare` and `--plot`.

Three sources, each one table of {model short name: {task: leaderboard figure}} in percent:
- `bojone`: the reference this project aims to reproduce and beat: CLUE-bert4keras's own reproduction ("our"
  rows of kexue.fm/archives/8739), CLUE **test** scores.
- `paddlenlp`: PaddleNLP's CLUE grid search, best **dev** score per task.
- `clue`: the official CLUE baselines (TensorFlow, CLUE README per-task tables; OCNLI from the OCNLI repo),
  **dev** scores, so that they compare with what a local run measures. Its WSC numbers are probably the old WSC
  (spec §13.3 notes), so treat that delta with care.

One figure per task: accuracy for the classification and choice tasks, the leaderboard macro F1 for CLUENER,
and **EM** for CMRC2018
(the CLUE leaderboard ranks CMRC2018 by EM; F1 is kept separately in `CMRC2018_F1`). Tasks a source does not
publish are absent, never zero.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from clue_runner.registry import MODELS


@dataclass(frozen=True)
class Source:
    """One published table.

    Attributes:
        name: what `--compare` takes.
        split: "test" or "dev": which scores the table holds (local runs measure dev).
        title: one line naming the origin, for reports and plots.
        scores: model short name -> task -> leaderboard figure (percent).
    """

    name: str
    split: str
    title: str
    scores: Mapping[str, Mapping[str, float]]


_TASKS10 = ("afqmc", "tnews", "iflytek", "cmnli", "ocnli", "cluewsc2020", "csl", "cmrc2018", "chid", "c3")


def _row(values: tuple[float, ...]) -> dict[str, float]:
    # PaddleNLP lists its 10 dev figures in one fixed order (CMRC2018 as its EM).
    return dict(zip(_TASKS10, values, strict=True))


BOJONE = Source(
    name="bojone",
    split="test",
    title="CLUE-bert4keras reproduction (kexue.fm/archives/8739), test",
    scores={
        "bert-base-chinese": {
            "iflytek": 61.19,
            "tnews": 56.29,
            "afqmc": 73.37,
            "cmnli": 79.37,
            "ocnli": 71.73,
            "cluewsc2020": 73.85,
            "csl": 84.03,
            "cmrc2018": 72.10,
            "c3": 61.33,
            "chid": 85.13,
            "cluener": 78.68,
        },
        "roberta-wwm-ext": {
            "iflytek": 61.12,
            "tnews": 58.35,
            "afqmc": 73.61,
            "cmnli": 80.81,
            "ocnli": 74.27,
            "cluewsc2020": 82.28,
            "csl": 85.33,
            "cmrc2018": 75.40,
            "c3": 67.11,
            "chid": 86.04,
            "cluener": 79.38,
        },
    },
)

PADDLENLP = Source(
    name="paddlenlp",
    split="dev",
    title="PaddleNLP CLUE grid search (best dev)",
    scores={
        "bert-base-chinese": _row((74.63, 57.13, 61.29, 80.97, 75.22, 81.91, 81.90, 65.30, 82.01, 65.38)),
        "roberta-wwm-ext": _row((74.60, 58.08, 61.23, 81.11, 76.92, 88.49, 80.77, 68.39, 83.43, 68.03)),
        "roberta-wwm-ext-large": _row((76.00, 59.33, 62.02, 83.88, 78.81, 90.79, 83.67, 70.58, 85.72, 75.26)),
        "ernie-3.0-base-zh": _row((75.93, 58.26, 61.56, 83.02, 80.10, 86.18, 82.63, 70.71, 84.26, 77.88)),
        "rbt3": _row((70.95, 55.53, 59.18, 76.20, 70.71, 67.11, 76.63, 55.73, 70.26, 54.93)),
    },
)

CLUE = Source(
    name="clue",
    split="dev",
    title="CLUE official baselines (TF; OCNLI repo), dev",
    scores={
        "bert-base-chinese": {
            "afqmc": 74.16,
            "tnews": 56.09,
            "iflytek": 60.37,
            "cmnli": 79.47,
            "ocnli": 74.5,
            "cluewsc2020": 59.6,
            "csl": 79.63,
            "cmrc2018": 64.77,
            "chid": 82.20,
            "c3": 65.70,
        },
        "roberta-wwm-ext": {
            "afqmc": 74.30,
            "tnews": 57.51,
            "iflytek": 60.8,
            "cmnli": 80.70,
            "cluewsc2020": 67.2,
            "csl": 80.67,
            "cmrc2018": 67.89,
            "chid": 83.78,
            "c3": 67.06,
        },
        "roberta-wwm-ext-large": {"ocnli": 78.8},
    },
)

SOURCES: dict[str, Source] = {s.name: s for s in (BOJONE, PADDLENLP, CLUE)}

# CMRC2018 F1 beside the EM figure above, per source and model (reports show it as an extra).
CMRC2018_F1: dict[str, dict[str, float]] = {
    "paddlenlp": {
        "bert-base-chinese": 86.53,
        "roberta-wwm-ext": 88.50,
        "roberta-wwm-ext-large": 89.82,
        "ernie-3.0-base-zh": 90.41,
        "rbt3": 78.63,
    },
    "clue": {"bert-base-chinese": 85.48, "roberta-wwm-ext": 87.28},
}


def canonical_model(name: str | None, resolved: str | None = None) -> str | None:
    """The short name the tables use for a model given as a short name, a hub id or a folder, or None."""
    by_hub = {hub.lower(): short for short, hub in MODELS.items()}
    # The legacy hub id `bert-base-chinese` is the short name itself; `google-bert/...` maps back through MODELS.
    for candidate in (name, resolved):
        if not candidate:
            continue
        if candidate in MODELS:
            return candidate
        short = by_hub.get(candidate.lower())
        if short:
            return short
    return None


def published(source: str, model: str | None, task: str) -> float | None:
    """The `source` figure for (`model` short name, `task`), or None when the source has none."""
    table = SOURCES[source].scores
    if model is None or model not in table:
        return None
    return table[model].get(task)
