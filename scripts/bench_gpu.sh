#!/usr/bin/env bash
# GPU benchmark in one re-runnable step (about 5 minutes on an H100/H200): clue vs a tuned HF Trainer on a
# bert-base-sized random model in bf16, MFU, eval, C3 at 512 x 4 and a projected 11-task sweep time.
# Without a CUDA device it runs a tiny model on the CPU and says so (the figures are then not GPU figures).
#
#   scripts/bench_gpu.sh [--json OUT]
#
# Python: $PYTHON, else .venv/bin/python, else python3. Vocab: $CLUE_BENCH_VOCAB when it names a file, else
# .cache/bench/vocab.txt (fetched by scripts/bench_vocab.py when PyPI is reachable), else the generated vocab of
# `clue tiny-model` (the script then says so).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
if [ -n "${CLUE_BENCH_VOCAB:-}" ]; then
  VOCAB="$CLUE_BENCH_VOCAB"  # given: used as it is, never fetched
else
  VOCAB=.cache/bench/vocab.txt
  [ -f "$VOCAB" ] || "$PY" scripts/bench_vocab.py "$VOCAB" >/dev/null 2>&1 || true
fi
[ -f "$VOCAB" ] || VOCAB=""
exec "$PY" scripts/bench_gpu.py ${VOCAB:+--vocab "$VOCAB"} "$@"
