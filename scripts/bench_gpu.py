"""GPU benchmark: clue vs a tuned HF Trainer on a bert-base-sized random model, MFU, eval, C3 at 512 x 4, sweep time.

    scripts/bench_gpu.sh [--json OUT]        (the wrapper finds the venv and the vocab; see it for the details)

On a CUDA machine: a random BERT of bert-base size (12 layers, hidden 768, 12 heads, the given vocab) trains on
TNEWS-shaped data at max_len 128, batch 32, in bf16, with `clue run` and with the tuned Trainer of
scripts/bench_trainer.py (dynamic padding, length-grouped sampling, fused AdamW), interleaved; then

- seq/s and real (non-pad) tokens/s of training, peak memory, and MFU: training FLOPs per real token
  (6 x non-embedding parameters + 12 x layers x hidden x mean sequence length, the usual estimate) times real
  tokens/s, over 989 TFLOP/s (H100/H200 dense bf16);
- eval seq/s of `clue`'s predict loop on the dev split (vs training seq/s: goal >= 3x);
- C3 at max_len 512 with 4 choices: training seq/s (a sequence is one choice) and peak memory;
- a projected wall time of the full 11-task, one-seed sweep with the default recipe: every task's train rows x
  choices x epochs x its max_len, over the real tokens/s measured at that length (128: TNEWS, 512: C3). Sequences
  are counted at full max_len, so this is an upper bound.

Without CUDA the same script runs a tiny model (2 layers, hidden 128) in fp32 on the CPU for a few steps and says
so on its first line: the numbers then only show that the script works, they are not GPU figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_trainer as bt

PEAK_BF16_FLOPS = 989e12  # H100 / H200 SXM dense bf16
# Train rows (questions for C3/CMRC2018, blanks for CHID), choices per row and the default recipe's epochs and
# max_len (clue_runner/configs/tasks/*.yaml), for the sweep projection.
SWEEP = {
    "afqmc": (34_334, 1, 3, 128),
    "tnews": (53_360, 1, 3, 128),
    "iflytek": (12_133, 1, 3, 128),
    "cmnli": (391_782, 1, 2, 128),
    "ocnli": (50_437, 1, 3, 128),
    "cluewsc2020": (1_244, 1, 10, 128),
    "csl": (20_000, 1, 3, 256),
    "cmrc2018": (10_142, 1, 2, 512),
    "c3": (11_869, 4, 8, 512),
    "chid": (577_157, 10, 3, 64),
    "cluener": (10_748, 1, 10, 128),
}


def flops_per_token(layers: int, hidden: int, seq: float) -> float:
    params = layers * 12 * hidden * hidden  # attention 4h^2 + feed-forward 8h^2 per layer
    return 6 * params + 12 * layers * hidden * seq


def recipe_epochs_and_len(task: str) -> tuple[int, int]:
    """The default recipe's epochs and max_len for `task` (falls back to the table above)."""
    from clue_runner import config

    try:
        cfg = config.load(task)
    except Exception:  # an unreadable recipe: keep the table's figures
        return SWEEP[task][2], SWEEP[task][3]
    return cfg.train.epochs, cfg.data.max_len


