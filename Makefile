# joinedup: the two commands a newcomer needs are `make demo` and `make test`.
# Everything the project needs is installed into the repo (.venv, node_modules, built CSS);
# system packages (Chromium, Java for Spark, R for the survey cross-check) are installed from
# Debian when missing and you are root, otherwise you are told exactly what to install.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.8
CSS := src/joinedup/web/static/build/app.css
PYTEST_ARGS ?=

.PHONY: demo test test-fast test-postgres lint serve assets venv system-deps clean bench help

help:
	@echo "make demo    install, load the demo place and serve it at http://127.0.0.1:8000"
	@echo "make test    install and run the whole test suite (browser, Spark and R tiers included)"
	@echo "make lint    ruff and mypy"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(UV): | $(BIN)/python
	$(BIN)/pip install --quiet "uv==$(UV_VERSION)"

# The lock file is the truth: a changed uv.lock reinstalls. Packages are compiled to bytecode
# as they are installed: the environment sets PYTHONDONTWRITEBYTECODE, so without this every
# process compiled each module it imported (a 1M-record pipeline started in 2.6 s, now 0.8 s;
# a profiled incremental link spent 0.35 s compiling; see docs/benchmarks.md).
$(VENV)/.synced: uv.lock pyproject.toml Makefile | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --all-extras --inexact --compile-bytecode
	touch $@

venv: $(VENV)/.synced

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

$(CSS): node_modules/.package-lock.json scripts/build-assets.mjs $(wildcard src/joinedup/web/assets/*.scss)
	npm run --silent build

assets: $(CSS)

system-deps:
	@scripts/system-deps.sh

demo: venv assets
	$(BIN)/joinedup demo --serve

serve: venv assets
	$(BIN)/joinedup serve

# The whole suite: fast tier, browser tier (Chromium), slow tier, Spark tier and the R check.
# PostgreSQL-only tests skip here unless JOINEDUP_TEST_DATABASE_URL is set (.ci/run sets it).
test: venv assets system-deps
	$(BIN)/pytest -m "not postgres" -p no:cacheprovider -n auto $(PYTEST_ARGS)

# The quick loop while developing: unit and HTTP tests only.
test-fast: venv assets
	$(BIN)/pytest $(PYTEST_ARGS)

# The model and route tests again, on the PostgreSQL at JOINEDUP_TEST_DATABASE_URL.
test-postgres: venv assets
	@test -n "$$JOINEDUP_TEST_DATABASE_URL" || { echo "Set JOINEDUP_TEST_DATABASE_URL to a PostgreSQL URL"; exit 2; }
	$(BIN)/pytest -m "not browser and not spark and not rcheck and not slow or postgres" -p no:cacheprovider $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: venv assets
	@ls bench/*.py

clean:
	rm -rf $(VENV) node_modules src/joinedup/web/static/build src/joinedup/web/static/govuk var test-results
