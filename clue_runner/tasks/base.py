"""The Task contract every task module fulfils, and the small data types passed between task and loop.

A task module reads top to bottom: constants, `read`, `encode`, `decode`, `score`, `render`, `parse`, `gold`,
then `TASK = Task(...)`, the one name the registry reads. The loop only ever sees `Features` (model inputs plus
back-references) and hands `decode` one compact output per feature; it never looks inside examples.

Head kinds and what `encode` puts in each feature row (lists of ints; the collator pads them):
- classify: input_ids, token_type_ids, attention_mask; label = class index.
- regress:  the same keys; label = the target, a float.
- choice:   the same keys, each a list per choice (all rows of a task have the same number of choices);
            label = choice index. A sequence may be a numpy int array (4 bytes a token instead of ~36 in a
            Python list: CHID's train split has ~577k blanks x 10 candidates).
- span:     the classify keys plus span_mask (1 = token may start/end an answer, i.e. [CLS] and context);
            label = (start_token, end_token), (0, 0) when this window does not hold the answer.
- entities: the classify keys plus span_mask (1 = a real text token); label = list of (type, start, end).

What the loop hands back to `decode`, one per feature, in feature order (the head's `reduce`, clue_runner/heads/):
- classify / choice: a float32 numpy array of logits;
- regress: a float32 numpy array holding the one output (after the sigmoid where the task asks for one);
- span: (start_token, end_token, score) of the best allowed pair, [CLS] excluded;
- entities: list of (type, start_token, end_token, score) with a positive score.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from clue_runner.errors import ClueError

if TYPE_CHECKING:
    import random

    from transformers import PreTrainedTokenizerBase

    from clue_runner.checksums import TaskChecksums
    from clue_runner.config import RunConfig
    from clue_runner.errors import DataError

HeadKind = Literal["classify", "regress", "choice", "span", "entities"]
HEAD_KINDS: tuple[HeadKind, ...] = ("classify", "regress", "choice", "span", "entities")

Example = Any  # each task has its own frozen dataclass; the loop never looks inside
Prediction = Any  # a label string, an answer text, a blank -> index dict, an entity dict ...


@dataclass
class Features:
    """Model inputs for one split, plus what `decode` needs to map outputs back to examples.

    `example_index[i]` is the example feature i came from (CMRC2018 windows map many features to one example);
    `meta[i]` is task-private decode information (token offsets, blank keys), or None.
    """

    rows: list[dict[str, Any]]
    labels: list[Any]
    example_index: list[int]
    meta: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = len(self.rows)
        if len(self.labels) != n or len(self.example_index) != n or (self.meta and len(self.meta) != n):
            raise ValueError("Features: rows, labels, example_index and meta must have one entry per feature")

    def __len__(self) -> int:
        return len(self.rows)

    def lengths(self) -> list[int]:
        """Tokens per feature (for choice rows: the longest choice), for length grouping and throughput."""
        out = []
        for row in self.rows:
            ids = row["input_ids"]
            nested = len(ids) > 0 and hasattr(ids[0], "__len__")  # choice rows: one sequence per choice
            out.append(max(len(c) for c in ids) if nested else len(ids))
        return out


SubmissionFormat = Literal["lines", "document"]
SUBMISSION_FORMATS: tuple[SubmissionFormat, ...] = ("lines", "document")

Reader = Callable[[Path, str], list[Example]]
Encoder = Callable[[Sequence[Example], "PreTrainedTokenizerBase", "RunConfig"], Features]
Decoder = Callable[[Sequence[Any], Features, Sequence[Example], "RunConfig"], list[Prediction]]
Scorer = Callable[[Sequence[Prediction], Sequence[Example]], dict[str, float]]
Renderer = Callable[[Sequence[Prediction], Sequence[Example]], str]
Parser = Callable[[Path, Sequence[Example]], list[Prediction]]
Gold = Callable[[Sequence[Example]], list[Prediction]]
Checker = Callable[[Path, str], list["DataError"]]
# (leaderboard file, test examples, its parsed predictions or None when it did not parse) -> problems and notes
SubmissionChecker = Callable[[Path, Sequence[Example], "Sequence[Prediction] | None"], list[str]]


class Note(str):
    """A submission check's finding that does not fail validation: the leaderboard accepts and scores the file,
    but something in it is worth a look (shown beside the verdict)."""


# (split, source files, destination files, records wanted, rng, stratify by label) -> records kept
Subsetter = Callable[[str, Sequence[Path], Sequence[Path], int, "random.Random", bool], int]
RecordCounter = Callable[[Path], "int | None"]


def _every_file(name: str) -> bool:
    return True


def gold_labels(
    examples: Sequence[Example],
    convert: Callable[[Any], Prediction] = lambda label: label,
    missing: Callable[[Example], str] = lambda ex: "record has no label",
    attribute: str = "label",
) -> list[Prediction]:
    """The one `gold` path: each example's `attribute` (its label) through `convert`, i.e. what a perfect model
    predicts. An unlabelled example (a test split) is an error naming its `source` and, through `missing`, what
    it lacks."""
    out = []
    for ex in examples:
        label = getattr(ex, attribute)
        if label is None:
            raise ClueError(f"{ex.source}: {missing(ex)} (gold predictions need a labelled split)")
        out.append(convert(label))
    return out


@dataclass(frozen=True)
class Task:
    """Everything the runner knows about one CLUE task.

    Attributes:
        name: registry key = module name = configs/tasks/<name>.yaml = tasks/<name>.md.
        version: bump when a change can move scores; recorded in results.json and the feature cache key.
        head: which model head the task trains.
        labels: label strings exactly as in the files (entity types for CLUENER; empty for span tasks).
        num_outputs: classes (classify), choices per row (choice), entity types (entities), 1 (span).
        main_metric: metric key that picks the best checkpoint.
        metrics: every metric key `score` returns, main first, all in percent (0-100).
        splits: split name -> the file names that make it up ("test1.0" where a task has two test sets).
        submissions: test split -> leaderboard file name.
        read: (data_dir, split) -> examples; raises DataError naming file:line; labelled unless a test split.
        encode: examples -> Features.
        decode: per-feature outputs -> one prediction per example.
        score: predictions vs labelled examples -> {metric: percent}.
        render: predictions -> the leaderboard file's text (pure, golden-tested).
        parse: a leaderboard-format file -> predictions aligned with the examples (inverse of render).
        gold: labelled examples -> the predictions a perfect model makes (for round trips and checks).
        description: one line for `clue tasks`.
        leaderboard_metric: the metric the CLUE leaderboard ranks by, when it is not `main_metric` (CMRC2018
            ranks by EM, CLUENER by the string-set macro F1); None = `main_metric`.
        check: optional (data_dir, split) -> problems that `read` tolerates because the official loaders do
            (e.g. a CMRC2018 `answer_start` that does not point at its answer); `clue check-data` reports them.
            Anything that makes a record unusable is raised by `read` instead.
        submission_format: the leaderboard file's shape: "lines" (one JSON object per line, one line per test
            record) or "document" (one JSON object keyed by record id, as CMRC2018 and CHID).
        submission_check: rules of a leaderboard file beyond what `parse` checks (`clue validate`), e.g. C3
            labels within the question's own choices; None = none. A returned `Note` is shown without failing.
        subset: how `clue subset` takes `n` records of a split; None = JSON lines copied verbatim (stratified by
            `label` for classification train/dev).
        count: records in one of the task's files for `clue data`; None = its non-blank lines.
        record_lines: whether a file (by name) holds one record per line, so that `clue check-data` can blank a
            bad line and read on to list later problems; default: every file.
        published: published leaderboard figures (`board_metric`, percent) for `clue report --compare`: source
            name (`published.SOURCES`) -> model short name -> figure.
        published_extra: further published metrics beside a figure: source -> model -> {metric: percent}.
        checksums: the official archive (`<archive>_public.zip`) and its published digests; None = an archive
            named after the task, with nothing published to verify against.
        paddle_mirror: whether PaddleNLP's mirror serves the archive too.
        source: where the task was defined when that is not a module here (a user's task file), else "".
        fingerprint: what else decides the features besides the files and config (a task file's digest); part of
            the feature-cache key.
        minimize: the main metric is better when lower (mse), so the best checkpoint is the lowest one.
        sigmoid: regress head only: squash the output into (0, 1) for targets known to lie in [0, 1].
        former_names: leaderboard file names the board used before (e.g. before the 2021 test-set update) ->
            the current name; `clue validate` names the current one instead of accepting them silently.
    """

    name: str
    version: int
    head: HeadKind
    labels: tuple[str, ...]
    num_outputs: int
    main_metric: str
    metrics: tuple[str, ...]
    splits: Mapping[str, tuple[str, ...]]
    submissions: Mapping[str, str]
    read: Reader
    encode: Encoder
    decode: Decoder
    score: Scorer
    render: Renderer
    parse: Parser
    gold: Gold
    description: str = ""
    check: Checker | None = None
    leaderboard_metric: str | None = None
    submission_format: SubmissionFormat = "lines"
    submission_check: SubmissionChecker | None = None
    subset: Subsetter | None = None
    count: RecordCounter | None = None
    record_lines: Callable[[str], bool] = _every_file
    published: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    published_extra: Mapping[str, Mapping[str, Mapping[str, float]]] = field(default_factory=dict)
    checksums: TaskChecksums | None = None
    paddle_mirror: bool = False
    former_names: Mapping[str, str] = field(default_factory=dict)
    source: str = ""
    fingerprint: str = ""
    minimize: bool = False
    sigmoid: bool = False

    def __post_init__(self) -> None:
        if self.head not in HEAD_KINDS:
            raise ValueError(f"{self.name}: unknown head kind {self.head!r}")
        if self.main_metric not in self.metrics:
            raise ValueError(f"{self.name}: main metric {self.main_metric!r} is not among {self.metrics}")
        if self.leaderboard_metric is not None and self.leaderboard_metric not in self.metrics:
            raise ValueError(
                f"{self.name}: leaderboard metric {self.leaderboard_metric!r} is not among {self.metrics}"
            )
        if self.sigmoid and self.head != "regress":
            raise ValueError(f"{self.name}: sigmoid is for the regress head only")
        if self.submission_format not in SUBMISSION_FORMATS:
            raise ValueError(f"{self.name}: unknown submission format {self.submission_format!r}")
        missing = [s for s in self.submissions if s not in self.splits]
        if missing:
            raise ValueError(f"{self.name}: submission splits {missing} are not in splits")

    def better(self, score: float, than: float | None) -> bool:
        """Whether a main-metric `score` beats `than` (None: nothing yet), in the metric's own direction."""
        if than is None:
            return True
        return score < than if self.minimize else score > than

    @property
    def board_metric(self) -> str:
        """The metric a leaderboard comparison uses."""
        return self.leaderboard_metric or self.main_metric

    @property
    def test_splits(self) -> tuple[str, ...]:
        return tuple(self.submissions)

    def split_paths(self, data_dir: Path, split: str) -> list[Path]:
        return [Path(data_dir) / name for name in self.splits[split]]

    def has_split(self, data_dir: Path, split: str) -> bool:
        return all(p.is_file() for p in self.split_paths(data_dir, split))
