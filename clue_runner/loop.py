"""The task-agnostic train / evaluate / predict loop on Accelerate.

The same code runs on CPU, one GPU, many GPUs and many nodes (`accelerate launch -m clue_runner ...`). It knows
no task by name: it sees Features, a model from `modeling`, and the task's decode/score functions.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader, Sampler

from clue_runner.metrics import shown
from clue_runner.modeling import collate, loss_fn, pad_multiple_for, reduce_outputs
from clue_runner.progress import Reporter

if TYPE_CHECKING:
    from accelerate import Accelerator

    from clue_runner.checkpoint import Checkpointer
    from clue_runner.config import RunConfig
    from clue_runner.cpu_training import CpuSpeedups
    from clue_runner.modeling import ClueModel
    from clue_runner.tasks.base import Example, Features, Task

log = logging.getLogger("clue_runner")
SILENT = Reporter(enabled=False)  # the default: every progress call is a no-op


class NonFiniteLoss(RuntimeError):
    """Training produced a NaN/inf loss: the run stops with status `failed`, never a score."""


class LengthGroupedBatches(Sampler[list[int]]):
    """Batches of similar length: shuffle, cut into mega-batches of 50 batches, sort each by length, batch,
    then shuffle the batches. Padding drops to near zero while every epoch still sees a new order."""

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int, group: bool = True) -> None:
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.group = group
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return math.ceil(len(self.lengths) / self.batch_size)

    def __iter__(self) -> Iterator[list[int]]:
        rng = random.Random(self.seed * 1000003 + self.epoch)
        order = list(range(len(self.lengths)))
        rng.shuffle(order)
        if self.group:
            mega = self.batch_size * 50
            order = [
                i
                for start in range(0, len(order), mega)
                for i in sorted(order[start : start + mega], key=lambda j: -self.lengths[j])
            ]
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        rng.shuffle(batches)
        return iter(batches)


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Eval/predict batches in descending length order (least padding); outputs are restored by index."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def _loader(
    task: Task, features: Features, batch_sampler: Any, pad_id: int, cfg: RunConfig, device: torch.device
) -> DataLoader[Any]:
    multiple = pad_multiple_for(device)
    return DataLoader(
        range(len(features)),  # type: ignore[arg-type]
        batch_sampler=batch_sampler,
        collate_fn=lambda idx: collate(task.head, features, idx, pad_id, multiple),
        num_workers=cfg.data.num_workers,
        # Each new iterator draws a worker seed; from its own generator it leaves the global RNG (dropout) alone,
        # so a resumed run that starts iterating mid-epoch draws exactly the random numbers the original did.
        generator=torch.Generator().manual_seed(cfg.seed),
    )


@torch.inference_mode()
def infer(
    model: ClueModel,
    task: Task,
    features: Features,
    cfg: RunConfig,
    accelerator: Accelerator,
    pad_id: int,
    reporter: Reporter = SILENT,
    desc: str = "eval",
) -> list[Any]:
    """Run the model over `features` and return one compact output per feature, in feature order.

    Outputs are reduced per batch on the device (modeling.reduce_outputs) and gathered across processes once;
    indices travel with them, so the length-sorted order and any sharding padding are undone exactly.
    """
    from accelerate.utils import gather_object

    model.eval()
    loader = accelerator.prepare(
        _loader(
            task,
            features,
            sorted_batches(features.lengths(), cfg.eval.batch_size),
            pad_id,
            cfg,
            accelerator.device,
        )
    )
    local: list[tuple[int, Any]] = []
    task_id = reporter.start(desc, total=len(loader))
    with _cpu_inference(model, accelerator, cfg):
        for batch in loader:
            logits = model(batch)  # prepare() already runs forward under the mixed-precision autocast
            outputs = reduce_outputs(task.head, logits, batch, cfg)
            local.extend(zip(batch["index"].tolist(), outputs, strict=True))
            reporter.advance(task_id)
    reporter.stop(task_id)
    gathered = gather_object(local) if accelerator.num_processes > 1 else local
    by_index: dict[int, Any] = {}
    for index, output in gathered:
        by_index.setdefault(index, output)
    return [by_index[i] for i in range(len(features))]


@contextmanager
def _cpu_inference(model: torch.nn.Module, accelerator: Accelerator, cfg: RunConfig) -> Iterator[None]:
    """On the CPU (with `train.cpu_speedups`), a classification or multiple-choice model's last layer computes
    only the [CLS] row its head reads: the same logits for less work (cpu_training)."""
    if not cfg.train.cpu_speedups or accelerator.device.type != "cpu":
        yield
        return
    from clue_runner import cpu_training

    with cpu_training.cls_only_last_layer(accelerator.unwrap_model(model)):
        yield


def evaluate(
    model: ClueModel,
    task: Task,
    features: Features,
    examples: Sequence[Example],
    cfg: RunConfig,
    accelerator: Accelerator,
    pad_id: int,
    reporter: Reporter = SILENT,
) -> dict[str, float]:
    """Dev metrics (percent) of the current model state."""
    outputs = infer(model, task, features, cfg, accelerator, pad_id, reporter, "dev")
    return task.score(task.decode(outputs, features, examples, cfg), examples)


def predict(
    model: ClueModel,
    task: Task,
    features: Features,
    examples: Sequence[Example],
    cfg: RunConfig,
    accelerator: Accelerator,
    pad_id: int,
    reporter: Reporter = SILENT,
    desc: str = "predict",
) -> list[Any]:
    """One prediction per example."""
    return task.decode(
        infer(model, task, features, cfg, accelerator, pad_id, reporter, desc), features, examples, cfg
    )


@dataclass
class TrainResult:
    best_metrics: dict[str, float] = field(default_factory=dict)
    final_metrics: dict[str, float] = field(default_factory=dict)
    best_step: int = 0
    steps: int = 0
    epochs: float = 0.0
    history: list[dict[str, Any]] = field(default_factory=list)
    train_s: float = 0.0
    eval_s: float = 0.0
    tokens: int = 0
    sequences: int = 0
    stopped_early: bool = False
    resumed_from: int | None = None
    carried_s: float = 0.0  # training and evaluation time spent before the resumed checkpoint


@dataclass
class LoopState:
    """Where training stands: with the model, optimizer, scheduler and RNG states (Accelerate's part of a
    checkpoint), everything a resumed run needs to continue exactly where this one stopped."""

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0  # micro-batches of `epoch` already trained on
    best_score: float | None = None
    best_step: int = 0
    best_metrics: dict[str, float] = field(default_factory=dict)
    final_metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    last_eval_step: int = -1
    evals_since_best: int = 0
    stopped_early: bool = False
    running_loss: float = 0.0
    running_n: int = 0
    tokens: int = 0
    sequences: int = 0
    train_s: float = 0.0
    eval_s: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LoopState:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class Interrupted(Exception):
    """Training stopped at an optimizer-step boundary because a stop was requested (SIGTERM / Ctrl-C).

    The caller that asked for the stop fills in `signal` and `exit_code`."""

    def __init__(self, step: int, checkpoint: Path | None) -> None:
        super().__init__(f"interrupted at step {step}")
        self.step = step
        self.checkpoint = checkpoint
        self.signal = ""
        self.exit_code = 1


def _never() -> bool:
    return False


def _optimizer(model: torch.nn.Module, cfg: RunConfig, device: torch.device) -> torch.optim.Optimizer:
    decay: list[torch.nn.Parameter] = []
    no_decay: list[torch.nn.Parameter] = []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        # Biases and LayerNorm weights are not decayed (the BERT recipe every CLUE baseline uses).
        (no_decay if param.ndim < 2 or "norm" in name.lower() else decay).append(param)
    groups = [
        {"params": decay, "weight_decay": cfg.train.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    # The fused kernel (one pass over each parameter) exists for CUDA and, in fp32, for CPU too, where it makes a
    # step of a small BERT ~1.45x faster than the default foreach implementation; other devices keep the default.
    fused = device.type in ("cuda", "cpu")
    return torch.optim.AdamW(groups, lr=cfg.train.lr, eps=cfg.train.adam_eps, fused=fused or None)


def _cpu_speedups(model: torch.nn.Module, accelerator: Accelerator, cfg: RunConfig) -> CpuSpeedups | None:
    """cpu_training's speed-ups, for single-process training on the CPU (None elsewhere or when turned off)."""
    if not cfg.train.cpu_speedups or accelerator.device.type != "cpu" or accelerator.num_processes > 1:
        return None
    from clue_runner import cpu_training

    speedups = cpu_training.speed_up(accelerator.unwrap_model(model))
    log.info("CPU training: %s", speedups.describe())
    return speedups


