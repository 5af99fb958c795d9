# The two commands of the README: `make letters` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: letters test system-deps browser-deps lint clean

letters: $(VENV)/.installed
	$(BIN)/letters build

test: $(VENV)/.installed-test node_modules/.installed
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

system-deps:
	@scripts/system-deps.sh

# The preview's browser tests: Debian's Chromium, and Node.js/npm for axe-core (package.json).
browser-deps:
	@scripts/system-deps.sh browser

node_modules/.installed: package.json package-lock.json | browser-deps
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | system-deps $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | system-deps $(VENV)/bin/python
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

clean:
	rm -rf output/*/ output/.cache
