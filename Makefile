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
EXAMPLE_INSTALLED := $(VENV)/.example-installed

.PHONY: demo-split example-screenshot

# The example project's own dependencies (dependency group "example"), on top of dev.
$(EXAMPLE_INSTALLED): $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet --group example
	touch $@

## The example project's tests, including the end-to-end test in headless Chromium.
test-example: $(EXAMPLE_INSTALLED)
	cd example_project && ../$(BIN)/pytest

## Email-open tracking end to end: migrate, create and send the demo campaigns, serve on 127.0.0.1.
# exec: Ctrl-C reaches demo.py directly, which stops its servers and exits cleanly.
demo: $(EXAMPLE_INSTALLED)
	cd example_project && exec ../$(BIN)/python demo.py $(DEMO_ARGS)

## The same with the PTRACK_APP_URL split: the pixels served by a second deployment.
demo-split: $(EXAMPLE_INSTALLED)
	cd example_project && exec ../$(BIN)/python demo.py --split $(DEMO_ARGS)

## Run the browser test and refresh example_project/docs/dashboard.png for the README.
example-screenshot: $(EXAMPLE_INSTALLED)
	cd example_project && MAILROOM_UPDATE_SCREENSHOT=1 ../$(BIN)/pytest tests/test_browser.py
## --- end of example project targets ---

clean:
	rm -rf $(VENV) .nox .coverage .mypy_cache .ruff_cache .pytest_cache
