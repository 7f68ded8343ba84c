"""CPU training throughput: clue-runner against a tuned Hugging Face Trainer and a run_glue-style Trainer.

    python scripts/bench_trainer.py [--vocab VOCAB.txt] [--sizes 2x128,4x256,6x384] [--pairs 3] [--json OUT]

Every side trains the same random BERT (`clue tiny-model`, the given vocab), on the same TNEWS-format data, with
batch 32, max_len 128, lr 2e-5, 10 % warmup, weight decay 0.01, gradient clipping 1.0 and fp32:

- clue:     `clue run tnews` (the real code path: runner -> loop), defaults otherwise;
- tuned:    `Trainer` with dynamic padding (`DataCollatorWithPadding`), `train_sampling_strategy="group_by_length"`
            (transformers 5.x's name for the old `group_by_length`) and its default fused AdamW, fed clue's batches:
            its sampler returns the order of clue's `LengthGroupedBatches` (same seed), so both sides train on the
            same batches and the ratio measures the step, not the luck of which lengths a short run drew. Its own
            grouping pads as little at this data size (6,400 rows: 4.3 % more tokens than the real ones, clue's
            4.5 %); below 4 x 50 batches it shrinks its mega-batches (640 rows: 25 % vs 8 %), which would flatter clue;
- run_glue: `Trainer` as the classic `run_glue.py` example uses it: every sequence padded to max_len, random order.
- clue_torch: clue with `train.cpu_speedups=false` (torch's own dropout and dense embedding gradients), to show
            what those speed-ups buy.

Each measurement is a fresh process with one thread (OMP_NUM_THREADS=1, torch.set_num_threads(1)), so other work
on the machine disturbs it least; the sides run interleaved (clue, tuned, run_glue, clue, tuned, ...) and a ratio
is taken within each round. Throughput is sequences per second over the steps after --warmup (first steps pay
for allocation and caches); each side times its own steps the same way (a timestamp after every optimizer step).

The vocab: pass --vocab or set $CLUE_BENCH_VOCAB to a bert-base-chinese vocab.txt (21,128 tokens). Without one,
the tiny generated vocab of `clue tiny-model` is used and the output says so; the embedding matrix is then smaller
than the real model's, which flatters nothing but changes the optimizer's share of a step.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SIDES = ("clue", "tuned", "run_glue", "clue_torch")
EVAL_SIDES = ("clue_eval", "hand_eval", "trainer_predict")
EVAL_BATCH = 64
BATCH = 32
MAX_LEN = 128
LR = 2e-5


# ----------------------------------------------------------------------------------------------- shared setup


def tnews_text(rng: random.Random, chars: str) -> str:
    # TNEWS titles: log-normal, median 20 characters (the real train split averages ~22), 8-120.
    length = int(min(120, max(8, rng.lognormvariate(3.0, 0.45))))
    return "".join(rng.choice(chars) for _ in range(length))


def write_tnews(folder: Path, n_train: int, n_dev: int, vocab: Path, seed: int = 0) -> None:
    """TNEWS-format train/dev files made of characters the vocab knows (so no [UNK] runs)."""
    from clue_runner.tasks.tnews import LABELS

    words = vocab.read_text(encoding="utf-8").split("\n")
    chars = "".join(w for w in words if len(w) == 1 and "\u4e00" <= w <= "\u9fa5") or "的一是在不了有和人这"
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for split, n in (("train", n_train), ("dev", n_dev)):
        with (folder / f"{split}.json").open("w", encoding="utf-8") as handle:
            for _ in range(n):
                record = {"label": rng.choice(LABELS), "label_desc": "", "sentence": tnews_text(rng, chars),
                          "keywords": ""}  # fmt: skip
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_tnews(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def steady_rate(stamps: list[float], warmup: int, per_step: float) -> float:
    """Units per second between the end of step `warmup` and the last step."""
    return (len(stamps) - warmup) * per_step / (stamps[-1] - stamps[warmup - 1])


# ----------------------------------------------------------------------------------------------- workers


def worker_clue(
    model: Path, data: Path, steps: int, work: Path, precision: str = "no", speedups: bool = True
) -> dict[str, Any]:
    from clue_runner.runner import run_task

    sets = [
        f"train.max_steps={steps}", f"train.batch_size={BATCH}", f"train.lr={LR}", "train.warmup_ratio=0.1",
        "train.weight_decay=0.01", "train.max_grad_norm=1.0", f"train.precision='{precision}'", "train.log_every=1",
        f"data.max_len={MAX_LEN}", "data.num_workers=0", "eval.batch_size=64",
        f"train.cpu_speedups={str(speedups).lower()}",
    ]  # fmt: skip
    outcome = run_task("tnews", model=str(model), data_dir=data, output_dir=work / "run", sets=sets,
                       overwrite=True, progress=False, offline=True)  # fmt: skip
    lines = [json.loads(x) for x in (outcome.run_dir / "metrics.jsonl").read_text().splitlines()]
    stamps = [x["elapsed_s"] for x in lines if "elapsed_s" in x]
    tokens = outcome.results["throughput"]["train_tokens_per_s"] * outcome.results["timings"]["train_s"]
    return {"stamps": stamps, "loss_first": lines[0]["loss"], "tokens": tokens, "sequences": steps * BATCH}


def worker_trainer(
    side: str, model: Path, data: Path, steps: int, work: Path, precision: str = "no"
) -> dict[str, Any]:
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        BertTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        default_data_collator,
    )

    from clue_runner.tasks.tnews import LABELS

    tokenizer = BertTokenizer.from_pretrained(str(model))
    records = read_tnews(data / "train.json")
    index = {label: i for i, label in enumerate(LABELS)}
    tuned = side == "tuned"
    enc = tokenizer([r["sentence"] for r in records], truncation=True, max_length=MAX_LEN,
                    padding=False if tuned else "max_length")  # fmt: skip
    rows = [
        {"input_ids": enc["input_ids"][i], "token_type_ids": enc["token_type_ids"][i],
         "attention_mask": enc["attention_mask"][i], "labels": index[r["label"]]}
        for i, r in enumerate(records)
    ]  # fmt: skip
    model_obj = AutoModelForSequenceClassification.from_pretrained(str(model), num_labels=len(LABELS))
    stamps: list[float] = []
    tokens = [0]

    class Stamp(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            stamps.append(time.perf_counter())

    args = TrainingArguments(
        output_dir=str(work / "trainer"),
        per_device_train_batch_size=BATCH,
        max_steps=steps,
        learning_rate=LR,
        warmup_steps=0.1,
        weight_decay=0.01,
        max_grad_norm=1.0,
        train_sampling_strategy="group_by_length" if tuned else "random",
        logging_strategy="no",
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        use_cpu=not torch.cuda.is_available(),
        bf16=precision == "bf16",
        seed=42,
    )
    collator = DataCollatorWithPadding(tokenizer) if tuned else default_data_collator

    def counting_collator(features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        tokens[0] += sum(len(f["input_ids"]) if tuned else sum(f["attention_mask"]) for f in features)
        return collator(features)

    trainer_class = Trainer
    if tuned:
        # clue's own batches (its length grouping with its default seed 42, first epoch), so both sides train on the
        # same batches in the same order; at this data size the Trainer's own grouping pads as little (module doc).
        from clue_runner.loop import LengthGroupedBatches

        order = [
            i for batch in LengthGroupedBatches([len(r["input_ids"]) for r in rows], BATCH, 42) for i in batch
        ]

        class SameBatches(Trainer):
            def _get_train_sampler(self, train_dataset: Any = None) -> Any:
                return order

        trainer_class = SameBatches
    trainer = trainer_class(model=model_obj, args=args, train_dataset=rows, data_collator=counting_collator,
                            callbacks=[Stamp()])  # fmt: skip
    start = time.perf_counter()
    out = trainer.train()
    stamps = [s - start for s in stamps]
    return {"stamps": stamps, "loss_first": None, "tokens": tokens[0], "sequences": steps * BATCH,
            "train_loss": out.training_loss}  # fmt: skip


def _tnews_rows(model: Path, data: Path, split: str) -> tuple[Any, list[dict[str, Any]]]:
    from transformers import BertTokenizer

    tokenizer = BertTokenizer.from_pretrained(str(model))
    records = read_tnews(data / f"{split}.json")
    enc = tokenizer([r["sentence"] for r in records], truncation=True, max_length=MAX_LEN)
    rows = [
        {k: enc[k][i] for k in ("input_ids", "token_type_ids", "attention_mask")} for i in range(len(records))
    ]
    return tokenizer, rows


def timed_repeats(run: Any, repeats: int = 3) -> float:
    """Median seconds of `run()` after one untimed warm-up call."""
    run()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def worker_eval(side: str, model: Path, data: Path) -> dict[str, Any]:
    """Sequences per second predicting the dev split: clue's loop.predict, a hand-written length-sorted loop over
    the same model, or Trainer.predict with dynamic padding. Every side ends with one label per sequence."""
    import numpy as np
    import torch
    from transformers import AutoModelForSequenceClassification

    from clue_runner import config
    from clue_runner.tasks.tnews import LABELS

    if side == "clue_eval":
        from clue_runner import loop
        from clue_runner.modeling import build_model, load_tokenizer
        from clue_runner.registry import get_task
        from clue_runner.runner import make_accelerator

        task = get_task("tnews")
        cfg = config.load("tnews", sets=[f"eval.batch_size={EVAL_BATCH}", f"data.max_len={MAX_LEN}"])
        tokenizer = load_tokenizer(str(model))
        examples = task.read(data, "dev")
        features = task.encode(examples, tokenizer, cfg)
        accelerator = make_accelerator(cfg)
        net = accelerator.prepare(build_model(task, str(model), cfg))
        seconds = timed_repeats(lambda: loop.predict(net, task, features, examples, cfg, accelerator, 0))
        return {"seq_per_s": len(features) / seconds}
    tokenizer, rows = _tnews_rows(model, data, "dev")
    net = AutoModelForSequenceClassification.from_pretrained(str(model), num_labels=len(LABELS)).eval()
    if side == "hand_eval":

        @torch.inference_mode()
        def hand() -> list[str]:
            order = sorted(range(len(rows)), key=lambda i: -len(rows[i]["input_ids"]))
            out: list[str] = [""] * len(rows)
            for start in range(0, len(order), EVAL_BATCH):
                chunk = order[start : start + EVAL_BATCH]
                width = len(rows[chunk[0]]["input_ids"])
                batch = {
                    k: torch.tensor([rows[i][k] + [0] * (width - len(rows[i][k])) for i in chunk])
                    for k in ("input_ids", "token_type_ids", "attention_mask")
                }
                for i, label in zip(chunk, net(**batch).logits.argmax(-1).tolist(), strict=True):
                    out[i] = LABELS[label]
            return out

        return {"seq_per_s": len(rows) / timed_repeats(hand)}
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    with tempfile.TemporaryDirectory() as tmp:
        args = TrainingArguments(output_dir=tmp, per_device_eval_batch_size=EVAL_BATCH, report_to="none",
                                 disable_tqdm=True, dataloader_pin_memory=False, use_cpu=True)  # fmt: skip
        trainer = Trainer(model=net, args=args, data_collator=DataCollatorWithPadding(tokenizer))

        def predict() -> list[str]:
            logits = trainer.predict(rows).predictions  # type: ignore[arg-type]
            return [LABELS[int(i)] for i in np.argmax(logits, axis=-1)]

        return {"seq_per_s": len(rows) / timed_repeats(predict)}


def worker_main(args: argparse.Namespace) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(args.threads)
    sys.path.insert(0, str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CLUE_CACHE_DIR"] = str(Path(tmp) / "cache")
        if args.worker in EVAL_SIDES:
            out = worker_eval(args.worker, args.model, args.data)
        elif args.worker in ("clue", "clue_torch"):
            speedups = args.worker == "clue"
            out = worker_clue(args.model, args.data, args.steps, Path(tmp), args.precision, speedups)
        else:
            out = worker_trainer(args.worker, args.model, args.data, args.steps, Path(tmp), args.precision)
        if "stamps" in out:
            out["seq_per_s"] = steady_rate(out["stamps"], args.warmup, BATCH)
    out["threads"] = torch.get_num_threads()
    out["peak_memory_gb"] = peak_memory_gb()
    print("RESULT " + json.dumps(out))


def peak_memory_gb() -> float:
    """Peak accelerator memory allocated by torch on CUDA, else the process's peak resident set size."""
    import resource

    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**30
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


