"""Orchestration of `clue run`, `clue predict` and `clue evaluate`: data -> features -> loop -> files.

Everything the user could get wrong (task, config, data files, model) is checked before the run directory is
created, so bad input leaves nothing behind. Once a run directory exists, its results.json always says how the
run ended (completed or failed, with the error).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import platform
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clue_runner import __version__, runlock
from clue_runner import config as config_mod
from clue_runner.data import (
    cache_key,
    cached_features,
    default_cache_dir,
    file_info,
    require_split,
    task_data_dir,
)
from clue_runner.errors import ClueError
from clue_runner.progress import DEFAULT_LOG_EVERY_S, Reporter
from clue_runner.recipes import DEFAULT_RECIPE
from clue_runner.registry import MODELS, resolve_task
from clue_runner.results import RESULTS_SCHEMA, atomic_write_text, write_json

if TYPE_CHECKING:
    from accelerate import Accelerator

    from clue_runner.config import RunConfig
    from clue_runner.loop import Interrupted, TrainResult
    from clue_runner.runlock import RunLock
    from clue_runner.tasks.base import Example, Features, Task

log = logging.getLogger("clue_runner")


@dataclass
class RunOutcome:
    run_dir: Path
    status: str  # completed | failed | interrupted
    results: dict[str, Any]
    main_process: bool = True  # under `accelerate launch`, only the main process reports
    exit_code: int = 0  # for an interrupted run: 143 after SIGTERM, 130 after Ctrl-C
    step: int | None = None  # for an interrupted run: the optimizer step it stopped after
    already_completed: bool = False  # `resume` of a run that had completed: nothing was done


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def model_label(model: str) -> str:
    """A folder-safe name for the model: the short name, or the hub id / folder's last part."""
    if model in MODELS:
        return model
    return Path(model.rstrip("/")).name or "model"


def default_run_dir(task: str, model: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Path("runs") / task / model_label(model) / f"{stamp}-{secrets.token_hex(3)}"


# What a run writes into its folder; --overwrite removes these and nothing else. The lock file stays: it is
# never removed, so that two processes can never lock two different files of the same name.
RUN_ARTEFACTS = (
    "results.json",
    "config.yaml",
    "metrics.jsonl",
    "best",
    "submission",
    "predictions",
    "checkpoints",
    ".best.tmp",
    ".best.old",
    "tensorboard",  # `--report-to tensorboard`: a new run's events must not be mixed with the old one's
)


def _leftovers(path: Path) -> list[Path]:
    """Temp files of atomic writes a killed run left behind (".<name>.<random>.tmp")."""
    return [p for p in path.glob(".*.tmp") if p.is_file()]


def is_run_folder(path: Path) -> bool:
    """Did a run create this folder? It has a results.json or a run's lock file, or holds nothing but what a run
    writes (a run killed in its first moments leaves config.yaml and a temp file)."""
    if (path / "results.json").is_file() or (path / runlock.LOCK_FILE).is_file():
        return True
    own = {*RUN_ARTEFACTS, runlock.LOCK_FILE, runlock.FALLBACK_FILE, *(p.name for p in _leftovers(path))}
    return all(child.name in own for child in path.iterdir())


def prepare_output_dir(
    output_dir: Path | None, task: str, model: str, overwrite: bool, data_dir: Path | None = None
) -> Path:
    """Check the output folder before any work.

    An explicit folder must be empty, or, with --overwrite, an earlier run's folder (see `is_run_folder`);
    --overwrite never touches a folder that holds the data or the working directory, nor one that a live run
    holds (RunBusy, at once, naming the holder).
    """
    if output_dir is None:
        return default_run_dir(task, model)
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise ClueError(f"--output-dir {path} exists and is not a folder")
    if not path.is_dir():
        return path
    _refuse_live(path)
    if not any(path.iterdir()):
        return path
    if not overwrite:
        raise ClueError(
            f"--output-dir {path} exists and is not empty; pass --overwrite to replace an earlier run"
        )
    if not is_run_folder(path):
        raise ClueError(
            f"--output-dir {path} is not empty and is not a clue run folder (no results.json); "
            "--overwrite only replaces an earlier run: choose an empty or new folder"
        )
    resolved = path.resolve()
    for inside, what in ((Path.cwd(), "the current directory"), (data_dir, "the data folder")):
        if inside is not None and Path(inside).resolve().is_relative_to(resolved):
            raise ClueError(f"--output-dir {path} holds {what}; choose another folder")
    return path


def _refuse_live(path: Path) -> None:
    """A folder that a live run holds is never written into, --overwrite or not."""
    holder = runlock.holder(path) if path.is_dir() else None
    if holder is not None:
        raise runlock.RunBusy(
            f"--output-dir {path} is in use by a live run ({holder.describe()}); wait for it to end or choose "
            "another folder"
        )


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def environment(accelerator: Accelerator | None = None) -> dict[str, Any]:
    import accelerate
    import torch
    import transformers

    env: dict[str, Any] = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "accelerate": accelerate.__version__,
        "clue_runner": __version__,
        "git_commit": _git_commit(),
    }
    if accelerator is not None:
        device = accelerator.device
        env["device"] = torch.cuda.get_device_name(device) if device.type == "cuda" else device.type
        env["num_processes"] = accelerator.num_processes
        env["precision"] = accelerator.mixed_precision
    return env


