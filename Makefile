# Hookline — `make help` lists the targets. Everything runs from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_RECEIVER := tests/receivers/node

.PHONY: help install frontend run test test-fast lint typecheck bench bench-quick browser-deps clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP) ## create .venv and install Hookline with its development tools

app/static/index.html: $(shell find frontend/src frontend/index.html frontend/package.json frontend/vite.config.ts -type f 2>/dev/null)
	cd frontend && npm ci --no-audit --no-fund && npm run build

frontend: app/static/index.html ## build the dashboard (npm) into app/static, package data

$(NODE_RECEIVER)/node_modules/.package-lock.json: $(NODE_RECEIVER)/package-lock.json
	cd $(NODE_RECEIVER) && npm ci --no-audit --no-fund

run: install frontend ## start Hookline on SQLite with a demo reseller (http://127.0.0.1:8000)
	$(BIN)/python -m app demo

browser-deps: install ## install Debian's Chromium for the browser tests (if missing)
	@command -v /usr/bin/chromium >/dev/null || (apt-get update -q && apt-get install -y -q chromium)

test: install frontend browser-deps $(NODE_RECEIVER)/node_modules/.package-lock.json ## the whole suite: lint, types, frontend unit tests, pytest on SQLite and PostgreSQL
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy
	cd frontend && npm test
	$(BIN)/pytest $(PYTEST_ARGS)

test-fast: install ## pytest only, no browser or slow fault tests
	$(BIN)/pytest -m 'not bench and not browser and not slow' $(PYTEST_ARGS)

lint: install ## ruff and mypy
	$(BIN)/ruff check app tests bench && $(BIN)/ruff format --check app tests bench && $(BIN)/mypy

bench: install $(NODE_RECEIVER)/node_modules/.package-lock.json ## run every benchmark and print the figures
	$(BIN)/python -m bench.run_all

bench-quick: install ## a short smoke run of the benchmarks
	$(BIN)/python -m bench.run_all --quick

clean: ## remove the virtualenv, build output and the local SQLite database
	rm -rf $(VENV) app/static dist build frontend/dist frontend/node_modules $(NODE_RECEIVER)/node_modules hookline.db* .hookline
