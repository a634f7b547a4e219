# `make test` and `make demo` set everything up on a fresh machine with Python 3.10+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test lint test-matrix test-example demo clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable . --group dev
	touch $@

## Lint, type-check and run every test suite; fails if any of them fails.
test: lint $(VENV)/.installed
	$(BIN)/pytest --cov --cov-report=term
	$(MAKE) test-example
	$(BIN)/nox

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy ptrack

## The oldest and newest supported Python/Django pairs (missing interpreters are skipped locally).
test-matrix: $(VENV)/.installed
	$(BIN)/nox

## --- benchmark targets (owned by bench/) ---
## --- end of benchmark targets ---

## --- security targets (fuzzing, load test) ---
## --- end of security targets ---

## --- example project targets (owned by example_project/) ---
test-example: $(VENV)/.installed
	@echo "example project tests: not yet written"

demo: $(VENV)/.installed
	@echo "demo: not yet written"
## --- end of example project targets ---

clean:
	rm -rf $(VENV) .nox .coverage .mypy_cache .ruff_cache .pytest_cache
