# The two commands of the README: `make letters` and `make test`. Each sets up what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# pip-tools, in a venv of its own so that it is never part of the locked stack.
LOCK_TOOLS := .venv-lock
# The engine's lock file ships inside the package (package data), so that a build's manifest finds it
# however the engine is installed; the test tools' lock is for this checkout only.
LOCK := src/hmicfrs_letters/requirements.lock
TEST_LOCK := requirements-test.lock

.PHONY: letters test bench system-deps browser-deps lint clean lock

letters: $(VENV)/.installed
	$(BIN)/letters build

test: $(VENV)/.installed-test node_modules/.installed
	$(BIN)/python -m pytest

# Speed, latency and load: scripts that print their figures against their floors and bounds, as
# ratios (absolute times follow the machine's load). Not tests: `make test` asserts no timing.
# (benchmarks/unextractable.py measures characters, not time: run it after upgrading WeasyPrint.)
BENCHMARKS := benchmarks/bulk.py benchmarks/check.py benchmarks/serve_latency.py benchmarks/live_look.py benchmarks/load.py

bench: $(VENV)/.installed-test node_modules/.installed
	@for script in $(BENCHMARKS); do echo "== $$script"; $(BIN)/python $$script || exit 1; done

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

# Every dependency at the version and hash the lock file gives (the renderer's bytes depend on
# them), then the engine itself, editable, with no dependency of its own choosing.
$(VENV)/.installed: pyproject.toml $(LOCK) | system-deps $(VENV)/bin/python
	$(BIN)/python -m pip install -q --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(TEST_LOCK) | system-deps $(VENV)/bin/python
	$(BIN)/python -m pip install -q --require-hashes -r $(TEST_LOCK)
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $@ $(VENV)/.installed

# Resolve the whole dependency tree again, at the newest versions pyproject.toml allows, with the
# hashes of their files: $(LOCK) for the engine, $(TEST_LOCK) for it and the test tools, held to
# the same versions. Review the change (a new WeasyPrint can change the PDFs'
# bytes: run `letters build --rebuild` and look at them) and commit both files.
lock:
	test -x $(LOCK_TOOLS)/bin/pip-compile || ($(PYTHON) -m venv $(LOCK_TOOLS) && $(LOCK_TOOLS)/bin/python -m pip install -q --upgrade pip pip-tools)
	$(LOCK_TOOLS)/bin/pip-compile -q --upgrade --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--output-file $(LOCK) pyproject.toml
	$(LOCK_TOOLS)/bin/pip-compile -q --upgrade --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links \
		--extra test --constraint $(LOCK) --output-file $(TEST_LOCK) pyproject.toml

clean:
	rm -rf output/*/ output/.cache
