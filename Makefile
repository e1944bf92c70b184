# One command per chore. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# What the server needs alone (`make run`); $(STAMP) adds the development tools on top (`make test`).
RUNTIME := $(VENV)/.runtime
CODE   := $(wildcard src tests bench)

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck pytest editors bench bench-relocation bench-relocation-languages screenshots clean

help:  ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(RUNTIME)  ## start the server on 127.0.0.1:8383 with SQLite in ./.kibitz-data (no dev tools)
	$(BIN)/kibitz server run --data-dir $${KIBITZ_DATA_DIR:-.kibitz-data}

lint: $(STAMP)  ## ruff, and bandit (high-severity findings fail; see docs/security.md)
	$(BIN)/ruff check $(CODE)
	$(BIN)/ruff format --check $(CODE)
	$(BIN)/bandit -q -r src/kibitz --severity-level high

typecheck: $(STAMP)  ## mypy --strict on the package, the tests and the benchmarks
	$(BIN)/mypy src/kibitz tests bench

# Parallel test processes (pytest-xdist), one test file to a process; WORKERS=0 runs the suite in this one.
# Three on two cores: the end-to-end tests spend part of their time waiting on servers, browsers and editors.
WORKERS ?= 3

# axe-core, the accessibility checker the browser tests run inside the pages, pinned by its own lock
# file and installed with the machine's npm like the VS Code extension (rule below).
AXE_DIR := tests/web/axe
AXE     := $(AXE_DIR)/node_modules/.installed

pytest: $(STAMP) $(AXE)  ## the test suite (WORKERS=n processes, default 3)
	$(BIN)/pytest -q -n $(WORKERS) --dist loadfile

# The VS Code extension is built with the machine's Node.js (20 or newer) and npm, from its lock file.
VSCODE := editors/vscode
NPM    ?= npm

$(VSCODE)/node_modules/.installed: $(VSCODE)/package.json $(VSCODE)/package-lock.json
	@command -v $(NPM) >/dev/null || { echo "make editors needs Node.js 20 or newer and npm" >&2; exit 1; }
	cd $(VSCODE) && $(NPM) ci --no-fund --no-audit
	touch $@

editors: $(VSCODE)/node_modules/.installed  ## the VS Code extension: type-check, lint, unit tests, editors/vscode/kibitz.vsix
	cd $(VSCODE) && $(NPM) run --silent check

$(AXE): $(AXE_DIR)/package.json $(AXE_DIR)/package-lock.json
	@command -v $(NPM) >/dev/null || { echo "the web pages' accessibility tests need Node.js and npm" >&2; exit 1; }
	cd $(AXE_DIR) && $(NPM) ci --no-fund --no-audit
	touch $@

# The checks run side by side: none needs another's result, mypy and the extension's build keep one core
# busy each for half a minute, and npm waits on the network. Each one's output is printed when it ends.
test:  ## everything CI checks
	@$(MAKE) --no-print-directory --output-sync=target -j4 lint typecheck editors pytest

bench: $(STAMP)  ## the benchmarks (see docs/benchmarks.md)
	$(BIN)/python bench/api.py

screenshots: $(STAMP)  ## the web pages' screenshots in docs/screenshots (needs /usr/bin/chromium; see docs/web.md)
	$(BIN)/python -m tests.web.screenshots docs/screenshots

bench-relocation: $(STAMP)  ## the relocation benchmark on real package histories (1.5–4 minutes)
	$(BIN)/python bench/relocation.py

bench-relocation-languages: $(STAMP)  ## the same on JavaScript, TypeScript, CSS, C, C++ and Rust histories
	$(BIN)/python bench/relocation.py --languages all

clean:  ## remove the virtual environment, caches, the extension's build and axe-core
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
	rm -rf $(VSCODE)/node_modules $(VSCODE)/out $(VSCODE)/*.vsix $(AXE_DIR)/node_modules