def resolve_precision(requested: str) -> str:
    """`auto` = bf16 on GPUs that support it, else full precision (fp16 needs loss scaling and is opt-in)."""
    import torch

    if requested != "auto":
        if requested in ("fp16", "bf16") and not torch.cuda.is_available():
            log.warning("train.precision=%s needs a GPU; running in full precision on CPU", requested)
            return "no"
        return requested
    return "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "no"


def make_accelerator(cfg: RunConfig) -> Accelerator:
    """A fresh Accelerator for this run (several runs can share one process: `clue bench`, the tests)."""
    import torch
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import set_seed

    AcceleratorState._reset_state(reset_partial_state=False)
    if torch.cuda.is_available():
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    accelerator = Accelerator(
        mixed_precision=resolve_precision(cfg.train.precision),
        gradient_accumulation_steps=cfg.train.grad_accum,
        # Accelerate only forms a CPU process group (gloo) under torchrun/accelerate launch when told cpu=True.
        cpu=not torch.cuda.is_available(),
    )
    set_seed(cfg.seed, deterministic=False)
    return accelerator


def read_splits(task: Task, data_dir: Path, splits: Sequence[str]) -> dict[str, list[Example]]:
    out = {}
    for split in splits:
        require_split(task, data_dir, split)
        out[split] = task.read(data_dir, split)
    return out


def present_test_splits(task: Task, data_dir: Path) -> list[str]:
    return [s for s in task.test_splits if task.has_split(data_dir, s)]


def featurize(
    task: Task,
    split: str,
    examples: Sequence[Example],
    data_dir: Path,
    tokenizer: Any,
    cfg: RunConfig,
    accelerator: Accelerator | None,
) -> Features:
    """Tokenise once, cached on disk by (files, tokenizer, max_len/task knobs, task version)."""
    paths = task.split_paths(data_dir, split)
    key = cache_key(task, split, paths, tokenizer, cfg)

    def build() -> Features:
        return task.encode(examples, tokenizer, cfg)

    with gc_paused():
        if accelerator is None:
            return cached_features(key, build, default_cache_dir())[0]
        with accelerator.main_process_first():
            return cached_features(key, build, default_cache_dir())[0]


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector: encoding (or unpickling) a split makes millions of small lists and
    dicts, and the collector would rescan all of them again and again, so the time grew faster than the data
    (full TNEWS: 6.2-6.7 s with it, 3.5-4.2 s without). Features hold no reference cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def refuse_to_replace(task: Task, tests: Sequence[str], out_dir: Path, overwrite: bool) -> None:
    """Refuse, before any work, to overwrite leaderboard files already in `out_dir` unless `overwrite`."""
    there = [str(out_dir / task.submissions[s]) for s in tests if (out_dir / task.submissions[s]).exists()]
    if there and not overwrite:
        raise ClueError(
            f"{', '.join(there)} already exist(s); pass --overwrite to replace the leaderboard files"
        )


def write_submissions(
    task: Task, predictions: dict[str, list[Any]], examples: dict[str, list[Example]], out_dir: Path
) -> dict[str, int]:
    """Render every test split's leaderboard file, then write them atomically; returns {file name: records}.

    Rendering all first means a failure leaves no partial set of files behind.
    """
    texts = {task.submissions[s]: task.render(preds, examples[s]) for s, preds in predictions.items()}
    for name, text in texts.items():
        atomic_write_text(out_dir / name, text)
    return {task.submissions[s]: len(examples[s]) for s in predictions}


def preflight(task: Task, dev: Sequence[Example], tokenizer: Any, cfg: RunConfig) -> None:
    """Encode and decode a few gold dev examples before any work is saved: every task knob (segment ids,
    joiner, window stride, assignment mode ...) is checked by the code that uses it, not an hour later."""
    from clue_runner.roundtrip import roundtrip

    roundtrip(task, dev[:4], tokenizer, cfg)


def _limit(examples: list[Example], n: int | None) -> list[Example]:
    return examples if n is None else examples[:n]


