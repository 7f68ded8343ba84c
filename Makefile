# clue-runner developer targets. Each target installs what it needs into .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
TORCH_CPU ?= torch==2.13.0

.PHONY: install demo test test-all lint format bench clean

install: $(VENV)/.installed

# Where there is no GPU, a CPU build of torch goes in first: a bare `torch` requirement would otherwise pull a
# multi-GB CUDA build. pyproject asks for a range (torch>=2.4), which the installed build satisfies.
# TORCH_CPU defaults to the CPU wheel that this project's CI machines serve locally; elsewhere use e.g.
#   make install TORCH_CPU="torch --index-url https://download.pytorch.org/whl/cpu"
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@if command -v nvidia-smi >/dev/null 2>&1; then echo "GPU found: torch comes from the normal index"; \
	else $(BIN)/python -m pip install -q "$(TORCH_CPU)"; fi
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

# The whole product on the bundled demo data (all 11 tasks, invented text in the official formats) with a tiny
# random model, offline: a `clue bench` sweep, the report, then the leaderboard zip written and validated.
# Re-running skips the cells already done; `make clean` (or rm -r demo/runs) starts over.
DEMO_RUNS ?= demo/runs
DEMO_SWEEP := $(BIN)/clue bench --tasks all --model demo/model --data-root demo/data --config demo/bench.yaml \
	--output-dir $(DEMO_RUNS)/bench --offline

demo: install
	@test -f demo/model/config.json || $(BIN)/clue tiny-model demo/model --layers 2 --hidden 128 --heads 4 --seed 0
	$(DEMO_SWEEP)
	$(BIN)/clue report $(DEMO_RUNS)/bench
	$(BIN)/clue submit $(DEMO_RUNS)/bench --output $(DEMO_RUNS)/submit.zip
	$(BIN)/clue validate $(DEMO_RUNS)/submit.zip --data-root demo/data

test: install
	$(BIN)/python -m pytest

test-all: install
	$(BIN)/python -m pytest -m "not gpu"

lint: install
	$(BIN)/ruff check clue_runner tests scripts
	$(BIN)/ruff format --check clue_runner tests scripts
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix clue_runner tests scripts
	$(BIN)/ruff format clue_runner tests scripts

# The benchmarks want the real bert-base-chinese vocab (21,128 tokens): set CLUE_BENCH_VOCAB to a vocab.txt, or
# let scripts/bench_vocab.py fetch it from PyPI (the cn_clip wheel ships it) into .cache/bench/.
CLUE_BENCH_VOCAB ?= .cache/bench/vocab.txt

$(CLUE_BENCH_VOCAB):
	$(BIN)/python scripts/bench_vocab.py $@

# Run it alone: other work on the machine skews the figures (docs/benchmarks.md says how long each part takes).
bench: install $(CLUE_BENCH_VOCAB)
	$(BIN)/python scripts/bench_loop.py
	$(BIN)/python scripts/bench_trainer.py --vocab $(CLUE_BENCH_VOCAB)
	$(BIN)/python scripts/bench_featurize.py --vocab $(CLUE_BENCH_VOCAB)
	$(BIN)/python scripts/bench_startup.py
	$(BIN)/python scripts/bench_checkpoint.py

clean:
	rm -rf $(VENV) build dist *.egg-info demo/model demo/runs .pytest_cache .mypy_cache .ruff_cache
