# `make test` and `make demo` set everything up on a fresh machine with Python 3.10+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: test lint docs test-matrix test-example demo clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --editable . --group dev
	touch $@

## Lint, type-check, build the docs and run every test suite; fails if any of them fails.
test: lint docs $(VENV)/.installed
	$(BIN)/pytest --cov --cov-report=term
	$(MAKE) test-example
	$(BIN)/nox

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy ptrack

## The documentation site into docs/_build/html: warnings are errors, ptrack's references nitpicked.
docs: $(VENV)/.installed
	$(BIN)/sphinx-build --fail-on-warning --keep-going --nitpicky --quiet -b html docs docs/_build/html

## The oldest and newest supported Python/Django pairs (missing interpreters are skipped locally).
test-matrix: $(VENV)/.installed
	$(BIN)/nox

## --- benchmark targets (owned by bench/) ---
BENCH_INSTALLED := $(VENV)/.bench-installed

.PHONY: bench bench-quick bench-wrk bench-background bench-redis bench-classifier bench-instrument bench-inprocess bench-instructions bench-store bench-store-exactly-once bench-store-scale

# The servers and tools of dependency group "bench", on top of dev.
$(BENCH_INSTALLED): $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet --group bench
	touch $@

# wrk comes from Debian's packages; installed here when missing and run as root.
bench-wrk:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; \
	  else \
	    echo "wrk is missing: run 'sudo apt-get install wrk' (Debian/Ubuntu), then make bench."; \
	    exit 1; \
	  fi; }

## Benchmark tokens and the endpoint (gunicorn, uvicorn, wrk on 127.0.0.1): table + bench/results.json.
bench: $(BENCH_INSTALLED) bench-wrk
	$(BIN)/python -m bench.run $(BENCH_ARGS)
	$(BIN)/python -m bench.inprocess
	$(BIN)/python -m bench.instrument

## Only the in-process, paired pixel view vs bare view (about 2 minutes): table + bench/results-inprocess.json.
bench-inprocess: $(VENV)/.installed
	$(BIN)/python -m bench.inprocess

## Instructions per request of the in-process cases in both middleware modes, counted by valgrind (about 40 minutes): bench/results-instructions.json.
bench-instructions: $(VENV)/.installed
	@command -v valgrind >/dev/null || { echo "valgrind is missing: run 'sudo apt-get install valgrind', then make bench-instructions."; exit 1; }
	$(BIN)/python -m bench.instructions

## Only the instrument_html case: a 100 KB email with 50 links, ptrack vs pytracking (bench/results-instrument.json).
bench-instrument: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.instrument

## ptrack.store's recorder on SQLite (Django's defaults, WAL) and PostgreSQL, batches of 100 and 500 (about 3 minutes): table + bench/results-store.json.
bench-store: $(VENV)/.installed
	$(BIN)/python -m bench.store --json bench/results-store.json

## The store under load through gunicorn, its db_worker killed twice with SIGKILL: every answered load counted once (about 3 minutes): table + bench/results-store-kill.json.
bench-store-exactly-once: $(BENCH_INSTALLED)
	$(BIN)/python -m bench.store_kill --json bench/results-store-kill.json

## ptrack.store at scale on PostgreSQL: stats() and the admin's pages over 1,000,000 messages and 3,000,000 events, and recording during a purge (about 7 minutes): table + bench/results-store-scale.json. Smaller: python -m bench.store_scale --messages 20000 --events 60000.
bench-store-scale: $(VENV)/.installed
	$(BIN)/python -m bench.store_scale --json bench/results-store-scale.json

## The same in one short round, to try it out (about two minutes; numbers are rough).
bench-quick: $(BENCH_INSTALLED) bench-wrk
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)

## classify() per call, and loading and searching a 300,000-prefix Private Relay list (under a minute).
bench-classifier: $(VENV)/.installed
	$(BIN)/python -m bench.classifier --json bench/results-classifier.json

# redis-server comes from Debian's packages, like wrk.
bench-redis:
	@command -v redis-server >/dev/null || { \
	  if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	  else \
	    echo "redis-server is missing: run 'sudo apt-get install redis-server', then make bench-background."; \
	    exit 1; \
	  fi; }

## A 20 ms recorder inline vs in the background (RQ, django-tasks-db) vs the bare view, then one task worker's drain rate (about 3 minutes): table + bench/results-background.json.
bench-background: $(BENCH_INSTALLED) bench-wrk bench-redis
	$(BIN)/python -m bench.run --background $(BENCH_ARGS)
## --- end of benchmark targets ---

## --- security targets (fuzzing, load test) ---
SECURITY_INSTALLED := $(VENV)/.security-installed
FUZZ_RUNS ?= 1000000
FUZZ_DIR := $(VENV)/fuzz

.PHONY: fuzz loadtest

$(SECURITY_INSTALLED): $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet --group security
	touch $@

## Fuzz the pixel decode step with atheris for FUZZ_RUNS inputs; fails on any finding.
fuzz: $(SECURITY_INSTALLED)
	rm -rf $(FUZZ_DIR) && mkdir -p $(FUZZ_DIR)/corpus && cp fuzz/seeds/* $(FUZZ_DIR)/corpus/
	$(BIN)/python fuzz/fuzz_decode.py --keep-going $(FUZZ_DIR)/findings -runs=$(FUZZ_RUNS) \
		-dict=fuzz/tokens.dict -max_len=4200 -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus
	@if ls $(FUZZ_DIR)/findings | grep -q .; then \
		echo "fuzz: findings in $(FUZZ_DIR)/findings:"; ls $(FUZZ_DIR)/findings; exit 1; fi

## gunicorn on 127.0.0.1 under 300 connections, view then fast path: no 5xx, no event lost.
loadtest: $(SECURITY_INSTALLED)
	$(BIN)/python loadtest/run.py $(LOADTEST_ARGS)
	$(BIN)/python loadtest/run.py --fastpath $(LOADTEST_ARGS)
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
	rm -rf $(VENV) .nox .coverage .mypy_cache .ruff_cache .pytest_cache docs/_build
