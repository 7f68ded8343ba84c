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

# The main job on the bundled demo data with a tiny random model, offline: fine-tune, dev score, leaderboard files.
demo: install
	@test -f demo/model/config.json || $(BIN)/clue tiny-model demo/model --layers 2 --hidden 128 --heads 4 --seed 0
	$(BIN)/clue run tnews --model demo/model --data-dir demo/data/tnews --config demo/tnews.yaml \
		--output-dir demo/runs/tnews --overwrite --offline

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

bench: install
	$(BIN)/python scripts/bench_loop.py
	$(BIN)/python scripts/bench_checkpoint.py

clean:
	rm -rf $(VENV) build dist *.egg-info demo/model demo/runs .pytest_cache .mypy_cache .ruff_cache
