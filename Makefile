# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# `make run` needs only the runtime packages; `make test` adds the test tools and SDKs.
RUN_STAMP := $(VENV)/.installed-run

.PHONY: run test lint fmt bench faults schemas clean redis promtool chromium rules

# The venv's bundled pip installs editable pyproject projects; upgrading it first only costs time.
$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

$(RUN_STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	@touch $(RUN_STAMP)

# A venv that already has the test extras has the runtime too.
run: $(if $(wildcard $(STAMP)),$(STAMP),$(RUN_STAMP))
	$(BIN)/hookline run

# The tests start their own redis-server; install it when the machine lacks one.
redis:
	@scripts/install-package.sh redis-server

# promtool (Debian's prometheus package) checks and unit-tests the alert rules.
promtool:
	@scripts/install-package.sh promtool prometheus

# The console's browser tests drive Debian's headless Chromium through its chromedriver.
chromium:
	@scripts/install-package.sh chromium
	@scripts/install-package.sh chromedriver chromium-driver

# Three processes, whole files each: module fixtures (a `hookline run`, a simulator) stay
# shared within a file, and each process has its own broker and redis-server.
PYTEST_ARGS ?= -n 3 --dist loadfile --durations=15

test: $(STAMP) redis promtool chromium lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

# Ingress against bare Starlette and its peers, the worker against raw aiokafka and
# FastStream, and the loop end to end (docs/ingress-performance.md, docs/worker.md).
bench: $(STAMP)
	@scripts/install-package.sh wrk
	@scripts/install-package.sh redis-server
	@$(BIN)/python -c 'import confluent_kafka, faststream, aiohttp' 2>/dev/null || \
		$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python bench/ingress.py --redis $(INGRESS_ARGS)
	$(BIN)/python bench/worker.py $(WORKER_ARGS)
	$(BIN)/python bench/loop.py $(LOOP_ARGS)
	$(BIN)/python bench/loop.py --split $(LOOP_ARGS)

# bench/faults.py (docs/faults.md): a signed webhook stream through the loop while the broker
# pauses, Redis restarts and workers are SIGKILLed; exits non-zero on a lost webhook or an
# effect applied twice. FAULTS_ARGS passes flags, e.g. FAULTS_ARGS="--rate 100 --duration 30".
faults: $(STAMP) redis
	@$(BIN)/python -c 'import aiohttp' 2>/dev/null || \
		$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	$(BIN)/python bench/faults.py $(FAULTS_ARGS)

schemas: $(STAMP)
	$(BIN)/hookline schemas export schemas

# deploy/prometheus/hookline-rules.yaml from the chart's rules template.
rules: $(STAMP)
	$(BIN)/python scripts/render-rules.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