# ----------------------------------------------------------------------------------------------- driver


def run_worker(
    side: str, model: Path, data: Path, steps: int, warmup: int, threads: int, precision: str = "no"
) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", side, "--model", model, "--data", data, "--steps", steps,
           "--warmup", warmup, "--threads", threads, "--precision", precision]  # fmt: skip
    return run_worker_json(cmd, threads=threads)


def run_worker_json(cmd: list[Any], threads: int = 1) -> dict[str, Any]:
    """Run a worker process with `threads` threads and return the JSON of its `RESULT ...` line."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads),
           "TOKENIZERS_PARALLELISM": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_VERBOSITY": "error"}  # fmt: skip
    proc = subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise SystemExit(f"worker {cmd[1:4]} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")


def fmt_range(values: list[float], digits: int = 1) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def tiny_model(root: Path, size: str, vocab: Path | None) -> tuple[Path, int, int]:
    from clue_runner.tiny import write_tiny_model

    layers, hidden = (int(x) for x in size.lower().split("x"))
    model = root / f"model-{layers}x{hidden}"
    if not model.is_dir():
        write_tiny_model(
            model, layers=layers, hidden=hidden, heads=max(1, hidden // 64), vocab_file=vocab, seed=0
        )
    return model, layers, hidden


def interleaved(
    sides: tuple[str, ...], model: Path, data: Path, args: argparse.Namespace, label: str, steps: int = 20
) -> dict[str, list[float]]:
    """seq/s of every side, run in turn (A B C A B C ...) for --pairs rounds."""
    runs: dict[str, list[float]] = {side: [] for side in sides}
    for _ in range(args.pairs):
        for side in sides:
            side_steps = steps if side != "run_glue" else args.warmup + max(3, steps // 4)
            result = run_worker(side, model, data, side_steps, args.warmup, args.threads)
            runs[side].append(result["seq_per_s"])
            tokens = f" ({result['tokens']:,.0f} real tokens)" if "tokens" in result else ""
            print(
                f"  {label} {side:16s} {result['seq_per_s']:8.1f} seq/s{tokens}", file=sys.stderr, flush=True
            )
    return runs


def ratios(a: list[float], b: list[float]) -> list[float]:
    return [x / y for x, y in zip(a, b, strict=True)]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vocab", type=Path, default=os.environ.get("CLUE_BENCH_VOCAB") or None,
                        help="bert-base-chinese vocab.txt (default: $CLUE_BENCH_VOCAB, else the generated vocab)")  # fmt: skip
    parser.add_argument(
        "--sizes", default="2x128,4x256,6x384", help="LAYERSxHIDDEN,... (default: %(default)s)"
    )
    parser.add_argument("--pairs", type=int, default=3, help="interleaved rounds (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=0,
                        help="optimizer steps per clue/tuned run (default: 60, 40, 30 for hidden <=128, <=256, more)")  # fmt: skip
    parser.add_argument("--warmup", type=int, default=4, help="steps left out of the timing")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--eval-size", default="4x256", help="model for the predict comparison ('' = skip it)"
    )
    parser.add_argument("--eval-rows", type=int, default=1500, help="dev sequences predicted per measurement")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--worker", choices=SIDES + EVAL_SIDES, help=argparse.SUPPRESS)
    parser.add_argument("--precision", default="no", choices=("no", "bf16"), help=argparse.SUPPRESS)
    parser.add_argument("--model", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args)
        return
    sys.path.insert(0, str(ROOT))
    from clue_runner.tiny import generated_vocab

    if args.vocab is not None and not args.vocab.is_file():
        parser.error(f"--vocab {args.vocab}: no such file")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        vocab = args.vocab
        if vocab is None:
            print("no --vocab / $CLUE_BENCH_VOCAB: using the small generated vocab, not bert-base-chinese's",
                  file=sys.stderr)  # fmt: skip
            (root / "gen-vocab.txt").write_text("\n".join(generated_vocab()) + "\n", encoding="utf-8")
        vocab_words = len(
            (vocab or root / "gen-vocab.txt").read_text(encoding="utf-8").rstrip("\n").split("\n")
        )
        # Enough rows that the Trainer's length grouping uses its full mega-batches (50 batches, as clue's do): with
        # fewer than 4 x 50 batches it shrinks them, pads more and would flatter clue.
        n_train = max(max(args.steps, 60) * BATCH, 4 * 50 * BATCH)
        write_tnews(root / "data", n_train=n_train, n_dev=64, vocab=vocab or root / "gen-vocab.txt")
        write_tnews(
            root / "eval-data", n_train=32, n_dev=args.eval_rows, vocab=vocab or root / "gen-vocab.txt"
        )
        results = []
        for size in [s for s in args.sizes.split(",") if s]:
            model, layers, hidden = tiny_model(root, size, vocab)
            steps = args.steps or (60 if hidden <= 128 else 40 if hidden <= 256 else 30)
            runs = interleaved(SIDES, model, root / "data", args, size, steps)
            results.append({"layers": layers, "hidden": hidden, "seq_per_s": runs,
                            "clue_vs_tuned": ratios(runs["clue"], runs["tuned"]),
                            "clue_vs_run_glue": ratios(runs["clue"], runs["run_glue"]),
                            "speedups": ratios(runs["clue"], runs["clue_torch"])})  # fmt: skip
        evals = {}
        if args.eval_size:
            model, _, _ = tiny_model(root, args.eval_size, vocab)
            evals = interleaved(EVAL_SIDES, model, root / "eval-data", args, args.eval_size)
    print(f"\nCPU training, batch {BATCH}, max_len {MAX_LEN}, fp32, {args.threads} thread(s) per process, "
          f"vocab {vocab_words} tokens, {args.pairs} interleaved rounds; medians (min-max)")  # fmt: skip
    print("| model | clue seq/s | tuned Trainer seq/s | run_glue-style seq/s | clue / tuned | clue / run_glue | "
          "clue with train.cpu_speedups=false seq/s | speed-ups' gain |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        s = r["seq_per_s"]
        print(f"| {r['layers']} layers / {r['hidden']} | {fmt_range(s['clue'])} | {fmt_range(s['tuned'])} | "
              f"{fmt_range(s['run_glue'])} | **{fmt_range(r['clue_vs_tuned'], 2)}** | "
              f"{fmt_range(r['clue_vs_run_glue'], 2)} | {fmt_range(s['clue_torch'])} | "
              f"{fmt_range(r['speedups'], 2)} |")  # fmt: skip
    if evals:
        print(f"\nCPU predict, TNEWS dev ({args.eval_rows} sequences), model {args.eval_size}, batch {EVAL_BATCH}, "
              f"{args.threads} thread(s); medians (min-max) of {args.pairs} interleaved rounds")  # fmt: skip
        print("| clue seq/s | hand-written length-sorted loop | Trainer.predict (dynamic padding) | clue / hand | "
              "clue / Trainer.predict |\n|---|---|---|---|---|")  # fmt: skip
        print(f"| {fmt_range(evals['clue_eval'])} | {fmt_range(evals['hand_eval'])} | "
              f"{fmt_range(evals['trainer_predict'])} | **{fmt_range(ratios(evals['clue_eval'], evals['hand_eval']), 2)}**"
              f" | **{fmt_range(ratios(evals['clue_eval'], evals['trainer_predict']), 2)}** |")  # fmt: skip
    if args.json:
        figures = {"vocab_tokens": vocab_words, "results": results, "eval": evals}
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
