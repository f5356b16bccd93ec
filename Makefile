.DEFAULT_GOAL := help
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP) ## build the environment (.venv/bin/casedesk)

run: $(STAMP) ## migrate and serve the API on http://127.0.0.1:8000 (SQLite by default)
	$(BIN)/casedesk serve

test: $(STAMP) ## run the whole suite on SQLite and PostgreSQL (and in Chromium)
	tools/ensure-chromium
	$(BIN)/pytest

bench: $(STAMP) ## wrk benchmark into docs/performance.md (ARGS="--cases 20000 --reuse")
	$(BIN)/python -m bench $(ARGS)

battery: $(STAMP) ## the reliability battery, larger than in CI (SCALE=10 by default)
	CASEDESK_BATTERY_SCALE=$(or $(SCALE),10) $(BIN)/pytest tests/battery -p no:cacheprovider

check: $(STAMP) ## lint, format check and type check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

lock: ## re-pin requirements.lock from pyproject.toml
	rm -rf .lockenv && $(PYTHON) -m venv .lockenv
	.lockenv/bin/pip install --quiet --upgrade pip
	.lockenv/bin/pip install --quiet -e '.[dev]'
	.lockenv/bin/pip freeze --exclude-editable | grep -v '^casedesk' > requirements.lock
	rm -rf .lockenv

clean: ## remove the environment and local databases
	rm -rf $(VENV) casedesk.storage.database casedesk.storage.database-wal casedesk.storage.database-shm

.PHONY: help install run test bench battery check lock clean
