"""Published CLUE scores (listed with their sources in docs/clue.md §7), for `clue report --compare` and `--plot`.

Three sources; each task module holds its own figures (`Task.published`: source -> model short name ->
leaderboard figure, percent):
- `bojone`: the reference this project aims to reproduce and beat: CLUE-bert4keras's own reproduction ("our"
  rows of kexue.fm/archives/8739), CLUE **test** scores.
- `paddlenlp`: PaddleNLP's CLUE grid search, best **dev** score per task.
- `clue`: the official CLUE baselines (TensorFlow, CLUE README per-task tables; OCNLI from the OCNLI repo),
  **dev** scores, so that they compare with what a local run measures. Its WSC numbers are probably the old WSC
  (docs/clue.md §7.3, caveats), so treat that delta with care.

One figure per task, in the task's `board_metric`: accuracy for the classification and choice tasks, the
leaderboard macro F1 for CLUENER, and EM for CMRC2018 (the CLUE leaderboard ranks CMRC2018 by EM; its F1 is a
`Task.published_extra`). Tasks a source does not publish are absent, never zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from clue_runner.registry import MODELS, TASKS, get_task

if TYPE_CHECKING:
    from clue_runner.tasks.base import Task


@dataclass(frozen=True)
class Source:
    """One published table; its figures live in the task modules (`Task.published`).

    Attributes:
        name: what `--compare` takes.
        split: "test" or "dev": which scores the table holds (local runs measure dev).
        title: one line naming the origin, for reports and plots.
    """

    name: str
    split: str
    title: str


BOJONE = Source("bojone", "test", "CLUE-bert4keras reproduction (kexue.fm/archives/8739), test")
PADDLENLP = Source("paddlenlp", "dev", "PaddleNLP CLUE grid search (best dev)")
CLUE = Source("clue", "dev", "CLUE official baselines (TF; OCNLI repo), dev")

SOURCES: dict[str, Source] = {s.name: s for s in (BOJONE, PADDLENLP, CLUE)}


def _task(name: str) -> Task | None:
    return get_task(name) if name in TASKS else None


def source_models(source: str) -> set[str]:
    """The model short names `source` publishes any figure for."""
    return {model for name in TASKS for model in get_task(name).published.get(source, {})}


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
    spec = _task(task)
    if model is None or spec is None:
        return None
    return spec.published.get(source, {}).get(model)


def published_extra(source: str, model: str | None, task: str) -> dict[str, float]:
    """Further metrics `source` publishes beside the figure (CMRC2018's F1), {metric: percent}."""
    spec = _task(task)
    if model is None or spec is None:
        return {}
    return dict(spec.published_extra.get(source, {}).get(model, {}))