def _claim_run_dir(accelerator: Accelerator, run_dir: Path, clear: bool) -> tuple[Path, RunLock | None]:
    """Lock the run folder for this run's life (main process), clearing an earlier run's files when `clear`.

    Under `accelerate launch` each process chose a folder (a default name has a random part), so the main
    process's choice is broadcast, and so is a refusal: every process stops when the folder is busy. The
    barriers keep a slow process from checking the folder after the main one has started writing into it.
    """
    import shutil

    many = accelerator.num_processes > 1
    if many:
        from accelerate.utils import broadcast_object_list

        run_dir = Path(broadcast_object_list([str(run_dir)])[0])
    accelerator.wait_for_everyone()
    lock: RunLock | None = None
    refusal: str | None = None
    if accelerator.is_main_process:
        try:
            lock = runlock.acquire(run_dir)
        except runlock.RunBusy as exc:
            refusal = str(exc)
        if lock is not None and clear:
            for artefact in [*(run_dir / name for name in RUN_ARTEFACTS), *_leftovers(run_dir)]:
                if artefact.is_dir():
                    shutil.rmtree(artefact)
                else:
                    artefact.unlink(missing_ok=True)
    if many:
        from accelerate.utils import broadcast_object_list

        refusal = broadcast_object_list([refusal])[0]
    if refusal:
        raise runlock.RunBusy(refusal)
    accelerator.wait_for_everyone()
    return run_dir, lock


def _has_data(task: Task) -> bool:
    from clue_runner.data import data_root

    folder = data_root() / task.name
    return folder.is_dir() and task.has_split(folder, "train")


def _resolved(model: str) -> str:
    from clue_runner.registry import resolve_model

    return resolve_model(model)


@dataclass
class RunContext:
    """One run: what it reads and where it writes. `run` and `resume` build it differently, then share the
    stages below (train_stage, predict_stage, finish_stage); `predict` shares predict_stage."""

    spec: Task
    cfg: RunConfig
    tree: dict[str, Any]
    data_dir: Path
    tests: list[str]
    examples: dict[str, list[Example]]
    tokenizer: Any
    accelerator: Accelerator
    run_dir: Path
    results: dict[str, Any]
    progress: bool
    t_start: float
    lock: RunLock | None = None
    log_samples: bool = False  # also write the per-example outputs on dev and test (samples.py)
    log_every_s: float = DEFAULT_LOG_EVERY_S  # progress lines' pace when stderr is not a terminal
    layers: str = ""  # the config layers, lowest first, for the opening panel

    @property
    def main(self) -> bool:
        return bool(self.accelerator.is_main_process)

    def write_results(self) -> None:
        if self.main:
            write_json(self.run_dir / "results.json", self.results)

    def outcome(self) -> RunOutcome:
        return RunOutcome(self.run_dir, str(self.results["status"]), self.results, self.main)


@dataclass
class Inputs:
    """What a run reads, checked before its folder is touched."""

    cfg: RunConfig
    data_dir: Path
    tests: list[str]
    examples: dict[str, list[Example]]


def load_inputs(spec: Task, tree: dict[str, Any], data_dir: Path) -> Inputs:
    """The config and every split the run reads (train and dev limited as configured)."""
    cfg = config_mod.build(tree)
    _resolved(cfg.model)  # an unknown short name is reported before any data is read
    tests = present_test_splits(spec, data_dir)
    examples = read_splits(spec, data_dir, ["train", "dev", *tests])
    examples["train"] = _limit(examples["train"], cfg.data.max_train)
    examples["dev"] = _limit(examples["dev"], cfg.data.max_eval)
    if not tests:
        log.warning(
            "%s: no test file in %s (%s): no leaderboard file will be written",
            spec.name,
            data_dir,
            ", ".join(f for s in spec.test_splits for f in spec.splits[s]),
        )
    return Inputs(cfg, data_dir, tests, examples)


