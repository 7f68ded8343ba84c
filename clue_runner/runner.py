"""Orchestration of `clue run`, `clue predict` and `clue evaluate`: data -> features -> loop -> files.

Everything the user could get wrong (task, config, data files, model) is checked before the run directory is
created, so bad input leaves nothing behind. Once a run directory exists, its results.json always says how the
run ended (completed or failed, with the error).
"""

from __future__ import annotations

import contextlib
import gc
import logging
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

from clue_runner import __version__
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
    from clue_runner.tasks.base import Example, Features, Task

log = logging.getLogger("clue_runner")


@dataclass
class RunOutcome:
    run_dir: Path
    status: str
    results: dict[str, Any]
    main_process: bool = True  # under `accelerate launch`, only the main process reports


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


# What a run writes into its folder; --overwrite removes these and nothing else.
RUN_ARTEFACTS = (
    "results.json",
    "config.yaml",
    "metrics.jsonl",
    "best",
    "submission",
    "predictions",
    ".best.tmp",
    ".best.old",
)


def prepare_output_dir(
    output_dir: Path | None, task: str, model: str, overwrite: bool, data_dir: Path | None = None
) -> Path:
    """Check the output folder before any work.

    An explicit folder must be empty, or, with --overwrite, an earlier run's folder (it has a results.json);
    --overwrite never touches a folder that holds the data or the working directory.
    """
    if output_dir is None:
        return default_run_dir(task, model)
    path = Path(output_dir)
    if path.exists() and not path.is_dir():
        raise ClueError(f"--output-dir {path} exists and is not a folder")
    if not path.is_dir() or not any(path.iterdir()):
        return path
    if not overwrite:
        raise ClueError(
            f"--output-dir {path} exists and is not empty; pass --overwrite to replace an earlier run"
        )
    if not (path / "results.json").is_file():
        raise ClueError(
            f"--output-dir {path} is not empty and is not a clue run folder (no results.json); "
            "--overwrite only replaces an earlier run: choose an empty or new folder"
        )
    resolved = path.resolve()
    for inside, what in ((Path.cwd(), "the current directory"), (data_dir, "the data folder")):
        if inside is not None and Path(inside).resolve().is_relative_to(resolved):
            raise ClueError(f"--output-dir {path} holds {what}; choose another folder")
    return path


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
    cfg = config_mod.build(tree)
    if layer is not None and layer.note:
        log.warning("%s", layer.note)
    # An unknown short name or a broken model folder is reported before any data is read.
    check_model_folder(_resolved(cfg.model))
    parse_report_to(cfg.output.report_to)  # a tracker that is not installed, likewise
    if download and not (data_dir or _has_data(spec)):
        from clue_runner.download import download_task

        download_task(spec.name)
    folder = task_data_dir(spec, data_dir)
    tests = present_test_splits(spec, folder)
    examples = read_splits(spec, folder, ["train", "dev", *tests])
    examples["train"] = _limit(examples["train"], cfg.data.max_train)
    examples["dev"] = _limit(examples["dev"], cfg.data.max_eval)
    if not tests:
        log.warning(
            "%s: no test file in %s (%s): no leaderboard file will be written",
            spec.name,
            folder,
            ", ".join(f for s in spec.test_splits for f in spec.splits[s]),
        )
    run_dir = prepare_output_dir(
        Path(output_dir) if output_dir else None, spec.name, cfg.model, overwrite, folder
    )
    tokenizer = load_tokenizer(cfg.model)
    uncovered = coverage_problem(spec, examples["train"], tokenizer, cfg, cfg.model)
    if uncovered:
        raise ClueError(uncovered)
    preflight(spec, examples["dev"], tokenizer, cfg)
    accelerator = make_accelerator(cfg)
    run_dir = _claim_run_dir(accelerator, run_dir, overwrite)
    reporter = Reporter(
        enabled=progress and accelerator.is_main_process, log_every_s=log_every_s, label=spec.name
    )
    layers = _layers(spec.name, layer.recipe if layer is not None else None, config_files, sets, overrides)
    reporter.plan({"run folder": str(run_dir), "config": layers})
    results: dict[str, Any] = {
        "schema": RESULTS_SCHEMA,
        "task": spec.name,
        "task_version": spec.version,
        "model": {"name": cfg.model, "resolved": _resolved(cfg.model)},
        "status": "running",
        "error": None,
        "seed": cfg.seed,
        "config": tree,
        "recipe": layer.as_json() if layer is not None else None,
        "config_sources": sources,
        "argv": list(argv if argv is not None else sys.argv),
        "data": {
            "dir": str(folder),
            "files": file_info([p for s in examples for p in spec.split_paths(folder, s)]),
        },
        "main_metric": spec.main_metric,
        "started_at": _utc_now(),
        **({"task_file": spec.source} if spec.source else {}),
    }
    try:
        return _run(spec, cfg, tree, folder, tests, examples, tokenizer, accelerator, run_dir, results, reporter,
                    t_start, log_samples)  # fmt: skip
    except BaseException as exc:
        results.update(status="failed", error=f"{type(exc).__name__}: {exc}", finished_at=_utc_now())
        if accelerator.is_main_process:
            write_json(run_dir / "results.json", results)
        raise


