# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint fmt bench schemas clean redis promtool rules

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/hookline run

# The tests start their own redis-server; install it when the machine lacks one.
redis:
	@scripts/install-package.sh redis-server

# promtool (Debian's prometheus package) checks and unit-tests the alert rules.
promtool:
	@scripts/install-package.sh promtool prometheus

test: $(STAMP) redis promtool lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src
	$(BIN)/lint-imports

fmt: $(STAMP)
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

bench: $(STAMP)
	@scripts/install-package.sh wrk
	$(BIN)/python bench/ingress.py

schemas: $(STAMP)
	$(BIN)/hookline schemas export schemas

# deploy/prometheus/hookline-rules.yaml from the chart's rules template.
rules: $(STAMP)
	$(BIN)/python scripts/render-rules.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