def run_task(
    task: str,
    model: str | None = None,
    data_dir: str | Path | None = None,
    output_dir: str | Path | None = None,
    config_files: Sequence[str | Path] = (),
    sets: Sequence[str] = (),
    seed: int | None = None,
    recipe: str | None = DEFAULT_RECIPE,
    overwrite: bool = False,
    offline: bool = False,
    download: bool = False,
    progress: bool = True,
    argv: Sequence[str] | None = None,
    log_samples: bool = False,
    log_every_s: float = DEFAULT_LOG_EVERY_S,
    report_to: str | None = None,
) -> RunOutcome:
    """Fine-tune `task`, score dev, predict every test split present and write the run directory.

    With `log_samples`, the best model's per-example outputs on dev and the test splits go to
    `<run>/predictions/<split>.jsonl` (see samples.py). `progress`: show progress (see progress.py; `log_every_s`
    paces it when stderr is not a terminal). `report_to`: experiment trackers, overriding `output.report_to`.
    """
    if output_dir is not None:
        _refuse_live(Path(output_dir))  # at once: before the seconds that loading torch takes
    t_start = time.perf_counter()
    spec, data_dir = resolve_task(task, data_dir)  # a bad task file is refused before torch is imported
    from clue_runner.modelcheck import check_model_folder, coverage_problem
    from clue_runner.modeling import fail_fast_network, load_tokenizer, set_offline
    from clue_runner.trackers import parse_report_to

    if offline:
        set_offline()
    fail_fast_network()
    overrides = {"model": model, "seed": seed, "output.report_to": report_to}
    tree, sources, layer = config_mod.merged_with_sources(
        spec.name, list(config_files), list(sets), overrides, recipe
    )
    if layer is not None and layer.note:
        log.warning("%s", layer.note)
    # An unknown short name or a broken model folder is reported before any data is read.
    early = config_mod.build(tree)
    check_model_folder(_resolved(early.model))
    parse_report_to(early.output.report_to)  # a tracker that is not installed, likewise
    if download and not (data_dir or _has_data(spec)):
        from clue_runner.download import download_task

        download_task(spec.name)
    inputs = load_inputs(spec, tree, task_data_dir(spec, data_dir))
    cfg = inputs.cfg
    run_dir = prepare_output_dir(
        Path(output_dir) if output_dir else None, spec.name, cfg.model, overwrite, inputs.data_dir
    )
    tokenizer = load_tokenizer(cfg.model)
    uncovered = coverage_problem(spec, inputs.examples["train"], tokenizer, cfg, cfg.model)
    if uncovered:
        raise ClueError(uncovered)
    preflight(spec, inputs.examples["dev"], tokenizer, cfg)
    accelerator = make_accelerator(cfg)
    run_dir, lock = _claim_run_dir(accelerator, run_dir, clear=overwrite)
    layers = _layers(spec.name, layer.recipe if layer is not None else None, config_files, sets, overrides)
    results: dict[str, Any] = {
        "schema": RESULTS_SCHEMA,
        "task": spec.name,
        "task_version": spec.version,
        "model": {"name": cfg.model, "resolved": _resolved(cfg.model)},
        "status": "running",
        "error": None,
        **_process(),
        "seed": cfg.seed,
        "config": tree,
        "recipe": layer.as_json() if layer is not None else None,
        "config_sources": sources,
        "log_samples": log_samples,
        "argv": list(argv if argv is not None else sys.argv),
        "data": {
            "dir": str(inputs.data_dir),
            "files": file_info([p for s in inputs.examples for p in spec.split_paths(inputs.data_dir, s)]),
        },
        "main_metric": spec.main_metric,
        "started_at": _utc_now(),
        **({"task_file": spec.source} if spec.source else {}),
    }
    ctx = RunContext(spec, cfg, tree, inputs.data_dir, inputs.tests, inputs.examples, tokenizer, accelerator,
                     run_dir, results, progress, t_start, lock, log_samples, log_every_s,
                     layers)  # fmt: skip
    # results.json first: from here on the folder says whose it is and how the run ended.
    ctx.write_results()
    if ctx.main:
        atomic_write_text(run_dir / "config.yaml", config_mod.to_yaml(tree))
        (run_dir / "metrics.jsonl").unlink(missing_ok=True)
    return _execute(ctx, resume_from=None)


def _layers(
    task: str,
    recipe: str | None,
    config_files: Sequence[str | Path],
    sets: Sequence[str],
    flags: dict[str, Any],
) -> str:
    """The config layers of a run, lowest first: `base.yaml < tasks/tnews.yaml < recipe paddlenlp < my.yaml <
    --set train.lr=3e-5 < --seed 1`."""
    layers = ["base.yaml", f"tasks/{task}.yaml", *([f"recipe {recipe}"] if recipe else [])]
    layers += [*map(str, config_files), *(f"--set {s}" for s in sets)]
    layers += [
        f"--{key.split('.')[-1].replace('_', '-')} {value}"
        for key, value in flags.items()
        if value is not None
    ]
    return " < ".join(layers)