def _claim_run_dir(accelerator: Accelerator, run_dir: Path, overwrite: bool) -> Path:
    """Create the run folder from the main process only, once every process has checked it.

    Under `accelerate launch` each process chose a folder (a default name has a random part), so the main
    process's choice is broadcast; the barriers keep a slow process from checking or clearing the folder after
    the main one has started writing into it.
    """
    import shutil

    if accelerator.num_processes > 1:
        from accelerate.utils import broadcast_object_list

        run_dir = Path(broadcast_object_list([str(run_dir)])[0])
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        if run_dir.exists() and overwrite:
            # The run's own files, and temp files of atomic writes a killed run left (".<name>.<random>.tmp").
            leftovers = [p for p in run_dir.glob(".*.tmp") if p.is_file()]
            for artefact in [*(run_dir / name for name in RUN_ARTEFACTS), *leftovers]:
                if artefact.is_dir():
                    shutil.rmtree(artefact)
                else:
                    artefact.unlink(missing_ok=True)
        run_dir.mkdir(parents=True, exist_ok=True)
    accelerator.wait_for_everyone()
    return run_dir


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


def _has_data(task: Task) -> bool:
    from clue_runner.data import data_root

    folder = data_root() / task.name
    return folder.is_dir() and task.has_split(folder, "train")


def _resolved(model: str) -> str:
    from clue_runner.registry import resolve_model

    return resolve_model(model)


