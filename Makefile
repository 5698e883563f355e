# One task runner: the README and .ci/run call exactly these targets.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: install run test lint typecheck bench serve

$(BIN)/followup: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# Byte-compiled up front: where PYTHONDONTWRITEBYTECODE is set, an editable install's
# modules would otherwise be compiled again by every command (~80 ms of its start-up).
install: $(BIN)/followup
	@$(BIN)/python -m compileall -q -j0 pipeline

# The main job on SQLite with the shipped config: poll every feed once.
run: install
	$(BIN)/followup poll --once

# The whole suite on SQLite (tests parametrized over both databases run on both), then
# again with PostgreSQL as every config's database.
test: install
	$(BIN)/pytest -q
	FOLLOWUP_TEST_BACKEND=postgresql $(BIN)/pytest -q -m "not browser and not slow"

lint: install
	$(BIN)/ruff check pipeline tests bench
	$(BIN)/ruff format --check pipeline tests bench
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy pipeline

bench: install
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python bench/classify_bench.py
	$(BIN)/python bench/poll_bench.py --quick
	$(BIN)/python bench/storage_bench.py --quick

serve: install
	$(BIN)/followup serve