def _opening(
    spec: Task, examples: dict[str, list[Example]], features: dict[str, Features], results: dict[str, Any]
) -> dict[str, str]:
    """What the opening panel shows besides the run folder and config layers (the loop adds steps and epochs)."""
    unit = "windows" if spec.head == "span" else "features"
    plan = {
        "model": f"{results['model']['name']} ({results['model']['resolved']})",
        "data": results["data"]["dir"],
    }
    for split, items in examples.items():
        shown = f"{len(items):,} examples"
        if len(features[split]) != len(items):
            shown += f" -> {len(features[split]):,} {unit}"
        plan[split] = shown
    env, batch = results["environment"], results["batch"]
    plan["device"] = f"{env['device']}, precision {env['precision']}, world size {env['num_processes']}"
    plan["batch"] = (
        f"{batch['per_device']} per device x {batch['grad_accum']} accumulation x {batch['world_size']} "
        f"process(es) = {batch['global']} per optimizer step"
    )
    return plan


def _process() -> dict[str, Any]:
    return {"host": runlock.hostname(), "pid": os.getpid()}


def resume_run(
    run_dir: str | Path, data_dir: str | Path | None = None, offline: bool = False, progress: bool = True
) -> RunOutcome:
    """Continue an interrupted run from its last checkpoint, with its own config.yaml and data files.

    A completed run is returned as it is. A run whose data files changed since it started is refused (the
    resumed half would train on other data), as is a folder that a live run holds.
    """
    from clue_runner import checkpoint
    from clue_runner.modeling import fail_fast_network, load_tokenizer, set_offline
    from clue_runner.results import read_results

    if offline:
        set_offline()
    t_start = time.perf_counter()
    run = Path(run_dir)
    if not run.is_dir():
        raise ClueError(f"run folder not found: {run}")
    results = read_results(run)
    if results is None or "task" not in results or not (run / "config.yaml").is_file():
        raise ClueError(
            f"{run} is not a run that can be resumed (no results.json and config.yaml): start it again with "
            "`clue run ... --overwrite`"
        )
    status = runlock.live_status(run, results)
    if status == "completed":
        return RunOutcome(run, "completed", results, already_completed=True)
    if status == "running":
        raise runlock.RunBusy(
            f"{run} is in use by a live run (host {results.get('host')}, pid {results.get('pid')}); "
            "it cannot be resumed while it runs"
        )
    fail_fast_network()
    folder = Path(data_dir) if data_dir else Path(str((results.get("data") or {}).get("dir", "")))
    spec, _ = resolve_task(str(results.get("task_file") or results["task"]), folder)  # a YAML task: its file
    tree = _with_legacy_defaults(config_mod.load_yaml(run / "config.yaml"))
    if not folder.is_dir():
        raise ClueError(f"{run}: its data folder {folder} is gone; pass --data-dir with the same files")
    _check_same_data(run, results, spec, folder)
    inputs = load_inputs(spec, tree, folder)
    cfg = inputs.cfg
    tokenizer = load_tokenizer(cfg.model)
    accelerator = make_accelerator(cfg)
    if checkpoint.latest(run) is not None:
        _check_same_setup(run, results, accelerator)
    run, lock = _claim_run_dir(accelerator, run, clear=False)
    latest = checkpoint.latest(run)
    step = int(latest.name.split("-")[-1]) if latest else 0
    results.update(status="running", error=None, **_process())
    results.pop("interrupted", None)
    results.setdefault("resumed", []).append({"at": _utc_now(), "from_step": step, **_process()})
    ctx = RunContext(spec, cfg, tree, folder, inputs.tests, inputs.examples, tokenizer, accelerator, run,
                     results, progress, t_start, lock, bool(results.get("log_samples")))  # fmt: skip
    ctx.write_results()
    if ctx.main:
        _truncate_metrics(
            run / "metrics.jsonl", step, evaluated=latest is not None and _evaluated_at(latest, step)
        )
    if latest is None:
        log.warning("%s: no checkpoint yet: training again from step 0", run)
    return _execute(ctx, resume_from=latest)


def _check_same_data(run: Path, results: dict[str, Any], spec: Task, folder: Path) -> None:
    """Every data file the run read must still have the sha256 recorded in its results.json."""
    from clue_runner.data import sha256_file

    recorded = (results.get("data") or {}).get("files") or {}
    for name, info in recorded.items():
        path = folder / name
        if not path.is_file():
            raise ClueError(f"cannot resume {run}: data file {path} is gone")
        if sha256_file(path) != info.get("sha256"):
            raise ClueError(
                f"cannot resume {run}: data file {path} changed since the run started (sha256 differs); "
                "start a new run instead"
            )