def _run(
    spec: Task,
    cfg: RunConfig,
    tree: dict[str, Any],
    folder: Path,
    tests: list[str],
    examples: dict[str, list[Example]],
    tokenizer: Any,
    accelerator: Accelerator,
    run_dir: Path,
    results: dict[str, Any],
    reporter: Reporter,
    t_start: float,
    log_samples: bool = False,
) -> RunOutcome:
    from clue_runner import loop
    from clue_runner.modeling import build_model, save_model
    from clue_runner.samples import head_scores, sample_lines, write_samples
    from clue_runner.trackers import Trackers, parse_report_to

    main = accelerator.is_main_process
    if main:
        atomic_write_text(run_dir / "config.yaml", config_mod.to_yaml(tree))
        write_json(run_dir / "results.json", results)
        (run_dir / "metrics.jsonl").unlink(missing_ok=True)
    results["environment"] = environment(accelerator)
    results["batch"] = {
        "per_device": cfg.train.batch_size,
        "grad_accum": cfg.train.grad_accum,
        "world_size": accelerator.num_processes,
        "global": cfg.train.batch_size * cfg.train.grad_accum * accelerator.num_processes,
    }

    trackers = Trackers(parse_report_to(cfg.output.report_to), run_dir, f"{spec.name}-{run_dir.name}", main)

    with reporter, trackers:
        reporter.heading(run_dir)
        t0 = time.perf_counter()
        features = {}
        for s in examples:
            reporter.phase(f"tokenise {s}", f"{len(examples[s]):,} examples")
            features[s] = featurize(spec, s, examples[s], folder, tokenizer, cfg, accelerator)
        tokenize_s = time.perf_counter() - t0
        pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

        metrics_file = run_dir / "metrics.jsonl"

        def log_line(record: dict[str, Any]) -> None:
            if main:
                import json

                with metrics_file.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            trackers.record(record)

        reporter.phase("load model", cfg.model)
        model = build_model(spec, cfg.model, cfg)
        reporter.plan(_opening(spec, examples, features, results))
        trackers.start(tree)
        try:
            result, best_state = loop.train(
                model,
                spec,
                features["train"],
                features["dev"],
                examples["dev"],
                cfg,
                accelerator,
                pad_id,
                reporter,
                log_line,
            )
        except loop.NonFiniteLoss as exc:
            results.update(status="failed", error=str(exc), finished_at=_utc_now())
            if main:
                write_json(run_dir / "results.json", results)
            log.error(
                "%s: %s; the run is marked failed and no score or leaderboard file is written", spec.name, exc
            )
            return RunOutcome(run_dir, "failed", results, main)
        unwrapped = accelerator.unwrap_model(model)
        if best_state is not None:
            unwrapped.load_state_dict(best_state)
        t1 = time.perf_counter()
        predictions: dict[str, list[Any]] = {}
        samples: dict[str, list[dict[str, Any]]] = {}
        for s in [*tests, *(["dev"] if log_samples else [])]:
            outputs = loop.infer(model, spec, features[s], cfg, accelerator, pad_id, reporter, f"predict {s}")
            decoded = spec.decode(outputs, features[s], examples[s], cfg)
            if s in tests:
                predictions[s] = decoded
            if log_samples:
                scores = head_scores(spec, outputs, features[s], len(examples[s]))
                samples[s] = sample_lines(spec, examples[s], decoded, scores, labelled=s not in tests)
        predict_s = time.perf_counter() - t1

        reporter.phase("write", "best model and leaderboard files")
        written: dict[str, int] = {}
        if main:
            save_model(unwrapped, tokenizer, spec, run_dir / "best")
            written = write_submissions(spec, predictions, examples, run_dir / "submission")
            results["predictions"] = {
                s: str(write_samples(run_dir, s, lines)) for s, lines in samples.items()
            }
        accelerator.wait_for_everyone()
        results.update(
            status="completed",
            metrics={
                "dev": result.best_metrics,
                "dev_final": result.final_metrics,
                "history": result.history,
            },
            best_step=result.best_step,
            steps=result.steps,
            epochs=result.epochs,
            submission_files=written,
            timings={
                "tokenize_s": round(tokenize_s, 3),
                "train_s": round(result.train_s, 3),
                "eval_s": round(result.eval_s, 3),
                "predict_s": round(predict_s, 3),
                "total_s": round(time.perf_counter() - t_start, 3),
            },
            throughput={
                "train_tokens_per_s": round(
                    result.tokens * accelerator.num_processes / max(result.train_s, 1e-9), 1
                ),
                "train_sequences_per_s": round(
                    result.sequences * accelerator.num_processes / max(result.train_s, 1e-9), 2
                ),
                "eval_sequences_per_s": round(
                    len(features["dev"]) * len(result.history) / max(result.eval_s, 1e-9), 2
                ),
            },
            finished_at=_utc_now(),
        )
        if main:
            write_json(run_dir / "results.json", results)
        trackers.summary(results, result.best_step)
        reporter.finish(f"completed in {results['timings']['total_s']:.0f} s: {run_dir}")
    return RunOutcome(run_dir, "completed", results, main)


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
    `log_samples` adds RUN_DIR/predictions/."""
    from clue_runner.finetuned import predict_checkpoint
    from clue_runner.results import read_results

    spec, data_dir = resolve_task(task, data_dir)
    run = Path(run_dir)
    best = run / "best"
    if not best.is_dir():
        raise ClueError(f"{run}: no best/ folder (is this a completed `clue run` directory?)")
    saved = read_results(run)
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