def _adafactor(model: torch.nn.Module, cfg: RunConfig) -> torch.optim.Optimizer:
    """bojone's optimizer: bert4keras AdaFactor(learning_rate, beta1=0.9) as in CLUE-bert4keras snippets.py.

    transformers' Adafactor has the same update: second moments decayed by 1 - t^-0.8, updates clipped at RMS 1.0
    and scaled by the parameter's RMS, eps (1e-30, 1e-3). With `relative_step=False` it uses our lr (and so our
    schedule). torch.optim.Adafactor has no first moment (beta1) and no parameter scaling, so it is not used.
    """
    from transformers.optimization import Adafactor

    params = [p for p in model.parameters() if p.requires_grad]
    return Adafactor(
        params,
        lr=cfg.train.lr,
        beta1=0.9,
        relative_step=False,
        scale_parameter=True,
        warmup_init=False,
        clip_threshold=1.0,
        weight_decay=cfg.train.weight_decay,
    )


def _linear_schedule(
    optimizer: torch.optim.Optimizer, warmup: int, total: int, constant: bool = False
) -> torch.optim.lr_scheduler.LambdaLR:
    """Linear warm-up, then linear decay to 0 at `total` (or, with `constant`, the full lr to the end)."""

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        if constant:
            return 1.0
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def train(
    model: ClueModel,
    task: Task,
    train_features: Features,
    dev_features: Features,
    dev_examples: Sequence[Example],
    cfg: RunConfig,
    accelerator: Accelerator,
    pad_id: int,
    reporter: Reporter = SILENT,
    log_line: Callable[[dict[str, Any]], None] | None = None,
    checkpoints: Checkpointer | None = None,
    should_stop: Callable[[], bool] = _never,
) -> tuple[TrainResult, dict[str, torch.Tensor] | None]:
    """Fine-tune, evaluating dev each epoch (or every `train.eval_every` steps) and at the end.

    With `checkpoints`, the whole training state is saved as it says, and training starts from its
    `resume_from` checkpoint when it has one: resuming is this same loop starting from a saved state. When
    `should_stop()` turns true on any process, every process stops at the same optimizer step, a checkpoint is
    written and Interrupted is raised.

    Training in one CPU process uses cpu_training's speed-ups (`train.cpu_speedups`: cheaper dropout masks,
    row-sparse embedding gradients, a [CLS]-only last layer) while it runs; the model is as it was when this
    returns.

    Returns the result and the best state (a CPU copy of the unwrapped model's state dict, or None when the
    last state is the best), picked by `task.main_metric` (higher is better, unless `task.minimize`).
    Raises NonFiniteLoss when a loss is NaN or infinite.
    """
    from clue_runner import checkpoint

    sampler = LengthGroupedBatches(
        train_features.lengths(), cfg.train.batch_size, cfg.seed, cfg.train.group_by_length
    )
    loader = _loader(task, train_features, sampler, pad_id, cfg, accelerator.device)
    optimizer = (
        _adafactor(model, cfg)
        if cfg.train.optimizer == "adafactor"
        else _optimizer(model, cfg, accelerator.device)
    )
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    speedups = _cpu_speedups(model, accelerator, cfg)
    clip_grad_norm_ = speedups.clip_grad_norm_ if speedups is not None else accelerator.clip_grad_norm_
    steps_per_epoch = max(1, math.ceil(len(loader) / cfg.train.grad_accum))
    total = cfg.train.max_steps or steps_per_epoch * cfg.train.epochs
    scheduler = _linear_schedule(
        optimizer, int(total * cfg.train.warmup_ratio), total, constant=cfg.train.schedule == "constant"
    )
    # Registered, not prepared: a prepared scheduler steps once per process per call under DDP.
    accelerator.register_for_checkpointing(scheduler)
    state = LoopState()
    best_state: dict[str, torch.Tensor] | None = None
    resumed_from = checkpoints.resume_from if checkpoints else None
    if checkpoints is not None and resumed_from is not None:
        state = LoopState.from_json(checkpoint.load(accelerator, resumed_from))
        if state.best_score is not None:
            best_state = checkpoint.load_best(checkpoints.run_dir, state.best_step)
    saved_step = state.step if resumed_from else -1
    train_s0, eval_s0, start = state.train_s, state.eval_s, time.perf_counter()
    # Summed on the device and read once per optimizer step: a host sync per micro-batch stalls the GPU.
    tokens = torch.tensor(state.tokens, dtype=torch.long, device=accelerator.device)
    window_loss = torch.zeros((), dtype=torch.float32, device=accelerator.device)
    window_n = 0
    reporter.opening(
        {
            "training": f"{total:,} optimizer steps, {steps_per_epoch:,} per epoch = {total / steps_per_epoch:.2f} "
            f"epochs; dev every {f'{cfg.train.eval_every} steps' if cfg.train.eval_every else 'epoch'}",
        }
    )
    task_id = reporter.start("train", total=total - state.step)

    def clock() -> None:
        state.train_s = train_s0 + time.perf_counter() - start - (state.eval_s - eval_s0)
        state.tokens = int(tokens)

    def run_eval(epoch: float) -> None:
        nonlocal best_state
        t0 = time.perf_counter()
        metrics = evaluate(model, task, dev_features, dev_examples, cfg, accelerator, pad_id, reporter)
        state.eval_s += time.perf_counter() - t0
        model.train()
        step = state.step
        state.last_eval_step = step
        state.final_metrics = metrics
        state.history.append({"step": step, "epoch": round(epoch, 4), **metrics})
        if log_line:
            log_line({"step": step, "epoch": round(epoch, 4), "dev": metrics})
        # The headline metrics; CLUENER's per-type F1s stay in results/metrics.jsonl.
        headline = ", ".join(f"{k} {shown(k, metrics[k])}" for k in task.metrics[:4])
        reporter.note(f"step {step}: dev {headline}", kind="dev")
        if task.better(metrics[task.main_metric], state.best_score):
            state.best_score = metrics[task.main_metric]
            state.best_metrics, state.best_step, state.evals_since_best = metrics, step, 0
            unwrapped = accelerator.unwrap_model(model)
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in unwrapped.state_dict().items()}
            if checkpoints is not None and checkpoints.enabled and accelerator.is_main_process:
                checkpoints.save_best(step, best_state, metrics)
        else:
            state.evals_since_best += 1
            patience = cfg.train.early_stop
            state.stopped_early = patience is not None and state.evals_since_best >= patience

    def save_checkpoint() -> Path | None:
        nonlocal saved_step
        if checkpoints is None or not checkpoints.enabled or saved_step == state.step:
            return checkpoint.latest(checkpoints.run_dir) if checkpoints is not None else None
        clock()
        saved_step = state.step
        return checkpoints.save(accelerator, state.step, state.as_json())

    def eval_due(step: int) -> bool:
        return bool(cfg.train.eval_every) and step % cfg.train.eval_every == 0  # type: ignore[operator]

    try:
        if resumed_from and eval_due(state.step) and state.last_eval_step != state.step:
            run_eval(state.step / steps_per_epoch)  # the stop came just before this evaluation
        model.train()
        while state.step < total and not state.stopped_early:
            sampler.set_epoch(state.epoch)
            loader.set_epoch(state.epoch)
            batches = (
                accelerator.skip_first_batches(loader, state.batch_in_epoch)
                if state.batch_in_epoch
                else loader
            )
            for batch in batches:
                with accelerator.accumulate(model):
                    logits = model(batch)
                    loss = loss_fn(task.head, logits, batch)
                    accelerator.backward(loss)
                    if accelerator.sync_gradients and cfg.train.max_grad_norm > 0:
                        clip_grad_norm_(model.parameters(), cfg.train.max_grad_norm)
                    optimizer.step()
                    optimizer.zero_grad(set_to_none=True)
                    if speedups is not None and accelerator.sync_gradients:
                        speedups.after_zero_grad()
                state.batch_in_epoch += 1
                mask = batch["attention_mask"]
                tokens += mask.sum()
                state.sequences += mask[..., 0].numel()  # every choice of a C3/CHID row is a sequence
                window_loss += loss.detach().float()
                window_n += 1
                if not accelerator.sync_gradients:
                    continue
                # One gather per optimizer step: every process sees every loss and every stop request, so all
                # agree to fail on a non-finite loss, or to stop at this same step.
                stop = torch.tensor(float(should_stop()), device=accelerator.device)
                shared = accelerator.gather(torch.stack([window_loss / window_n, stop])).reshape(-1, 2)
                losses, stopping = shared[:, 0], bool(shared[:, 1].any())
                window_loss.zero_()
                window_n = 0
                if not bool(torch.isfinite(losses).all()):
                    raise NonFiniteLoss(
                        f"non-finite training loss ({losses.tolist()}) at step {state.step + 1}"
                    )
                state.running_loss += float(losses.mean())
                state.running_n += 1
                scheduler.step()
                state.step += 1
                step = state.step
                fraction = step / steps_per_epoch
                reporter.advance(
                    task_id,
                    loss=state.running_loss / max(1, state.running_n),
                    lr=float(scheduler.get_last_lr()[0]),
                    epoch=fraction,
                )
                if log_line and (step % cfg.train.log_every == 0 or step == total):
                    log_line(
                        {
                            "step": step,
                            "epoch": round(fraction, 4),
                            "loss": round(state.running_loss / max(1, state.running_n), 6),
                            "lr": scheduler.get_last_lr()[0],
                            "elapsed_s": round(time.perf_counter() - start + train_s0 + eval_s0, 3),
                        }
                    )
                    state.running_loss, state.running_n = 0.0, 0
                if stopping:
                    raise Interrupted(step, save_checkpoint())
                if eval_due(step):
                    run_eval(fraction)
                if checkpoints is not None and checkpoints.due(step, evaluated=state.last_eval_step == step):
                    save_checkpoint()
                if step >= total or state.stopped_early:
                    break
            else:  # the epoch ran to its end
                state.epoch += 1
                state.batch_in_epoch = 0
                if cfg.train.eval_every is None and state.last_eval_step != state.step:
                    step = state.step
                    run_eval(float(state.epoch) if step < total else step / steps_per_epoch)
                    if checkpoints is not None and checkpoints.due(step, evaluated=True):
                        save_checkpoint()
        if state.last_eval_step != state.step:
            run_eval(state.step / steps_per_epoch)
            if checkpoints is not None and checkpoints.due(state.step, evaluated=True):
                save_checkpoint()
        # A stop asked for during the final evaluation is honoured here, before the test predictions (all processes
        # agree, as at every step); the resumed run then only predicts.
        asked = accelerator.gather(torch.tensor([float(should_stop())], device=accelerator.device))
        if bool(asked.any()):
            raise Interrupted(state.step, save_checkpoint())
    finally:
        if speedups is not None:
            speedups.undo()
    reporter.stop(task_id, keep=True)
    clock()
    result = TrainResult(
        best_metrics=state.best_metrics,
        final_metrics=state.final_metrics,
        best_step=state.best_step,
        steps=state.step,
        epochs=round(state.step / steps_per_epoch, 4),
        history=state.history,
        train_s=state.train_s,
        eval_s=state.eval_s,
        tokens=state.tokens,
        sequences=state.sequences,
        stopped_early=state.stopped_early,
        resumed_from=int(resumed_from.name.split("-")[-1]) if resumed_from else None,
        carried_s=train_s0 + eval_s0,
    )
    if result.best_step == state.step:
        best_state = None  # the live weights are the best ones: no copy to restore
    return result, best_state