def _check_same_setup(run: Path, results: dict[str, Any], accelerator: Accelerator) -> None:
    """A checkpoint continues only the setup that wrote it: its place in the epoch counts one process count's
    batches and its RNG states are per process (another count silently trains on other batches), and the
    optimizer's moments and the loss curve belong to one precision."""
    trained = (results.get("batch") or {}).get("world_size")
    if trained is not None and trained != accelerator.num_processes:
        raise ClueError(
            f"cannot resume {run}: it trained on {trained} process(es) and this launch has "
            f"{accelerator.num_processes}; resume it the way it was launched (e.g. `accelerate launch "
            f"--num_processes {trained} -m clue_runner resume {run}`), or start a new run"
        )
    precision = (results.get("environment") or {}).get("precision")
    if precision is not None and precision != accelerator.mixed_precision:
        raise ClueError(
            f"cannot resume {run}: it trained in precision {precision!r} and would continue in "
            f"{accelerator.mixed_precision!r} here (another device?); resume it where it ran, or start a new run"
        )


def _evaluated_at(latest: Path, step: int) -> bool:
    """Does the checkpoint record the dev evaluation of its own step? (One saved just before that evaluation
    does not: the resumed run evaluates again.)"""
    import json

    from clue_runner import checkpoint

    state = json.loads((latest / checkpoint.STATE_FILE).read_text(encoding="utf-8"))
    return bool(state.get("last_eval_step") == step)


def _truncate_metrics(path: Path, step: int, evaluated: bool) -> None:
    """Drop the metrics.jsonl lines logged after the checkpoint, and its own step's dev line when the checkpoint
    was saved before that evaluation (`evaluated` false): the resumed run logs them again."""
    import json

    if not path.is_file():
        return
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line torn by the kill
        if not isinstance(record, dict):
            continue
        at = int(record.get("step", 0))
        if at < step or (at == step and (evaluated or "dev" not in record)):
            kept.append(line + "\n")
    atomic_write_text(path, "".join(kept))


def _execute(ctx: RunContext, resume_from: Path | None) -> RunOutcome:
    """Train, predict and finish, recording in results.json how it ended; the folder's lock is released last."""
    from clue_runner import loop

    try:
        return _stages(ctx, resume_from)
    except loop.Interrupted as exc:
        return _interrupted(ctx, exc)
    except KeyboardInterrupt:  # a second Ctrl-C, or one outside training: no checkpoint written now
        ctx.results.update(status="interrupted", error=None, interrupted={"step": None, "at": _utc_now()})
        ctx.write_results()
        raise
    except BaseException as exc:
        ctx.results.update(status="failed", error=f"{type(exc).__name__}: {exc}", finished_at=_utc_now())
        ctx.write_results()
        raise
    finally:
        if ctx.lock is not None:
            ctx.lock.release()


def _interrupted(ctx: RunContext, exc: Interrupted) -> RunOutcome:
    where = str(exc.checkpoint.relative_to(ctx.run_dir)) if exc.checkpoint else None
    ctx.results.update(
        status="interrupted",
        error=None,
        interrupted={"step": exc.step, "at": _utc_now(), "signal": exc.signal, "checkpoint": where},
    )
    ctx.write_results()
    outcome = ctx.outcome()
    outcome.exit_code = exc.exit_code
    outcome.step = exc.step
    return outcome


def _stages(ctx: RunContext, resume_from: Path | None) -> RunOutcome:
    from clue_runner import loop
    from clue_runner.trackers import Trackers, parse_report_to

    ctx.results["environment"] = environment(ctx.accelerator)
    ctx.results["batch"] = {
        "per_device": ctx.cfg.train.batch_size,
        "grad_accum": ctx.cfg.train.grad_accum,
        "world_size": ctx.accelerator.num_processes,
        "global": ctx.cfg.train.batch_size * ctx.cfg.train.grad_accum * ctx.accelerator.num_processes,
    }
    reporter = Reporter(enabled=ctx.progress and ctx.main, log_every_s=ctx.log_every_s, label=ctx.spec.name)
    reporter.plan({"run folder": str(ctx.run_dir), "config": ctx.layers})
    run_name = f"{ctx.spec.name}-{ctx.run_dir.name}"
    trackers = Trackers(parse_report_to(ctx.cfg.output.report_to), ctx.run_dir, run_name, ctx.main)
    with reporter, trackers:
        reporter.heading(ctx.run_dir)
        t0 = time.perf_counter()
        features = {}
        for s in ctx.examples:
            reporter.phase(f"tokenise {s}", f"{len(ctx.examples[s]):,} examples")
            features[s] = featurize(
                ctx.spec, s, ctx.examples[s], ctx.data_dir, ctx.tokenizer, ctx.cfg, ctx.accelerator
            )
        tokenize_s = time.perf_counter() - t0
        try:
            model, result = train_stage(ctx, features, reporter, trackers, resume_from)
        except loop.NonFiniteLoss as exc:
            ctx.results.update(status="failed", error=str(exc), finished_at=_utc_now())
            ctx.write_results()
            log.error(
                "%s: %s; the run is marked failed and no score or leaderboard file is written",
                ctx.spec.name,
                exc,
            )
            return ctx.outcome()
        t1 = time.perf_counter()
        predictions, samples = predict_stage(ctx, model, features, reporter)
        predict_s = time.perf_counter() - t1
        reporter.phase("write", "best model and leaderboard files")
        timings = {"tokenize_s": tokenize_s, "predict_s": predict_s}
        finish_stage(ctx, model, result, predictions, samples, features, timings)
        trackers.summary(ctx.results, result.best_step)
        reporter.finish(f"completed in {ctx.results['timings']['total_s']:.0f} s: {ctx.run_dir}")
    return ctx.outcome()


