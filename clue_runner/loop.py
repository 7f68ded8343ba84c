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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
from torch.utils.data import DataLoader, Sampler

from clue_runner.modeling import collate, loss_fn, pad_multiple_for, reduce_outputs
from clue_runner.progress import Reporter

if TYPE_CHECKING:
    from accelerate import Accelerator

    from clue_runner.config import RunConfig
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
) -> tuple[TrainResult, dict[str, torch.Tensor] | None]:
    """Fine-tune, evaluating dev each epoch (or every `train.eval_every` steps) and at the end.

    Returns the result and the best state (a CPU copy of the unwrapped model's state dict, or None when the
    last state is the best), picked by `task.main_metric` (higher is better, unless `task.minimize`).
    Raises NonFiniteLoss when a loss is NaN or infinite.
    """
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
    steps_per_epoch = max(1, math.ceil(len(loader) / cfg.train.grad_accum))
    total = cfg.train.max_steps or steps_per_epoch * cfg.train.epochs
    scheduler = _linear_schedule(
        optimizer, int(total * cfg.train.warmup_ratio), total, constant=cfg.train.schedule == "constant"
    )
    result = TrainResult()
    best_score: float | None = None
    best_state: dict[str, torch.Tensor] | None = None
    last_eval_step = -1
    start = time.perf_counter()
    running_loss, running_n = 0.0, 0
    # Summed on the device and read once per optimizer step: a host sync per micro-batch stalls the GPU.
    tokens = torch.zeros((), dtype=torch.long, device=accelerator.device)
    window_loss = torch.zeros((), dtype=torch.float32, device=accelerator.device)
    window_n = 0
    reporter.opening(
        {
            "training": f"{total:,} optimizer steps, {steps_per_epoch:,} per epoch = {total / steps_per_epoch:.2f} "
            f"epochs; dev every {f'{cfg.train.eval_every} steps' if cfg.train.eval_every else 'epoch'}",
        }
    )
    task_id = reporter.start("train", total=total)

    def run_eval(step: int, epoch: float) -> None:
        nonlocal best_score, best_state, last_eval_step
        t0 = time.perf_counter()
        metrics = evaluate(model, task, dev_features, dev_examples, cfg, accelerator, pad_id, reporter)
        result.eval_s += time.perf_counter() - t0
        model.train()
        last_eval_step = step
        result.final_metrics = metrics
        result.history.append({"step": step, "epoch": round(epoch, 4), **metrics})
        if log_line:
            log_line({"step": step, "epoch": round(epoch, 4), "dev": metrics})
        shown = task.metrics[:4]  # the headline metrics; CLUENER's per-type F1s stay in results/metrics.jsonl
        reporter.note(f"step {step}: dev " + ", ".join(f"{k} {metrics[k]:.2f}" for k in shown), kind="dev")
        if task.better(metrics[task.main_metric], best_score):
            best_score = metrics[task.main_metric]
            result.best_metrics, result.best_step = metrics, step
            unwrapped = accelerator.unwrap_model(model)
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in unwrapped.state_dict().items()}

    step, epoch = 0, 0
    model.train()
    while step < total:
        sampler.set_epoch(epoch)
        for batch in loader:
            with accelerator.accumulate(model):
                logits = model(batch)
                loss = loss_fn(task.head, logits, batch)
                accelerator.backward(loss)
                if accelerator.sync_gradients and cfg.train.max_grad_norm > 0:
                    accelerator.clip_grad_norm_(model.parameters(), cfg.train.max_grad_norm)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
            mask = batch["attention_mask"]
            tokens += mask.sum()
            result.sequences += mask[..., 0].numel()  # every choice of a C3/CHID row is a sequence
            window_loss += loss.detach().float()
            window_n += 1
            if not accelerator.sync_gradients:
                continue
            # Every process must agree to stop, so the check looks at all processes' losses.
            losses = accelerator.gather((window_loss / window_n).reshape(1))
            window_loss.zero_()
            window_n = 0
            if not bool(torch.isfinite(losses).all()):
                raise NonFiniteLoss(f"non-finite training loss ({losses.tolist()}) at step {step + 1}")
            running_loss += float(losses.mean())
            running_n += 1
            scheduler.step()
            step += 1
            fraction = step / steps_per_epoch
            reporter.advance(
                task_id,
                loss=running_loss / max(1, running_n),
                lr=float(scheduler.get_last_lr()[0]),
                epoch=fraction,
            )
            if log_line and (step % cfg.train.log_every == 0 or step == total):
                log_line(
                    {
                        "step": step,
                        "epoch": round(fraction, 4),
                        "loss": round(running_loss / max(1, running_n), 6),
                        "lr": scheduler.get_last_lr()[0],
                        "elapsed_s": round(time.perf_counter() - start, 3),
                    }
                )
                running_loss, running_n = 0.0, 0
            if cfg.train.eval_every and step % cfg.train.eval_every == 0:
                run_eval(step, fraction)
            if step >= total:
                break
        epoch += 1
        if cfg.train.eval_every is None and last_eval_step != step:
            run_eval(step, float(epoch) if step < total else step / steps_per_epoch)
    if last_eval_step != step:
        run_eval(step, step / steps_per_epoch)
    reporter.stop(task_id, keep=True)
    result.tokens = int(tokens)
    result.steps = step
    result.epochs = round(step / steps_per_epoch, 4)
    result.train_s = time.perf_counter() - start - result.eval_s
    if result.best_step == step:
        best_state = None  # the live weights are the best ones: no copy to restore
    return result, best_state