def write_c3(folder: Path, questions: int) -> None:
    """C3-format train/dev files (documents of about 3 questions) from the acceptance-data generator."""
    import make_acceptance_data as mad

    docs = max(2, questions // 3)
    mad.make_task("c3", folder, seed=0, sizes=(docs, max(2, docs // 4), 2, 2))


def c3_run(model: Path, data: Path, max_len: int, steps: int, precision: str, work: Path) -> dict[str, Any]:
    from clue_runner.runner import run_task

    sets = [f"train.max_steps={steps}", f"data.max_len={max_len}", f"train.precision='{precision}'",
            "train.batch_size=8", "eval.batch_size=16"]  # fmt: skip
    outcome = run_task("c3", model=str(model), data_dir=data, output_dir=work / "c3", sets=sets,
                       overwrite=True, progress=False, offline=True)  # fmt: skip
    return {
        "train_seq_per_s": outcome.results["throughput"]["train_sequences_per_s"],
        "train_tokens_per_s": outcome.results["throughput"]["train_tokens_per_s"],
        "peak_memory_gb": bt.peak_memory_gb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vocab", type=Path, default=None, help="bert-base-chinese vocab.txt")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (GPU 2, CPU 1)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--c3-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    import torch

    gpu = torch.cuda.is_available()
    if gpu:
        name = torch.cuda.get_device_name(0)
        layers, hidden, steps, warmup, precision, c3_len = 12, 768, 60, 10, "bf16", 512
        print(f"GPU run on {name} ({torch.cuda.device_count()} visible), torch {torch.__version__}")
    else:
        layers, hidden, steps, warmup, precision, c3_len = 2, 128, 8, 3, "no", 128
        print(
            "CPU run (no CUDA device): tiny model 2 layers / 128 in fp32, a few steps. These are NOT GPU figures."
        )
    rounds = args.rounds or (2 if gpu else 1)
    if args.vocab is not None and not args.vocab.is_file():
        parser.error(f"--vocab {args.vocab}: no such file")
    threads = torch.get_num_threads() if gpu else 1
    figures: dict[str, Any] = {"device": "cuda" if gpu else "cpu", "layers": layers, "hidden": hidden}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        vocab = args.vocab
        if vocab is None:
            from clue_runner.tiny import generated_vocab

            vocab = root / "gen-vocab.txt"
            vocab.write_text("\n".join(generated_vocab()) + "\n", encoding="utf-8")
            print("vocab: the generated bert-base-chinese-like vocab (pass --vocab for the real one)")
        bt.write_tnews(root / "tnews", n_train=steps * bt.BATCH, n_dev=1000 if gpu else 100, vocab=vocab)
        model, _, _ = bt.tiny_model(root, f"{layers}x{hidden}", vocab)
        train: dict[str, list[dict[str, Any]]] = {"clue": [], "tuned": []}
        for _ in range(rounds):
            for side in train:
                train[side].append(
                    bt.run_worker(side, model, root / "tnews", steps, warmup, threads, precision)
                )
        clue = train["clue"]
        seq = statistics.median(r["seq_per_s"] for r in clue)
        ratio = statistics.median(
            c["seq_per_s"] / t["seq_per_s"] for c, t in zip(clue, train["tuned"], strict=True)
        )
        tokens_per_seq = statistics.median(r["tokens"] / r["sequences"] for r in clue)
        real_tokens = seq * tokens_per_seq
        mfu = real_tokens * flops_per_token(layers, hidden, tokens_per_seq) / PEAK_BF16_FLOPS
        evals = bt.run_worker("clue_eval", model, root / "tnews", steps, warmup, threads, precision)
        write_c3(root / "c3", questions=200 if gpu else 12)
        c3 = bt.run_worker_json(
            [sys.executable, __file__, "--c3-worker", root / "c3", "--vocab", vocab], threads
        )
        sweep_s = 0.0
        for task, (rows, choices, _, _) in SWEEP.items():
            epochs, max_len = recipe_epochs_and_len(task)
            rate = c3["train_tokens_per_s"] if max_len > 128 else real_tokens
            sweep_s += rows * choices * epochs * max_len / rate
        figures.update(
            train_seq_per_s=seq,
            clue_vs_tuned=ratio,
            train_real_tokens_per_s=real_tokens,
            mfu=mfu,
            train_peak_memory_gb=statistics.median(r["peak_memory_gb"] for r in clue),
            eval_seq_per_s=evals["seq_per_s"],
            eval_vs_train=evals["seq_per_s"] / seq,
            c3=c3,
            sweep_projected_min=sweep_s / 60,
        )
    print(f"training ({layers} layers / {hidden}, batch {bt.BATCH}, len {bt.MAX_LEN}, {precision if gpu else 'fp32'}): "
          f"{seq:.1f} seq/s, {real_tokens:,.0f} real tokens/s, clue / tuned Trainer {ratio:.2f} "
          f"(goal >= 1.3), MFU {100 * mfu:.1f} % of 989 TFLOP/s (goal >= 40 %), "
          f"peak memory {figures['train_peak_memory_gb']:.2f} GB")  # fmt: skip
    print(f"eval: {evals['seq_per_s']:.1f} seq/s = {figures['eval_vs_train']:.2f}x training (goal >= 3)")
    print(
        f"C3 at {c3_len} x 4 choices: {c3['train_seq_per_s']:.1f} seq/s, peak memory {c3['peak_memory_gb']:.2f} GB"
    )
    print(f"full 11-task one-seed sweep, default recipe: projected <= {figures['sweep_projected_min']:.1f} min "
          "(goal <= 20 on one H100/H200)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n")


def c3_worker(data: Path, vocab: Path) -> None:
    import torch

    gpu = torch.cuda.is_available()
    if not gpu:
        torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        model, _, _ = bt.tiny_model(Path(tmp), "12x768" if gpu else "2x128", vocab)
        out = c3_run(model, data, 512 if gpu else 128, 30 if gpu else 2, "bf16" if gpu else "no", Path(tmp))
    print("RESULT " + json.dumps(out))


if __name__ == "__main__":
    if "--c3-worker" in sys.argv:
        c3_worker(
            Path(sys.argv[sys.argv.index("--c3-worker") + 1]), Path(sys.argv[sys.argv.index("--vocab") + 1])
        )
    else:
        main()