def train_stage(
    ctx: RunContext,
    features: dict[str, Features],
    reporter: Any,
    trackers: Any,
    resume_from: Path | None,
) -> tuple[Any, TrainResult]:
    """Build the model and train it (from `resume_from` when given); returns the model holding its best state.

    SIGTERM / Ctrl-C during training stop it at the next optimizer step with a checkpoint (loop.Interrupted).
    """
    from clue_runner import loop
    from clue_runner.checkpoint import Checkpointer
    from clue_runner.modeling import build_model
    from clue_runner.stopping import StopSignals

    metrics_file = ctx.run_dir / "metrics.jsonl"

    def log_line(record: dict[str, Any]) -> None:
        if ctx.main:
            import json

            with metrics_file.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        trackers.record(record)

    cfg = ctx.cfg
    pad_id = _pad_id(ctx.tokenizer)
    checkpoints = Checkpointer(ctx.run_dir, cfg.train.save_every, cfg.train.keep_checkpoints, resume_from)
    reporter.phase("load model", cfg.model)
    model = build_model(ctx.spec, cfg.model, cfg)
    reporter.plan(_opening(ctx.spec, ctx.examples, features, ctx.results))
    trackers.start(ctx.tree)
    with StopSignals() as stop:
        try:
            result, best_state = loop.train(model, ctx.spec, features["train"], features["dev"],
                                            ctx.examples["dev"], cfg, ctx.accelerator, pad_id, reporter, log_line,
                                            checkpoints, stop.requested)  # fmt: skip
        except loop.Interrupted as exc:
            exc.signal, exc.exit_code = stop.name, stop.exit_code
            raise
    if best_state is not None:
        ctx.accelerator.unwrap_model(model).load_state_dict(best_state)
    return model, result


# Keys added to the configuration after a run may have been written, with the value that reproduces what such a
# run did: a resumed run must continue the way it started.
LEGACY_DEFAULTS = {"train": {"cpu_speedups": False}}


def _with_legacy_defaults(tree: dict[str, Any]) -> dict[str, Any]:
    for section, defaults in LEGACY_DEFAULTS.items():
        for key, value in defaults.items():
            tree.setdefault(section, {}).setdefault(key, value)
    return tree


def _pad_id(tokenizer: Any) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0


def predict_stage(
    ctx: RunContext, model: Any, features: dict[str, Features], reporter: Any
) -> tuple[dict[str, list[Any]], dict[str, list[dict[str, Any]]]]:
    """One prediction per test example for every test split present, and with `log_samples` the per-example
    output lines of dev and the test splits."""
    from clue_runner import loop
    from clue_runner.samples import head_scores, sample_lines

    pad_id = _pad_id(ctx.tokenizer)
    spec, cfg = ctx.spec, ctx.cfg
    predictions: dict[str, list[Any]] = {}
    samples: dict[str, list[dict[str, Any]]] = {}
    for s in [*ctx.tests, *(["dev"] if ctx.log_samples else [])]:
        outputs = loop.infer(model, spec, features[s], cfg, ctx.accelerator, pad_id, reporter, s)
        decoded = spec.decode(outputs, features[s], ctx.examples[s], cfg)
        if s in ctx.tests:
            predictions[s] = decoded
        if ctx.log_samples:
            scores = head_scores(spec, outputs, features[s], len(ctx.examples[s]))
            samples[s] = sample_lines(spec, ctx.examples[s], decoded, scores, labelled=s not in ctx.tests)
    return predictions, samples


def finish_stage(
    ctx: RunContext,
    model: Any,
    result: TrainResult,
    predictions: dict[str, list[Any]],
    samples: dict[str, list[dict[str, Any]]],
    features: dict[str, Features],
    timings: dict[str, float],
) -> None:
    """Save the model as `output.save_model` says, write the leaderboard files (and the sample lines) and the
    completed results.json; the checkpoints have served their purpose and go."""
    from clue_runner import checkpoint
    from clue_runner.modeling import save_model
    from clue_runner.samples import write_samples

    accelerator = ctx.accelerator
    written: dict[str, int] = {}
    if ctx.main:
        if ctx.cfg.output.save_model != "none":
            save_model(accelerator.unwrap_model(model), ctx.tokenizer, ctx.spec, ctx.run_dir / "best")
        written = write_submissions(ctx.spec, predictions, ctx.examples, ctx.run_dir / "submission")
        ctx.results["predictions"] = {
            s: str(write_samples(ctx.run_dir, s, lines)) for s, lines in samples.items()
        }
    accelerator.wait_for_everyone()
    world = accelerator.num_processes
    ctx.results.update(
        status="completed",
        metrics={"dev": result.best_metrics, "dev_final": result.final_metrics, "history": result.history},
        best_step=result.best_step,
        steps=result.steps,
        epochs=result.epochs,
        stopped_early=result.stopped_early,
        saved_model=ctx.cfg.output.save_model,
        submission_files=written,
        timings={
            "tokenize_s": round(timings["tokenize_s"], 3),
            "train_s": round(result.train_s, 3),
            "eval_s": round(result.eval_s, 3),
            "predict_s": round(timings["predict_s"], 3),
            "total_s": round(time.perf_counter() - ctx.t_start + result.carried_s, 3),
        },
        throughput={
            "train_tokens_per_s": round(result.tokens * world / max(result.train_s, 1e-9), 1),
            "train_sequences_per_s": round(result.sequences * world / max(result.train_s, 1e-9), 2),
            "eval_sequences_per_s": round(
                len(features["dev"]) * len(result.history) / max(result.eval_s, 1e-9), 2
            ),
        },
        finished_at=_utc_now(),
    )
    ctx.write_results()
    if ctx.main:
        checkpoint.remove_all(ctx.run_dir)


def predict_run(
    task: str,
    run_dir: str | Path,
    data_dir: str | Path | None = None,
    output_dir: str | Path | None = None,
    progress: bool = True,
    log_samples: bool = False,
    overwrite: bool = False,
) -> dict[str, int]:
    """Write the leaderboard files of a saved run (`RUN_DIR/best`, with the run's config) for every test split
    present, into `output_dir` (default RUN_DIR/submission; files there are replaced only with `overwrite`);
    `log_samples` adds RUN_DIR/predictions/.

    A folder that a live run holds (a run in progress, or one being overwritten) is refused: its best/ model
    is missing or about to change."""
    from clue_runner.finetuned import predict_checkpoint
    from clue_runner.results import read_results

    spec, data_dir = resolve_task(task, data_dir)
    run = Path(run_dir)
    saved = read_results(run)
    busy = runlock.holder(run) if run.is_dir() else None
    if busy is not None:
        raise ClueError(
            f"{run} is being written by a live run ({busy.describe()}): its model is not there yet; "
            "wait for the run to finish"
        )
    best = run / "best"
    if not best.is_dir():
        status = runlock.live_status(run, saved) if saved else None
        if status and status != "completed":
            raise ClueError(
                f"{run}: the run is {status}, so it has no best/ model (`clue resume {run}` finishes it)"
            )
        if saved and (saved.get("config") or {}).get("output", {}).get("save_model") == "none":
            raise ClueError(f"{run}: the run was made with output.save_model=none, so it kept no model")
        raise ClueError(f"{run}: no best/ folder (is this a completed `clue run` directory?)")
    if saved and saved.get("task") not in (None, spec.name):
        raise ClueError(f"{run} is a run of {saved.get('task')!r}, not {spec.name!r}")
    out = Path(output_dir) if output_dir else run / "submission"
    return predict_checkpoint(
        task,
        str(best),
        out,
        data_dir,
        samples_dir=run if log_samples else None,
        progress=progress,
        overwrite=overwrite,
    )


def evaluate_file(
    task: str,
    prediction_file: str | Path,
    data_dir: str | Path | None = None,
    split: str = "dev",
    strict: bool = False,
) -> dict[str, float]:
    """Score a leaderboard-format prediction file against a labelled split as the official scorer does: records
    without a prediction count as wrong, with a warning (`strict`: an error)."""
    from clue_runner.errors import official_scoring
    from clue_runner.finetuned import labelled_split

    spec, data_dir = resolve_task(task, data_dir)
    labelled_split(spec, split)
    path = Path(prediction_file)
    if not path.is_file():
        raise ClueError(f"prediction file not found: {path}")
    folder = task_data_dir(spec, data_dir)
    examples = read_splits(spec, folder, [split])[split]
    with official_scoring(strict):
        predictions = spec.parse(path, examples)
    return spec.score(predictions, examples)
